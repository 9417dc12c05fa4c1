// Owns transactions: db.transaction(fn) on the writer, nested transactions as SAVEPOINTs, the
// transaction timeout, and retries of whole transactions on transient errors.
// Runs on the JS thread.
//
// A transaction holds the writer session for its whole life, so writes from outside wait in
// order behind it and never interleave into it. It commits when the callback resolves and rolls
// back when it throws, times out or is aborted; the writer is free again in every case. Calls on
// it still running when the callback resolves are waited for first, and one of them failing then,
// or one the callback never took failing at any time, rolls it back (running-calls.ts).

import { retrying } from '../connections/retry.ts';
import { ScopeEndedError, TransactionTimeoutError, invalidArgument } from '../errors.ts';
import { Op } from '../native/contract.ts';
import type { PairEnd } from '../observers/hub.ts';
import { traceAcquire } from '../observers/scope-trace.ts';
import { watchAbort } from '../request/abort-watch.ts';
import { sessionRoute, type Route } from '../request/route.ts';
import type { TransactionBehavior } from '../types.ts';
import type { RetryPolicy } from '../options-types.ts';
import type { PoolContext } from './context.ts';
import { checkCallback } from './operations.ts';
import { RunningCalls } from './running-calls.ts';
import { Scope, type IterationSlot } from './scope.ts';

/** The handle a transaction callback receives. */
export class Transaction extends Scope {
  readonly #context: PoolContext;
  readonly #route: Route;
  readonly #depth: number;
  #nestedChain: Promise<unknown> = Promise.resolve();
  /** The nested transaction running now: it ends when this one does. */
  #active: Transaction | undefined;
  /** The savepoint of the nested transaction open now (from its SAVEPOINT until its RELEASE or ROLLBACK TO is sent). */
  #open: string | undefined;
  /** The last nested transaction's RELEASE, sent. */
  #releasing: Promise<unknown> | undefined;
  /** Why this transaction must not commit: a nested transaction's ROLLBACK TO or RELEASE failed. */
  #broken: unknown;
  /** The connection's open iteration, shared with the parent and the nested transactions (one connection). */
  readonly #slot: IterationSlot;
  /** Its calls still running (nested transactions included). */
  readonly #calls: RunningCalls;
  /** Rejects once this transaction ends (made on first use; see untilEnded). */
  #whenEnded: { promise: Promise<never>; reject: (error: Error) => void } | undefined;
  static #savepoints = 0;

  /** @internal */
  constructor(context: PoolContext, route: Route, depth: number, slot: IterationSlot = { open: undefined }, calls = new RunningCalls()) {
    super(context, route, depth === 0 ? 'transaction' : 'nested transaction', true, slot, calls);
    this.#calls = calls;
    this.#context = context;
    this.#route = route;
    this.#depth = depth;
    this.#slot = slot;
  }

  /**
   * A nested transaction, as a SAVEPOINT: released when `fn` resolves, rolled back to (undoing
   * only its own changes) when it throws. Nested transactions of one transaction run one after
   * another.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    if (this.ended) return Promise.reject(this.refused(endedError));
    try {
      checkCallback('tx.transaction', fn);
      // A nested transaction runs under its parent's behavior, timeout and signal: options given
      // here would be ignored without a word (an undefined one, as a wrapper passes it on, is none).
      if (arguments.length > 2 || (arguments.length === 2 && arguments[1] !== undefined)) {
        throw invalidArgument(`tx.transaction() takes only its callback (a nested transaction runs under its parent's timeout and signal), got ${arguments.length} arguments`);
      }
    } catch (error) {
      // Refused at the call: a call like any other (untaken, it fails this transaction).
      return this.#calls.track(Promise.reject(error));
    }
    // A nested transaction the caller did not wait for counts among this one's running calls:
    // once the callback resolved, this one waits for it before it commits. It may still be queued
    // or running when this one ends otherwise (rolls back): it must not begin then, nor run its
    // statements in whatever transaction the connection holds next. Ending this transaction ends
    // it, and its savepoint is rolled back before this one commits (conclude) or rolls back (the
    // pool's Reset).
    const run = async (): Promise<T> => {
      if (this.ended) throw this.refused(endedError);
      const name = `litepool_sp_${++Transaction.#savepoints}`;
      this.#open = name;
      try {
        await this.control(Op.Exec, `SAVEPOINT ${name}`, { inTransaction: true });
      } catch (error) {
        if (this.#open === name) this.#open = undefined;
        throw error;
      }
      if (this.ended) throw this.refused(endedError);
      const nested = new Transaction(this.#context, this.#route, this.#depth + 1, this.#slot);
      this.#active = nested;
      try {
        const result = await fn(nested);
        // Its calls still running: waited for; one failing rolls it back to its savepoint (catch).
        const running = nested.settleCalls();
        if (running !== undefined) await running;
        if (this.ended) throw this.refused(endedError);
        // A nested transaction of its own still open is rolled back, never released into this one.
        await nested.conclude();
        if (this.ended) throw this.refused(endedError);
        this.#open = undefined;
        // Once sent, the RELEASE runs before anything this transaction sends later (its COMMIT).
        const released = this.control(Op.Exec, `RELEASE ${name}`, { inTransaction: true }).catch((error: unknown) => {
          // The savepoint's changes may be in this transaction now, though the nested one failed.
          this.#broken ??= error;
          throw error;
        });
        this.#releasing = released;
        await released;
        return result;
      } catch (error) {
        nested.end();
        // Once this transaction has ended, its own end rolls the savepoint back (conclude, or the Reset).
        if (this.ended || this.#open !== name) throw error;
        this.#open = undefined;
        try {
          await this.control(Op.Exec, `ROLLBACK TO ${name}; RELEASE ${name}`, { inTransaction: true });
        } catch (rollbackError) {
          // The callback's error wins. The nested transaction's changes may remain (or SQLite
          // rolled the whole transaction back): this transaction must not commit.
          this.#broken ??= rollbackError;
          attachCause(error, rollbackError);
        }
        throw error;
      } finally {
        if (this.#active === nested) this.#active = undefined;
      }
    };
    const result = this.#nestedChain.then(run, run);
    this.#nestedChain = result.catch(() => undefined);
    // Ended with this one (its timeout, signal, a throw, a failed call), it rejects at once with
    // ScopeEndedError, whether its callback, a call it waits for or its own nested transaction
    // settles or not. (Raced out here, not around the callback: extra turns between the callback
    // and its settleCalls() would let a call finish before its continuation's call is made.)
    return this.#calls.track(this.untilEnded(result));
  }

  /** @internal Once the callback resolved: RunningCalls.settle() of this transaction's calls. */
  settleCalls(): Promise<void> | undefined {
    return this.#calls.settle();
  }

  /**
   * @internal Ends this transaction once its callback has resolved, before it commits (or its
   * savepoint is released): the nested transaction still open in it is rolled back (ROLLBACK TO
   * and RELEASE of its savepoint, which undoes the ones nested in it too), never committed with
   * it. Rejects when that, or an earlier nested transaction's rollback or release, failed: the
   * changes of a nested transaction that rejected may then still be there, so this one must not
   * commit.
   */
  async conclude(): Promise<void> {
    this.end();
    const name = this.#open;
    if (name !== undefined) {
      this.#open = undefined;
      await this.control(Op.Exec, `ROLLBACK TO ${name}; RELEASE ${name}`, { inTransaction: true });
    }
    if (this.#releasing !== undefined) await this.#releasing.catch(() => undefined);
    if (this.#broken !== undefined) throw this.#broken;
  }

  /** @internal Ends this transaction and the nested one it runs now. */
  override end(reason?: unknown, refusal?: () => Error): void {
    this.#active?.end(reason, refusal);
    super.end(reason, refusal);
    this.#whenEnded?.reject(this.refused(endedError));
  }

  /** `work`, unless this transaction ends first: then a rejection with what its calls get now (ScopeEndedError). */
  untilEnded<T>(work: T | PromiseLike<T>): Promise<T> {
    if (this.#whenEnded === undefined) {
      let reject!: (error: Error) => void;
      const promise = new Promise<never>((_, rejectEnded) => (reject = rejectEnded));
      promise.catch(() => undefined);
      this.#whenEnded = { promise, reject };
      if (this.ended) reject(this.refused(endedError));
    }
    return Promise.race([work, this.#whenEnded.promise]);
  }
}

/** What a call on a transaction that has ended gets. */
const endedError = () => new ScopeEndedError('transaction');

/** Records `cause` on `error` (a rollback that failed after it), unless it has a cause already. */
function attachCause(error: unknown, cause: unknown): void {
  if (!(error instanceof Error) || Object.hasOwn(error, 'cause') || !Object.isExtensible(error)) return;
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
}

export interface TransactionSettings {
  behavior: TransactionBehavior;
  timeout: number;
  signal: AbortSignal | undefined;
  acquireTimeout: number;
  retry: RetryPolicy | undefined;
}

/** Runs `fn` in a transaction on the writer; retried as a whole when `retry` allows. */
export function runTransaction<T>(context: PoolContext, fn: (tx: Transaction) => Promise<T> | T, settings: TransactionSettings): Promise<T> {
  if (settings.retry === undefined) return runOnce(context, fn, settings, settings.timeout);
  // The timeout bounds every attempt and backoff together: each attempt gets what is left of it,
  // and an abort ends a backoff at once.
  const deadline = performance.now() + settings.timeout;
  const attempt = () => {
    const left = Math.floor(deadline - performance.now());
    return left <= 0 ? Promise.reject(new TransactionTimeoutError(settings.timeout)) : runOnce(context, fn, settings, left);
  };
  return retrying(attempt, settings.retry, true, { signal: settings.signal });
}

/** One attempt, ended by its timeout after `left` ms (what remains of the transaction's timeout). */
async function runOnce<T>(context: PoolContext, fn: (tx: Transaction) => Promise<T> | T, settings: TransactionSettings, left: number): Promise<T> {
  const { signal } = settings;
  const observers = context.observers;
  const asked = performance.now();
  const session = await traceAcquire(observers, true, false, () => context.writer.acquire(settings.acquireTimeout, signal));
  const tx = new Transaction(context, sessionRoute(session), 0);
  let stop: ((reason: unknown) => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  stopped.catch(() => undefined);
  const timer = setTimeout(() => stop!(new TransactionTimeoutError(settings.timeout)), left);
  /**
   * Delivers the transaction's end to the observers that got its begin (none attached since). A
   * transaction that never began (aborted before its BEGIN, a BEGIN that failed) has no end either.
   */
  let observedEnd: PairEnd<'onTransaction'> | undefined;
  const unwatch = signal === undefined ? undefined : watchAbort(signal, () => stop!(signal.reason));
  /** True from the BEGIN's sending until it has run: it may wait on the writer behind another caller's statement. */
  let beginWaits = false;
  /** True once the rollback of a transaction ended before its BEGIN ran is on its way: it gives the session back. */
  let rollingBack = false;
  try {
    if (signal?.aborted) throw signal.reason;
    // Cancellable: a timeout or abort must end a BEGIN that waits for another process's lock.
    const begin = tx.control(Op.Exec, `BEGIN ${settings.behavior.toUpperCase()}`, { cancellable: true });
    beginWaits = true;
    const ran = () => void (beginWaits = false);
    begin.then(ran, ran);
    await Promise.race([begin, stopped]);
    if (observers.active) observedEnd = observers.transactionBegan({ phase: 'begin', durationMs: performance.now() - asked });
    const result = await Promise.race([Promise.resolve().then(() => fn(tx)), stopped]);
    // Calls on tx still running: waited for (within the timeout and signal); one failing rolls back.
    const running = tx.settleCalls();
    if (running !== undefined) await Promise.race([running, stopped]);
    await tx.conclude();
    await tx.control(Op.Exec, 'COMMIT', { inTransaction: true });
    observedEnd?.({ phase: 'commit', durationMs: performance.now() - asked });
    return result;
  } catch (error) {
    // Cancel whatever the transaction still runs, then roll back what it left open. The session
    // is given back only once that rollback has run: writes waiting for the writer go after it.
    tx.end(error);
    const rollback = tx.control(Op.Reset);
    if (!beginWaits) {
      // Only the transaction's own statements, cancelled now, run before the rollback.
      await rollback.catch(() => undefined);
      // A turn of the event loop: the callback hears of its calls' cancellation (they settled in
      // the rollback's batch or before it) before the transaction rejects.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } else {
      // Ended (by its timeout or signal) while its BEGIN still waits behind another caller's
      // statement on the writer: it rejects now, not once that statement ends. The cancelled
      // BEGIN and the rollback run after it, in order, and then the session is given back.
      rollback.finally(() => context.writer.release(session)).catch(() => undefined);
      rollingBack = true;
    }
    observedEnd?.({ phase: 'rollback', durationMs: performance.now() - asked, error });
    throw error;
  } finally {
    clearTimeout(timer);
    unwatch?.();
    if (!rollingBack) context.writer.release(session);
  }
}
