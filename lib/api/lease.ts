// Owns leases (db.acquire): a connection pinned to one user until it is released, with any
// transaction left open rolled back before the connection is reused. Runs on the JS thread.

import { Waiter } from '../connections/waiter.ts';
import { AcquireTimeoutError, PoolClosedError, TransactionTimeoutError, describeType, invalidArgument } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { traceAcquire } from '../observers/scope-trace.ts';
import { readerRoute, sessionRoute, type Route } from '../request/route.ts';
import type { PoolContext } from './context.ts';
import { Scope } from './scope.ts';

/** The route of each lease, for the pool's own use (the migration runner renews the writer through it). */
const routes = new WeakMap<Lease, Route>();

/** @internal The connection `lease` runs on. */
export function routeOf(lease: Lease): Route | undefined {
  return routes.get(lease);
}

/** A connection of your own until release(): the writer (`write: true`) or one reader. */
export class Lease extends Scope {
  readonly #release: () => Promise<void>;
  #released: Promise<void> | undefined;
  /** True for a write lease; false for a read lease (also one on the writer, in a pool without readers). */
  readonly write: boolean;

  /** @internal */
  constructor(context: PoolContext, route: Route, write: boolean, release: () => Promise<void>, inTransaction = false) {
    super(context, route, 'lease', inTransaction);
    this.write = write;
    this.#release = release;
    routes.set(this, route);
  }

  /**
   * Gives the connection back. A transaction left open is rolled back first. Calling it again
   * returns the same promise. It takes no arguments: one is refused (the lease stays held).
   */
  release(): Promise<void> {
    if (arguments.length > 0) {
      return Promise.reject(invalidArgument(`lease.release() takes no arguments, got ${arguments.length} (the first is ${describeType(arguments[0])})`));
    }
    if (!this.#released) {
      this.end();
      this.#released = this.#release();
    }
    return this.#released;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * @internal Released by close(): what it already started finishes, and later calls reject with
   * PoolClosedError (the owner's own release() then resolves and does nothing).
   */
  releaseClosing(): Promise<void> {
    this.end(undefined, () => new PoolClosedError('the pool is closed: close() released this lease'));
    return this.release();
  }
}

export interface LeaseSettings {
  write: boolean;
  timeout: number;
  signal: AbortSignal | undefined;
  /** Told once when the lease has been released. */
  onRelease?: (lease: Lease) => void;
  /** Registered as a lease among the pool's holders (default true; snapshots and iterations register as themselves). */
  register?: boolean;
  /**
   * The lease runs inside a transaction the pool begins and ends (a read snapshot): the caller's
   * statements are refused outside it, and may not BEGIN, COMMIT, END or ROLLBACK themselves.
   */
  inTransaction?: boolean;
  /** A read lease's transaction may stay open this long (ms); past it the lease is ended. */
  maxReadDuration?: number | undefined;
}

/**
 * Bounds the transaction a read lease holds open: once it is older than `bound` ms the lease is
 * ended with TransactionTimeoutError (operations still running reject with it, later ones with
 * ScopeEndedError) and the transaction is rolled back, so a forgotten BEGIN cannot pin the WAL.
 * The reader publishes when its transaction began (its BEGIN, as of the last statement it
 * finished); a lease without one is looked at again `bound` ms later. Returns what stops the watch.
 */
function boundTransaction(context: PoolContext, lease: Lease, reader: number, bound: number): () => void {
  const route = readerRoute(reader);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(check, Math.max(1, ms));
    timer.unref();
  };
  const check = () => {
    if (lease.ended) return;
    const age = context.transactionAges()[reader] ?? -1;
    if (age < bound) {
      arm(age < 0 ? bound : bound - age);
      return;
    }
    lease.end(new TransactionTimeoutError(bound, 'read lease transaction'));
    context.requests.run({ op: Op.Reset, route, keepTransaction: true, internal: true }).catch(() => undefined);
  };
  arm(bound);
  return () => clearTimeout(timer);
}

/**
 * Pins a connection: the writer session, or a reader (the writer when there are no readers).
 * Observed as an acquisition (onAcquire, the `litepool:acquire` channel).
 */
export function acquireLease(context: PoolContext, settings: LeaseSettings): Promise<Lease> {
  return traceAcquire(context.observers, settings.write, true, () => pin(context, settings));
}

/**
 * `setup` bounded by what is left of the acquisition's `timeout` after `spent` ms
 * (AcquireTimeoutError) and by its `signal` (its reason). `expired`: the bound settled it first.
 */
function withinAcquireTime(setup: Promise<void>, settings: LeaseSettings, spent: number): { promise: Promise<void>; expired: boolean } {
  const { timeout, signal } = settings;
  const result = { promise: setup, expired: false };
  if (timeout === undefined && signal === undefined) return result;
  const waiter = new Waiter<void>(undefined, signal, 'writer connection', () => {
    result.expired = true;
  });
  // A signal that had aborted already settled it at once (without telling onGiveUp).
  if (waiter.settled) result.expired = true;
  const expire = (): void => {
    if (waiter.fail(new AcquireTimeoutError(timeout!, 'writer connection'))) result.expired = true;
  };
  const timer = timeout === undefined ? undefined : setTimeout(expire, Math.max(0, timeout - spent));
  setup.then(
    () => waiter.grant(undefined),
    (error: unknown) => waiter.fail(error),
  );
  result.promise = waiter.promise.finally(() => clearTimeout(timer));
  return result;
}

async function pin(context: PoolContext, settings: LeaseSettings): Promise<Lease> {
  const register = settings.register !== false;
  if (settings.write || context.readers.max === 0) {
    const asked = performance.now();
    const session = await context.writer.acquire(settings.timeout, settings.signal);
    session.readOnly = !settings.write;
    const holder = register ? context.holders.begin(settings.write ? 'write lease' : 'read lease') : undefined;
    let lease: Lease;
    // A read lease on the writer (a pool without readers) refuses writes as a reader does
    // (SQLITE_READONLY): query_only is on while it is held, unless it was on already, and its
    // caller's statements may not turn it off (the session is read-only: RequestFlag.ReadOnly).
    let queryOnlyOn = false;
    const release = async (): Promise<void> => {
      try {
        await lease.control(Op.Reset);
      } finally {
        try {
          if (queryOnlyOn) await lease.control(Op.Exec, 'PRAGMA query_only = OFF');
        } finally {
          context.holders.end(holder);
          context.writer.release(session);
          settings.onRelease?.(lease);
        }
      }
    };
    lease = new Lease(context, sessionRoute(session), settings.write, release, settings.inTransaction);
    if (!settings.write) {
      const setup = (async () => {
        // Number(): with safeIntegers the value comes back as a bigint.
        if (Number((await lease.controlRead('PRAGMA query_only'))?.[0]) === 0) {
          queryOnlyOn = true;
          await lease.control(Op.Exec, 'PRAGMA query_only = ON');
        }
      })();
      const within = withinAcquireTime(setup, settings, performance.now() - asked);
      try {
        await within.promise;
      } catch (error) {
        // The setup fails, or the time runs out (a write sent before the lease still runs): the
        // lease goes once the setup is done, its query_only turned off again.
        const released = setup.then(release, release).catch(() => undefined);
        if (!within.expired) await released;
        throw error;
      }
    }
    return lease;
  }
  const reader = await context.readers.acquire(settings.timeout, settings.signal);
  const holder = register ? context.holders.begin('read lease') : undefined;
  let unbound: (() => void) | undefined;
  const lease: Lease = new Lease(
    context,
    readerRoute(reader),
    false,
    async () => {
      unbound?.();
      try {
        await context.readers.release(reader);
      } finally {
        context.holders.end(holder);
        settings.onRelease?.(lease);
      }
    },
    settings.inTransaction,
  );
  if (settings.maxReadDuration !== undefined) unbound = boundTransaction(context, lease, reader, settings.maxReadDuration);
  return lease;
}
