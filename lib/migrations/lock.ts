// Owns the migration lock: the pool's writer (a write lease: nothing else of this process writes
// meanwhile) plus SQLite's write lock taken with BEGIN IMMEDIATE (no other process writes
// meanwhile), each waited for at most `lockTimeout`. Everything goes through the pool's public
// API.

import { AcquireTimeoutError, MigrationError, OperationTimeoutError, PoolClosedError, ScopeEndedError, SqliteError } from '../errors.ts';
import type { Lease } from '../api/lease.ts';

/** What the migration code needs of a pool. */
export interface MigrationHost {
  acquire(options?: { write?: boolean; timeout?: number; signal?: AbortSignal }): Promise<Lease>;
  read<T>(fn: (conn: Lease) => Promise<T> | T, options?: { timeout?: number; signal?: AbortSignal }): Promise<T>;
  /**
   * Replaces the writer's connection under `lease` (the run's write lease) by a new one with the
   * pool's settings and onConnection hook; false when it cannot be (an in-memory database).
   */
  renewWriter?(lease: Lease): Promise<boolean>;
}

/** Longest timeout a single operation accepts: migration statements are not cut short by `queryTimeout`. */
export const NO_TIMEOUT = 2 ** 31 - 1;
/** Pause between attempts at BEGIN IMMEDIATE when another process holds the write lock. */
const RETRY_MS = 20;

/** LITEPOOL_MIGRATION_LOCKED: the lock (or what stood for it) was not had within `lockTimeout`. */
export function lockedError(lockTimeout: number, what: string, cause?: unknown): MigrationError {
  return new MigrationError(
    'LITEPOOL_MIGRATION_LOCKED',
    `could not lock the database for migrations within ${lockTimeout} ms: ${what}. Another process may be migrating it ` +
      '(its run can take that long), or something holds a long write transaction; retry, or raise lockTimeout.',
    { cause },
  );
}

/** Resolves after `ms`, or rejects with `signal.reason` when it is aborted first. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The pool's writer for this migration run (LITEPOOL_MIGRATION_LOCKED after `lockTimeout`). */
export async function acquireWriter(host: MigrationHost, lockTimeout: number, signal: AbortSignal | undefined): Promise<Lease> {
  try {
    return await host.acquire({ write: true, timeout: lockTimeout, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (error instanceof AcquireTimeoutError) throw lockedError(lockTimeout, 'this pool\'s writer stayed busy (a transaction or write lease holds it)', error);
    throw error;
  }
}

/**
 * The whole lock: this pool's writer, then BEGIN IMMEDIATE on it, both within one `lockTimeout`.
 * Resolves with the lease in its write transaction; releases the writer when the lock is not had.
 */
export async function lockDatabase(host: MigrationHost, lockTimeout: number, signal: AbortSignal | undefined): Promise<Lease> {
  const deadline = Date.now() + lockTimeout;
  const lease = await acquireWriter(host, lockTimeout, signal);
  try {
    await beginImmediate(lease, lockTimeout, signal, deadline);
    return lease;
  } catch (error) {
    await lease.release();
    throw error;
  }
}

/**
 * BEGIN IMMEDIATE on the lease: SQLite's write lock, waited for until `deadline` (by default
 * `lockTimeout` from now; the pool's busy handler waits up to busyTimeout per attempt, attempts
 * repeat until the deadline).
 */
export async function beginImmediate(
  lease: Lease,
  lockTimeout: number,
  signal: AbortSignal | undefined,
  deadline = Date.now() + lockTimeout,
): Promise<void> {
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lockedError(lockTimeout, 'another connection held the write lock');
    try {
      await lease.exec('BEGIN IMMEDIATE', { timeout: Math.max(1, remaining), ...(signal ? { signal } : {}) });
      return;
    } catch (error) {
      if (error instanceof OperationTimeoutError) throw lockedError(lockTimeout, 'another connection held the write lock', error);
      // The run's writer was taken away between two migrations: a close() from inside the run
      // (an observer hook, say); the run stops there, with what was applied before kept.
      if (error instanceof ScopeEndedError) throw new PoolClosedError('the pool was closed during the migration run, between two migrations');
      if (!(error instanceof SqliteError) || error.primaryCode !== 'SQLITE_BUSY') throw error;
      await pause(Math.min(RETRY_MS, Math.max(1, deadline - Date.now())), signal);
    }
  }
}

/** ROLLBACK of whatever transaction the lease has open; never throws (there may be none). */
export async function rollBack(lease: Lease): Promise<void> {
  await lease.exec('ROLLBACK', { timeout: NO_TIMEOUT }).catch(() => undefined);
}
