// Owns recording the failure of a `-- litepool:no-transaction` migration, and what this process
// knows of its own interrupted runs: a migration whose failure could not be recorded (the pool
// was closed during it, or the ledger could not be written) leaves its row `running`. Another
// process cannot tell that row from a live run, but this process can: the run is over. Its
// migrate(), down(), dry runs and status() then see the row as `failed`, with the error, and a
// locked run records it so.

import { describeError, MigrationError } from '../errors.ts';
import type { Lease } from '../api/lease.ts';
import { LEDGER_TABLE, updateRow, type LedgerConnection, type LedgerRow } from './ledger.ts';
import { beginImmediate, rollBack } from './lock.ts';
import { UNBOUNDED } from './runner-events.ts';
import type { SourceItem } from './source.ts';

/**
 * Runs of this process that ended leaving their row `running`: key (file, version, start) -> error,
 * oldest first. At most MAX_INTERRUPTED are kept: the oldest is forgotten first (its row then waits
 * for lockTimeout here too, as in another process).
 */
const interrupted = new Map<string, string>();
const MAX_INTERRUPTED = 256;

const keyOf = (file: string, version: string, since: string) => `${file}\u0000${version}\u0000${since}`;

/** The database file a connection has open ('' for an in-memory or temporary database). */
export async function databaseFile(conn: Pick<LedgerConnection, 'all'>): Promise<string> {
  const rows = await conn.all<{ name: string; file: string }>('PRAGMA database_list', undefined, UNBOUNDED);
  return rows.find((row) => row.name === 'main')?.file ?? '';
}

/** Where a `running` row was written: its database file and start (`applied_at`), read before the migration runs. */
export interface RunningRow {
  file: string;
  version: string;
  since: string;
}

/** Notes that the run of `row` is over although its row still says `running`, with the error it records. */
export function noteInterrupted(row: RunningRow, error: string): void {
  if (row.file === '') return;
  const key = keyOf(row.file, row.version, row.since);
  interrupted.delete(key);
  interrupted.set(key, error);
  if (interrupted.size > MAX_INTERRUPTED) interrupted.delete(interrupted.keys().next().value!);
}

/** @internal How many interrupted runs are remembered (tests). */
export function interruptedCount(): number {
  return interrupted.size;
}

/** Forgets a noted run (its row was written). */
export function forgetInterrupted(file: string, version: string, since: string): void {
  interrupted.delete(keyOf(file, version, since));
}

/**
 * The ledger as this process knows it: a `running` row of a run of this process that is over is
 * `failed`, with the error. `changed` lists those rows (for a locked run to record).
 */
export async function withInterrupted(
  conn: Pick<LedgerConnection, 'all'>,
  ledger: LedgerRow[],
): Promise<{ ledger: LedgerRow[]; changed: LedgerRow[]; file: string }> {
  if (interrupted.size === 0 || !ledger.some((row) => row.state === 'running')) return { ledger, changed: [], file: '' };
  const file = await databaseFile(conn);
  const changed: LedgerRow[] = [];
  const seen = ledger.map((row) => {
    const error = row.state === 'running' ? interrupted.get(keyOf(file, row.version, row.appliedAt)) : undefined;
    if (error === undefined) return row;
    const failed: LedgerRow = { ...row, state: 'failed', error };
    changed.push(failed);
    return failed;
  });
  return { ledger: seen, changed, file };
}

const CLOSED = 'the pool was closed during the migration';

/**
 * Sets the `running` row of a failed no-transaction step to `failed`, with the error, on the run's
 * lease. The step may have left the connection unable to write (PRAGMA query_only = ON): that is
 * set back first (the run replaces the connection afterwards: runner.ts). Resolves with why the
 * row could not be written, or undefined once it was.
 */
export async function recordFailure(lease: Lease, version: string, failure: string, lockTimeout: number): Promise<string | undefined> {
  if (lease.ended) return CLOSED;
  try {
    await lease.exec('PRAGMA query_only = OFF', UNBOUNDED);
    await beginImmediate(lease, lockTimeout, undefined);
    await updateRow(lease, version, { state: 'failed', error: failure });
    await lease.exec('COMMIT', UNBOUNDED);
    return undefined;
  } catch (error) {
    await rollBack(lease);
    return lease.ended ? CLOSED : describeError(error);
  }
}

/**
 * The error of a failed no-transaction step whose row could not be set to `failed`: it says so.
 * The abort of a run stays `signal.reason`.
 */
export function unrecorded(error: unknown, item: SourceItem, why: string, signal: AbortSignal | undefined, remembered = true): unknown {
  if (signal?.aborted === true && error === signal.reason) return error;
  const coded = error instanceof MigrationError ? error : undefined;
  return new MigrationError(
    coded?.code ?? 'LITEPOOL_MIGRATION_FAILED',
    `${coded ? coded.message : `${item.file} failed: ${describeError(error)}`}\n  Its ledger row could not be set to failed (${why}) ` +
      (remembered
        ? 'and still says running: this process takes it as failed (status, migrate, down), and its next run on this database records it so; other processes'
        : 'and still says running: every process, this one included,') +
      ' wait for it up to lockTimeout. Inspect the database: see docs/migrations.md, "Recovery".',
    { file: item.file, version: item.version, statement: coded?.statement, cause: coded ? (coded.cause ?? coded) : error },
  );
}

/** Where the `running` row of `version` was written (read in the transaction that writes it). */
export async function runningRow(lease: Lease, version: string): Promise<RunningRow> {
  const row = await lease.get<{ applied_at: string }>(`SELECT applied_at FROM ${LEDGER_TABLE} WHERE version = ?`, [version], UNBOUNDED);
  return { file: await databaseFile(lease), version, since: String(row?.applied_at) };
}
