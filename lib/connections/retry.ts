// Owns retries of operations and whole transactions that failed with a transient SQLite error,
// with exponential backoff and full jitter, within the operation's signal and timeout (its
// attempts and backoffs together). Opt-in: without a policy nothing is retried. Runs on the JS thread.

import { OperationTimeoutError, SqliteError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { statementKeywords } from '../observers/sql-keywords.ts';
import type { RetryPolicy } from '../options-types.ts';
import { watchAbort } from '../request/abort-watch.ts';
import { joinSignals } from '../request/joined-signal.ts';
import type { OperationCounters, Outcome, Request, RequestRunner, RetryTurn } from '../request/requests.ts';

export type { RetryTurn } from '../request/requests.ts';

/** BUSY and LOCKED may clear by themselves. BUSY_SNAPSHOT needs the whole transaction again. */
export function isTransient(error: unknown, wholeTransaction: boolean): boolean {
  if (!(error instanceof SqliteError)) return false;
  if (error.code === 'SQLITE_BUSY_SNAPSHOT') return wholeTransaction;
  return error.primaryCode === 'SQLITE_BUSY' || error.primaryCode === 'SQLITE_LOCKED';
}

/**
 * Whether a pool operation may run again after a transient failure: not an exec() of several
 * statements, which outside a transaction commit one by one (a retry would run those before the
 * failure again). Everything else is one statement, or one transaction (batch, insertMany).
 */
export function retriable(op: number, sql: string | undefined): boolean {
  return op !== Op.Exec || sql === undefined || statementKeywords(sql).length <= 1;
}

/** The wait before retry number `retry` (1-based): uniform in [0, min(maxDelay, baseDelay * 2^(retry-1))]. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelay, policy.baseDelay * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}

/** What bounds and counts the attempts of one operation (all optional: a transaction gives none). */
export interface RetryBounds {
  /** Ends the operation (an attempt, or the wait before the next one at once) with its reason. */
  readonly signal?: AbortSignal | undefined;
  /** Aborts the operation's signal after the first `timeout` ms, attempts and backoffs included. */
  readonly timeout?: number | undefined;
  readonly sql?: string | undefined;
  /** stats().operations: an operation counts once, whatever its attempts (their request's counts are taken back). */
  readonly counters?: OperationCounters | undefined;
  readonly turn?: RetryTurn | undefined;
}

const nothing = (): void => {};

/** The operation's signal: the caller's, joined with the operation's timeout (an OperationTimeoutError once past it). */
function operationSignal(bounds: RetryBounds): { signal: AbortSignal | undefined; release: () => void } {
  const { signal, timeout } = bounds;
  if (timeout === undefined) return { signal, release: nothing };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new OperationTimeoutError(timeout, bounds.sql)), timeout);
  const joined = signal === undefined ? { signal: deadline.signal, release: nothing } : joinSignals(signal, deadline.signal);
  return { signal: joined.signal, release: () => (clearTimeout(timer), joined.release()) };
}

/** Waits for `delay` ms, or for the queue's turn; rejects at once with the reason when `signal` aborts first. */
function pause(delay: number | undefined, turn: RetryTurn | undefined, signal: AbortSignal | undefined): Promise<void> {
  if (turn !== undefined) return turn.retry(delay);
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (unwatch(), resolve()), delay);
    const unwatch = signal === undefined ? nothing : watchAbort(signal, () => (clearTimeout(timer), reject(signal.reason)));
  });
}

/**
 * Runs `attempt` (given the signal it runs with: the operation's, or the queue's), retrying
 * transient failures as `policy` allows, within the operation's signal and timeout.
 */
export async function retrying<T>(attempt: (signal: AbortSignal | undefined) => Promise<T>, policy: RetryPolicy | undefined, wholeTransaction: boolean, bounds: RetryBounds = {}): Promise<T> {
  const { counters, turn } = bounds;
  const operation = operationSignal(bounds);
  try {
    for (let tried = 1; ; ) {
      try {
        return await attempt(turn ? turn.signal : operation.signal);
      } catch (error) {
        const fenced = turn !== undefined && turn.fenced(error);
        if (!fenced && (!policy || tried >= policy.attempts || !isTransient(error, wholeTransaction))) throw error;
        if (counters) fenced ? counters.cancelled-- : counters.failed--;
        try {
          await pause(fenced ? undefined : backoffDelay(policy!, tried++), turn, operation.signal);
        } catch (reason) {
          if (counters) counters.cancelled++;
          throw reason;
        }
      }
    }
  } finally {
    operation.release();
  }
}

/**
 * Runs a pool operation's request under `policy`: its timeout bounds every attempt and backoff
 * together; a later attempt is marked `retried` (counted once; a write goes back to the writer
 * ahead of what waits in line, having had its turn).
 */
export function retryRequest<R extends Request>(runner: RequestRunner, request: R, policy: RetryPolicy): Promise<Outcome<R>> {
  const { signal, timeout, sql, turn } = request;
  let tries = 0;
  const bounds = { signal, timeout, sql, counters: runner.counters, turn };
  return retrying((given) => {
    const first = tries++ === 0;
    if (first && given === signal) return runner.run(request);
    return runner.run({ ...request, signal: given, timeout: undefined, retried: first ? undefined : true });
  }, policy, false, bounds);
}
