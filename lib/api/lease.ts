// Owns leases (db.acquire): a connection pinned to one user until it is released, with any
// transaction left open rolled back before the connection is reused. Runs on the JS thread.

import { Op } from '../native/contract.ts';
import { traceAcquire } from '../observers/scope-trace.ts';
import { readerRoute, sessionRoute, type Route } from '../request/route.ts';
import type { PoolContext } from './context.ts';
import { Scope } from './scope.ts';

/** A connection of your own until release(): the writer (`write: true`) or one reader. */
export class Lease extends Scope {
  readonly #release: () => Promise<void>;
  #released: Promise<void> | undefined;
  /** True for a lease on the writer connection. */
  readonly write: boolean;

  /** @internal */
  constructor(context: PoolContext, route: Route, write: boolean, release: () => Promise<void>) {
    super(context, route, 'lease');
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

/**
 * Pins a connection: the writer session, or a reader (the writer when there are no readers).
 * Observed as an acquisition (onAcquire, the `litepool:acquire` channel).
 */
export function acquireLease(context: PoolContext, settings: LeaseSettings): Promise<Lease> {
  return traceAcquire(context.observers, settings.write, true, () => pin(context, settings));
}

async function pin(context: PoolContext, settings: LeaseSettings): Promise<Lease> {
  if (settings.write || context.readers.max === 0) {
    const session = await context.writer.acquire(settings.timeout, settings.signal);
    let lease: Lease;
    const release = async (): Promise<void> => {
      try {
        await lease.control(Op.Reset);
      } finally {
        context.writer.release(session);
        settings.onRelease?.(lease);
      }
    };
    lease = new Lease(context, sessionRoute(session), true, release);
    return lease;
  }
  const reader = await context.readers.acquire(settings.timeout, settings.signal);
  const lease: Lease = new Lease(context, readerRoute(reader), false, async () => {
    try {
      await context.readers.release(reader);
    } finally {
      settings.onRelease?.(lease);
    }
  });
  return lease;
}
