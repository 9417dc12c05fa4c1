// Owns retries of operations and whole transactions that failed with a transient SQLite error,
// with exponential backoff and full jitter. Opt-in: without a policy nothing is retried.
// Runs on the JS thread.

import { SqliteError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { statementKeywords } from '../observers/sql-keywords.ts';
import type { RetryPolicy } from '../options-types.ts';

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

/** Runs `attempt`, retrying transient failures as `policy` allows. */
export async function retrying<T>(attempt: () => Promise<T>, policy: RetryPolicy | undefined, wholeTransaction: boolean): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!policy || tried >= policy.attempts || !isTransient(error, wholeTransaction)) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(policy, tried)));
    }
  }
}
