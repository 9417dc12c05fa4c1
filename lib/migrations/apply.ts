// Owns applying one migration step: running its statements on the writer lease (in a
// transaction with its ledger row, or without one for files that opt out), the guard savepoint
// that proves the transaction is still the runner's, commit, and the foreign key check.
// Runs on the JS thread; the statements run on the writer.

import { MigrationError, SqliteError, describeError } from '../errors.ts';
import type { Lease } from '../api/lease.ts';
import { deleteRow, updateRow, writeRow, type LedgerRow } from './ledger.ts';
import { noteInterrupted, recordFailure, runningRow, unrecorded, type RunningRow } from './interrupted.ts';
import { beginImmediate, rollBack } from './lock.ts';
import type { CheckedCommon } from './options.ts';
import type { SourceItem, Step } from './source.ts';
import { migrationTransaction, refuseControl } from './transaction.ts';
import { awaitingCode } from './awaited-code.ts';
import { emit, UNBOUNDED, type RunnerHooks } from './runner-events.ts';

/** The savepoint the runner wraps a migration in, to notice a migration that ended its transaction. */
export const GUARD = '_litepool_migration';

/**
 * Loads what `item` runs in `direction` and checks it can run: a migration without a down cannot
 * be reverted, and a SQL step of a migration that runs in the runner's transaction must not begin,
 * commit or roll back one, nor set PRAGMA foreign_keys (a no-op there). Called before anything runs, so such a migration stops the run at its
 * start, and again before the step runs.
 */
export async function prepare(item: SourceItem, direction: 'up' | 'down'): Promise<Step> {
  const loaded = await item.load();
  const step = direction === 'up' ? loaded.up : loaded.down;
  if (!step) {
    throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} has no down: it cannot be reverted`, { file: item.file, version: item.version });
  }
  if (step.type === 'sql' && !item.noTransaction) refuseControl(item, step.statements, true);
  return step;
}

export function excerpt(sql: string): string {
  const oneLine = sql.replace(/\s+/g, ' ');
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/**
 * Settles like `work`, or rejects with `signal.reason` as soon as `signal` aborts: a JS migration
 * awaiting something else than its `tx` does not hold the run. What it does afterwards through
 * `tx` is refused (its scope has ended).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined); // abandoned on abort: its outcome no longer matters
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Runs one direction of a migration on the lease, statement by statement for SQL. */
export async function runStep(lease: Lease, item: SourceItem, step: Step, signal: AbortSignal | undefined): Promise<void> {
  if (step.type === 'js') {
    signal?.throwIfAborted();
    const scope = migrationTransaction(lease, item, signal);
    let unawaited: MigrationError | undefined;
    try {
      // The calls it did not await run before its ledger row and COMMIT (as in db.transaction()).
      const ran = Promise.resolve().then(() => step.fn(scope.tx)).then(() => scope.settle());
      unawaited = await untilAborted(awaitingCode(item, ran), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} failed: ${message}`, { file: item.file, version: item.version, cause: error });
    } finally {
      scope.end();
    }
    if (unawaited) throw unawaited;
    return;
  }
  const statements = step.statements;
  for (let i = 0; i < statements.length; i++) {
    const statement = statements[i]!;
    try {
      await lease.exec(statement.sql, signal ? { ...UNBOUNDED, signal } : UNBOUNDED);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new MigrationError(
        'LITEPOOL_MIGRATION_FAILED',
        `${item.file} failed at statement ${i + 1} (line ${statement.line}): ${message}\n  ${excerpt(statement.sql)}`,
        { file: item.file, version: item.version, statement: statement.sql, cause: error },
      );
    }
  }
}

/** A failure as the ledger records it. */
export function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** Commits, or rolls back if committing fails. */
export async function commit(lease: Lease): Promise<void> {
  try {
    await lease.exec('COMMIT', UNBOUNDED);
  } catch (error) {
    await rollBack(lease);
    throw error;
  }
}

export interface ForeignKeyViolation {
  table: string;
  rowid: number | bigint | null;
  parent: string;
  fkid: number;
}

export function foreignKeyViolations(lease: Lease): Promise<ForeignKeyViolation[]> {
  return lease.all<ForeignKeyViolation>('PRAGMA foreign_key_check', undefined, UNBOUNDED);
}

export function violationKey(v: ForeignKeyViolation): string {
  return `${v.table}\u0000${String(v.rowid)}\u0000${v.parent}\u0000${v.fkid}`;
}

/**
 * Runs a `-- litepool:no-transaction` step: the ledger row says `running` meanwhile (committed
 * before it starts), the step's statements run one by one outside any transaction of the
 * runner's, then, when foreign keys are enforced, PRAGMA foreign_key_check must find no violation
 * that was not there before. `foreign_keys` is set back to what it was. On failure the row says
 * `failed` (with the error) and the error is thrown; when the row cannot be written (the pool was
 * closed during the step), this process notes the run as interrupted (interrupted.ts) and the
 * error says so.
 */
export async function runWithoutTransaction(
  lease: Lease,
  item: SourceItem,
  step: Step,
  direction: 'up' | 'down',
  settings: CheckedCommon,
  running: RunningRow,
): Promise<number> {
  const { lockTimeout, signal } = settings;
  const started = performance.now();
  let foreignKeys: boolean | undefined;
  try {
    // Number(): with safeIntegers the value comes back as a bigint.
    foreignKeys = Number((await lease.get<{ foreign_keys: number | bigint }>('PRAGMA foreign_keys', undefined, UNBOUNDED))?.foreign_keys) === 1;
    // As SQLite's 12-step table change prescribes: when foreign keys were enforced, the file must
    // not leave a violation (those that were there before it are not its doing).
    const before = foreignKeys ? new Set((await foreignKeyViolations(lease)).map(violationKey)) : undefined;
    await runStep(lease, item, step, signal);
    const violations = before ? (await foreignKeyViolations(lease)).filter((v) => !before.has(violationKey(v))) : [];
    if (violations.length > 0) {
      const shown = violations.slice(0, 5).map((v) => `${v.table} rowid ${v.rowid} -> ${v.parent}`).join('; ');
      throw new MigrationError(
        'LITEPOOL_MIGRATION_FAILED',
        `${item.file} left ${violations.length} foreign key violation${violations.length === 1 ? '' : 's'} (PRAGMA foreign_key_check): ${shown}`,
        { file: item.file, version: item.version },
      );
    }
    try {
      await beginImmediate(lease, lockTimeout, signal);
    } catch (error) {
      if (error instanceof SqliteError && /within a transaction/.test(error.message)) {
        throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} left a transaction open (a BEGIN without COMMIT)`, {
          file: item.file,
          version: item.version,
          cause: error,
        });
      }
      throw error;
    }
    const durationMs = performance.now() - started;
    if (direction === 'up') await updateRow(lease, item.version, { state: 'applied', durationMs: Math.round(durationMs) });
    else await deleteRow(lease, item.version);
    await commit(lease);
    return durationMs;
  } catch (error) {
    await rollBack(lease);
    const failure = `${direction}: ${describeFailure(error)}`;
    const why = await recordFailure(lease, item.version, failure, lockTimeout);
    if (why === undefined) throw error;
    // Only an up run's row is known by its own start: a down keeps the row's apply time, which a
    // copy of the file (a restored backup) shares with a live down of another process.
    if (direction === 'up') noteInterrupted(running, failure);
    throw unrecorded(error, item, why, signal, direction === 'up');
  } finally {
    if (foreignKeys !== undefined) await lease.exec(`PRAGMA foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`, UNBOUNDED).catch(() => undefined);
  }
}

/**
 * Runs the first step of a locked transaction's plan (the lease is in BEGIN IMMEDIATE): applies or
 * reverts it with its ledger change and commits. Returns its duration.
 */
export async function runLocked(
  lease: Lease,
  item: SourceItem,
  direction: 'up' | 'down',
  settings: CheckedCommon,
  hooks: RunnerHooks | undefined,
  covers?: string[],
): Promise<number> {
  const step = await prepare(item, direction);
  const event = { direction, version: item.version, name: item.name };
  // A baseline's row lists the migrations it stands for (plan.ts, coveredBy).
  const row = { version: item.version, name: item.name, kind: item.kind, checksum: item.checksum, ...(covers ? { covers } : {}) };
  if (item.noTransaction) {
    // The row says `running` (committed) while the step runs outside the runner's transaction.
    if (direction === 'up') await writeRow(lease, { ...row, state: 'running' });
    else await updateRow(lease, item.version, { state: 'running' });
    const running = await runningRow(lease, item.version);
    await commit(lease);
    emit(hooks, { phase: 'start', ...event });
    try {
      const durationMs = await runWithoutTransaction(lease, item, step, direction, settings, running);
      emit(hooks, { phase: 'applied', ...event, durationMs });
      return durationMs;
    } catch (error) {
      const failure = asMigrationError(error, item, settings.signal);
      emit(hooks, { phase: 'failed', ...event, error: failure });
      throw failure;
    }
  }
  emit(hooks, { phase: 'start', ...event });
  const started = performance.now();
  try {
    await lease.exec(`SAVEPOINT ${GUARD}`, UNBOUNDED);
    await runStep(lease, item, step, settings.signal);
    await releaseGuard(lease, item);
    const durationMs = performance.now() - started;
    if (direction === 'up') {
      await writeRow(lease, { ...row, state: 'applied', durationMs: Math.round(durationMs) });
    } else {
      await deleteRow(lease, item.version);
    }
    await commitMigration(lease, item);
    emit(hooks, { phase: 'applied', ...event, durationMs });
    return durationMs;
  } catch (error) {
    const failure = asMigrationError(error, item, settings.signal);
    emit(hooks, { phase: 'failed', ...event, durationMs: performance.now() - started, error: failure });
    throw failure;
  }
}

/**
 * What failed a migration once it started, as its failure: a MigrationError as it is, the
 * signal's reason as it is (an aborted run rejects with it), anything else (a SQLite error of the
 * runner's own statements caused by what the migration did: PRAGMA query_only = ON makes the
 * ledger write fail with SQLITE_READONLY; the ScopeEndedError of a writer a close() from inside
 * the run took away) wrapped, with its version and file and the error as the cause.
 */
function asMigrationError(error: unknown, item: SourceItem, signal: AbortSignal | undefined): unknown {
  if (error instanceof MigrationError || (signal?.aborted === true && error === signal.reason)) return error;
  return new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} failed: ${describeError(error)}`, { file: item.file, version: item.version, cause: error });
}

/**
 * COMMIT of a migration with its ledger row. SQLite checks deferred foreign keys
 * (DEFERRABLE INITIALLY DEFERRED, PRAGMA defer_foreign_keys) here: a violation fails the
 * migration, rolled back, like a failing statement.
 */
export async function commitMigration(lease: Lease, item: SourceItem): Promise<void> {
  try {
    await commit(lease);
  } catch (error) {
    if (!(error instanceof SqliteError)) throw error;
    throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} failed at COMMIT: ${error.message}`, {
      file: item.file,
      version: item.version,
      statement: 'COMMIT',
      cause: error,
    });
  }
}

/**
 * Releases the savepoint taken before the step. It is gone when the step ended the runner's
 * transaction (a COMMIT or ROLLBACK a JS migration ran by other means, or a failure after which
 * SQLite rolled the transaction back and which the migration caught): then the ledger row must
 * not be written, since it would commit on its own.
 */
export async function releaseGuard(lease: Lease, item: SourceItem): Promise<void> {
  try {
    await lease.exec(`RELEASE ${GUARD}`, UNBOUNDED);
  } catch (error) {
    if (!(error instanceof SqliteError)) throw error;
    throw new MigrationError(
      'LITEPOOL_MIGRATION_FAILED',
      `${item.file} ended the transaction it runs in (a COMMIT or ROLLBACK, or a failure that made SQLite roll the ` +
        'transaction back, caught by the migration): what it ran before that was committed or rolled back, what it ran ' +
        'after it committed statement by statement, and it is not recorded as applied. Inspect the database, fix the ' +
        'migration, then run again (or record it with repair --action mark-applied if it is complete).',
      { file: item.file, version: item.version, cause: error },
    );
  }
}

/** A no-transaction migration recorded as running: still after `waitedMs` (undefined: a dry run, which does not wait). */
export function runningLocked(row: LedgerRow, waitedMs: number | undefined): MigrationError {
  return new MigrationError(
    'LITEPOOL_MIGRATION_LOCKED',
    `${row.version}__${row.name} (a -- litepool:no-transaction migration) has been recorded as running since ${row.appliedAt}` +
      `${waitedMs === undefined ? ', so what a run would do cannot be known yet' : ` and still was after ${waitedMs} ms`}: another ` +
      'process is applying it, or a process was interrupted during it. If no other process is migrating, see ' +
      'docs/migrations.md, "Recovery" (repair --action forget or mark-applied).',
    { version: row.version },
  );
}

/**
 * Applies pending migrations (see MigrateOptions). Rejects with MigrationError on a failure or a
 * refusal; migrations applied before a failure stay applied.
 */
