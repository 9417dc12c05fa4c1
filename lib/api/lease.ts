// Owns leases (db.acquire) and read snapshots (db.read): a connection pinned to one user until
// it is released, with any transaction left open rolled back before the connection is reused.
// Runs on the JS thread.

import type { Dispatcher, WriterSession } from '../request/dispatcher.ts';
import { TransactionTimeoutError } from '../errors.ts';
import { Op, Target } from '../native/native-pool.ts';
import { Scope } from './scope.ts';

/** A connection of your own until release(): the writer (`write: true`) or one reader. */
export class Lease extends Scope {
  readonly #release: () => Promise<void>;
  #released: Promise<void> | undefined;
  /** True for a lease on the writer connection. */
  readonly write: boolean;

  /** @internal */
  constructor(dispatcher: Dispatcher, route: ConstructorParameters<typeof Scope>[1], write: boolean, release: () => Promise<void>) {
    super(dispatcher, route, 'lease');
    this.write = write;
    this.#release = release;
  }

  /**
   * Gives the connection back. A transaction left open is rolled back first. Calling it again
   * returns the same promise.
   */
  release(): Promise<void> {
    if (!this.#released) {
      this.end();
      this.#released = this.#release();
    }
    return this.#released;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

export interface LeaseSettings {
  write: boolean;
  timeout: number;
  signal: AbortSignal | undefined;
  /** Told once when the lease has been released. */
  onRelease?: (lease: Lease) => void;
}

/** Pins a connection: the writer session, or a reader (the writer when there are no readers). */
export async function acquireLease(dispatcher: Dispatcher, settings: LeaseSettings): Promise<Lease> {
  if (settings.write || dispatcher.maxPinnedReaders === 0) {
    const session: WriterSession = await dispatcher.acquireWriter(settings.timeout, settings.signal);
    const route = { target: Target.Writer, session } as const;
    let lease: Lease;
    const release = async (): Promise<void> => {
      try {
        await lease.control(Op.Reset);
      } finally {
        dispatcher.releaseWriter(session);
        settings.onRelease?.(lease);
      }
    };
    lease = new Lease(dispatcher, route, true, release);
    return lease;
  }
  const reader = await dispatcher.acquireReader(settings.timeout, settings.signal);
  const lease: Lease = new Lease(dispatcher, { target: Target.PinnedReader, reader }, false, async () => {
    try {
      await dispatcher.releaseReader(reader);
    } finally {
      settings.onRelease?.(lease);
    }
  });
  return lease;
}

/**
 * Runs `fn` on one reader inside one read transaction: every query sees the same snapshot, and
 * rows committed meanwhile stay invisible until it ends. Ended (and its reader released) when
 * `fn` settles or when it runs past `maxDuration`, so a forgotten snapshot cannot starve WAL
 * checkpoints.
 */
export async function readSnapshot<T>(
  dispatcher: Dispatcher,
  fn: (conn: Lease) => Promise<T> | T,
  settings: LeaseSettings & { maxDuration: number },
): Promise<T> {
  const lease = await acquireLease(dispatcher, { ...settings, write: false });
  let expire: ((reason: unknown) => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    expire = reject;
  });
  expired.catch(() => undefined);
  const timer = setTimeout(() => {
    const error = new TransactionTimeoutError(settings.maxDuration, 'read snapshot');
    lease.end(error);
    expire!(error);
  }, settings.maxDuration);
  try {
    // BEGIN then a read of the schema: the read transaction (the snapshot) starts now.
    await lease.control(Op.Exec, 'BEGIN DEFERRED; SELECT 1 FROM sqlite_schema LIMIT 1');
    return await Promise.race([Promise.resolve().then(() => fn(lease)), expired]);
  } finally {
    clearTimeout(timer);
    await lease.release();
  }
}
