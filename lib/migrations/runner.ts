// Owns applying migrations (db.migrate) and reverting them (db.migrations.down): under the
// migration lock (lock.ts), the ledger is read again, the plan decided again (plan.ts), and one
// migration runs with its ledger row in one transaction; then the next, each under the lock anew,
// so that concurrent migrators (threads or processes) run every migration exactly once. A
// `-- litepool:no-transaction` migration runs outside the runner's transaction with a `running`
// ledger row, then PRAGMA foreign_key_check. Works through the pool's public API only.
//
// Hook point: `hooks.onEvent` receives start / applied / failed per migration step; the pool's
// observers (onMigration) attach there (lib/observers/scope-trace.ts).

import { MigrationError, SqliteError } from '../errors.ts';
import type { Lease } from '../api/lease.ts';
import { ensureLedger, deleteRow, readLedger, updateRow, writeRow, type LedgerRow } from './ledger.ts';
import { acquireWriter, beginImmediate, NO_TIMEOUT, pause, rollBack, type MigrationHost } from './lock.ts';
import { checkDownOptions, checkMigrateOptions, type CheckedCommon, type CheckedSource } from './options.ts';
import { currentVersion, pendingSteps, planDown, planUp } from './plan.ts';
import { readDirectory, readList, type Source, type SourceItem, type Step } from './source.ts';
import { migrationTransaction, refuseControl } from './transaction.ts';
import type { DownReport, MigrateReport, MigrationEvent, MigrationRun } from './types.ts';

/** Internal hooks of a run. */
export interface RunnerHooks {
  /** Told when each migration step starts, is applied (or reverted), or fails. */
  onEvent?: (event: MigrationEvent) => void;
}

/** The runner's own statements are never cut short by the pool's queryTimeout (see NO_TIMEOUT). */
const UNBOUNDED = { timeout: NO_TIMEOUT } as const;

/** How often a migrator looks again at a migration another process records as running. */
const RUNNING_POLL_MS = 100;

export function loadSource(source: CheckedSource): Promise<Source> {
  return source.dir !== undefined ? readDirectory(source.dir) : Promise.resolve(readList(source.migrations));
}

function emit(hooks: RunnerHooks | undefined, event: MigrationEvent): void {
  try {
    hooks?.onEvent?.(event);
  } catch {
    // A hook never changes a migration's outcome.
  }
}

function brief(item: Pick<SourceItem, 'version' | 'name'>): { version: string; name: string } {
  return { version: item.version, name: item.name };
}

/** The savepoint the runner wraps a migration in, to notice a migration that ended its transaction. */
const GUARD = '_litepool_migration';

/**
 * Loads what `item` runs in `direction` and checks it can run: a migration without a down cannot
 * be reverted, and a SQL step of a migration that runs in the runner's transaction must not begin,
 * commit or roll back one, nor set PRAGMA foreign_keys (a no-op there). Called before anything runs, so such a migration stops the run at its
 * start, and again before the step runs.
 */
async function prepare(item: SourceItem, direction: 'up' | 'down'): Promise<Step> {
  const loaded = await item.load();
  const step = direction === 'up' ? loaded.up : loaded.down;
  if (!step) {
    throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} has no down: it cannot be reverted`, { file: item.file, version: item.version });
  }
  if (step.type === 'sql' && !item.noTransaction) refuseControl(item, step.statements, true);
  return step;
}

function excerpt(sql: string): string {
  const oneLine = sql.replace(/\s+/g, ' ');
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/**
 * Settles like `work`, or rejects with `signal.reason` as soon as `signal` aborts: a JS migration
 * awaiting something else than its `tx` does not hold the run. What it does afterwards through
 * `tx` is refused (its scope has ended).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
async function runStep(lease: Lease, item: SourceItem, step: Step, signal: AbortSignal | undefined): Promise<void> {
  if (step.type === 'js') {
    signal?.throwIfAborted();
    const scope = migrationTransaction(lease, item, signal);
    try {
      await untilAborted(Promise.resolve().then(() => step.fn(scope.tx)), signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} failed: ${message}`, { file: item.file, version: item.version, cause: error });
    } finally {
      scope.end();
    }
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
function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** Commits, or rolls back if committing fails. */
async function commit(lease: Lease): Promise<void> {
  try {
    await lease.exec('COMMIT', UNBOUNDED);
  } catch (error) {
    await rollBack(lease);
    throw error;
  }
}

interface ForeignKeyViolation {
  table: string;
  rowid: number | bigint | null;
  parent: string;
  fkid: number;
}

function foreignKeyViolations(lease: Lease): Promise<ForeignKeyViolation[]> {
  return lease.all<ForeignKeyViolation>('PRAGMA foreign_key_check', undefined, UNBOUNDED);
}

function violationKey(v: ForeignKeyViolation): string {
  return `${v.table}\u0000${String(v.rowid)}\u0000${v.parent}\u0000${v.fkid}`;
}

/**
 * Runs a `-- litepool:no-transaction` step: the ledger row says `running` meanwhile (committed
 * before it starts), the step's statements run one by one outside any transaction of the
 * runner's, then, when foreign keys are enforced, PRAGMA foreign_key_check must find no violation
 * that was not there before. `foreign_keys` is set back to what it was. On failure the row says `failed` (with the error) and the error is thrown.
 */
async function runWithoutTransaction(
  lease: Lease,
  item: SourceItem,
  step: Step,
  direction: 'up' | 'down',
  settings: CheckedCommon,
): Promise<number> {
  const { lockTimeout, signal } = settings;
  const started = performance.now();
  const foreignKeys = (await lease.get<{ foreign_keys: number }>('PRAGMA foreign_keys', undefined, UNBOUNDED))?.foreign_keys === 1;
  try {
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
    try {
      await beginImmediate(lease, lockTimeout, undefined);
      await updateRow(lease, item.version, { state: 'failed', error: `${direction}: ${describeFailure(error)}` });
      await commit(lease);
    } catch {
      await rollBack(lease); // the row stays `running`: status and migrate report it all the same
    }
    throw error;
  } finally {
    await lease.exec(`PRAGMA foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`, UNBOUNDED).catch(() => undefined);
  }
}

/**
 * Runs the first step of a locked transaction's plan (the lease is in BEGIN IMMEDIATE): applies or
 * reverts it with its ledger change and commits. Returns its duration.
 */
async function runLocked(
  lease: Lease,
  item: SourceItem,
  direction: 'up' | 'down',
  settings: CheckedCommon,
  hooks: RunnerHooks | undefined,
): Promise<number> {
  const step = await prepare(item, direction);
  const event = { direction, version: item.version, name: item.name };
  if (item.noTransaction) {
    // The row says `running` (committed) while the step runs outside the runner's transaction.
    if (direction === 'up') await writeRow(lease, { version: item.version, name: item.name, kind: item.kind, checksum: item.checksum, state: 'running' });
    else await updateRow(lease, item.version, { state: 'running' });
    await commit(lease);
    emit(hooks, { phase: 'start', ...event });
    try {
      const durationMs = await runWithoutTransaction(lease, item, step, direction, settings);
      emit(hooks, { phase: 'applied', ...event, durationMs });
      return durationMs;
    } catch (error) {
      emit(hooks, { phase: 'failed', ...event, error });
      throw error;
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
      await writeRow(lease, { version: item.version, name: item.name, kind: item.kind, checksum: item.checksum, state: 'applied', durationMs: Math.round(durationMs) });
    } else {
      await deleteRow(lease, item.version);
    }
    await commitMigration(lease, item);
    emit(hooks, { phase: 'applied', ...event, durationMs });
    return durationMs;
  } catch (error) {
    emit(hooks, { phase: 'failed', ...event, durationMs: performance.now() - started, error });
    throw error;
  }
}

/**
 * COMMIT of a migration with its ledger row. SQLite checks deferred foreign keys
 * (DEFERRABLE INITIALLY DEFERRED, PRAGMA defer_foreign_keys) here: a violation fails the
 * migration, rolled back, like a failing statement.
 */
async function commitMigration(lease: Lease, item: SourceItem): Promise<void> {
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
async function releaseGuard(lease: Lease, item: SourceItem): Promise<void> {
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
function runningLocked(row: LedgerRow, waitedMs: number | undefined): MigrationError {
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
export async function migrate(host: MigrationHost, options: unknown, hooks?: RunnerHooks): Promise<MigrateReport> {
  const checked = checkMigrateOptions(options);
  const { lockTimeout, signal } = checked;
  signal?.throwIfAborted();
  const source = await loadSource(checked.source);
  const snapshot = await host.read((conn) => readLedger(conn), signal ? { signal } : undefined);
  if (checked.dryRun) {
    const plan = planUp(source, snapshot, checked);
    if (plan.running) throw runningLocked(plan.running, undefined);
    for (const item of plan.steps) await prepare(item, 'up');
    return { applied: [], pending: plan.steps.map(brief), current: plan.current, dryRun: true };
  }
  // Modules load and SQL is checked before anything runs: a migration that cannot run stops the
  // run at its start.
  for (const item of pendingSteps(source, snapshot, checked.to)) await prepare(item, 'up');

  const applied: MigrationRun[] = [];
  // The first lock (this pool's writer, then BEGIN IMMEDIATE) is had within one lockTimeout;
  // each later BEGIN IMMEDIATE of the run within a lockTimeout of its own.
  let firstDeadline: number | undefined = Date.now() + lockTimeout;
  const lease = await acquireWriter(host, lockTimeout, signal);
  let runningSince: number | undefined;
  try {
    for (;;) {
      signal?.throwIfAborted();
      await beginImmediate(lease, lockTimeout, signal, firstDeadline);
      firstDeadline = undefined;
      try {
        await ensureLedger(lease);
        const ledger = await readLedger(lease);
        const plan = planUp(source, ledger, checked);
        if (plan.running) {
          await rollBack(lease);
          runningSince ??= Date.now();
          if (Date.now() - runningSince >= lockTimeout) throw runningLocked(plan.running, lockTimeout);
          await pause(RUNNING_POLL_MS, signal);
          continue;
        }
        runningSince = undefined;
        const next = plan.steps[0];
        if (!next) {
          await commit(lease);
          return {
            applied,
            pending: pendingSteps(source, ledger).map(brief),
            current: currentVersion(ledger),
            dryRun: false,
          };
        }
        const durationMs = await runLocked(lease, next, 'up', checked, hooks);
        applied.push({ ...brief(next), durationMs });
      } catch (error) {
        await rollBack(lease);
        throw error;
      }
    }
  } finally {
    await lease.release();
  }
}

/** Reverts applied migrations above `to`, newest first (see DownOptions). */
export async function down(host: MigrationHost, options: unknown, hooks?: RunnerHooks): Promise<DownReport> {
  const checked = checkDownOptions(options);
  const { lockTimeout, signal } = checked;
  signal?.throwIfAborted();
  const source = await loadSource(checked.source);
  const snapshot = await host.read((conn) => readLedger(conn), signal ? { signal } : undefined);
  const planned = planDown(source, snapshot, checked.to);
  // Every step must have a down that can run before the first one runs.
  for (const item of planned) {
    if (!(await item.load()).down) {
      throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `cannot go down to ${checked.to}: ${item.file} has no down`, {
        file: item.file,
        version: item.version,
      });
    }
    await prepare(item, 'down');
  }
  if (checked.dryRun) return { reverted: [], pending: planned.map(brief), current: currentVersion(snapshot), dryRun: true };

  const reverted: MigrationRun[] = [];
  let firstDeadline: number | undefined = Date.now() + lockTimeout;
  const lease = await acquireWriter(host, lockTimeout, signal);
  try {
    for (;;) {
      signal?.throwIfAborted();
      await beginImmediate(lease, lockTimeout, signal, firstDeadline);
      firstDeadline = undefined;
      try {
        const ledger = await readLedger(lease);
        const next = planDown(source, ledger, checked.to)[0];
        if (!next) {
          await commit(lease);
          return { reverted, pending: [], current: currentVersion(ledger), dryRun: false };
        }
        const durationMs = await runLocked(lease, next, 'down', checked, hooks);
        reverted.push({ ...brief(next), durationMs });
      } catch (error) {
        await rollBack(lease);
        throw error;
      }
    }
  } finally {
    await lease.release();
  }
}
