// Owns applying migrations (db.migrate) and reverting them (db.migrations.down): under the
// migration lock (lock.ts), the ledger is read again, the plan decided again (plan.ts), and one
// migration runs with its ledger row in one transaction; then the next, each under the lock anew,
// so that concurrent migrators (threads or processes) run every migration exactly once. A
// `-- litepool:no-transaction` migration runs outside the runner's transaction with a `running`
// ledger row, then PRAGMA foreign_key_check. On a LiteFS replica (its writer refused) migrate()
// only checks its snapshot: the primary applies migrations. Works through the pool's public API
// only.
//
// Hook point: `hooks.onEvent` receives start / applied / failed per migration step; the pool's
// observers (onMigration) attach there (lib/observers/scope-trace.ts).

import { MigrationError, ReadOnlyReplicaError } from '../errors.ts';
import { ensureLedger, readLedger, updateRow, type LedgerRow } from './ledger.ts';
import { forgetInterrupted, withInterrupted } from './interrupted.ts';
import { acquireWriter, beginImmediate, NO_TIMEOUT, pause, rollBack, type MigrationHost } from './lock.ts';
import type { Lease } from '../api/lease.ts';
import { checkDownOptions, checkMigrateOptions, type CheckedMigrate, type CheckedSource } from './options.ts';
import { coversOf, currentVersion, pendingSteps, planDown, planUp } from './plan.ts';
import { readDirectory, readList, type Source } from './source.ts';
import type { DownReport, MigrateReport, MigrationRun } from './types.ts';
import { commit, prepare, runLocked, runningLocked } from './apply.ts';
import { brief, RUNNING_POLL_MS, type RunnerHooks } from './runner-events.ts';

export type { RunnerHooks } from './runner-events.ts';

/** What an in-memory database's writer (never replaced) gets back after migrations ran on it. */
const MEMORY_RESET = ['query_only', 'ignore_check_constraints', 'recursive_triggers', 'defer_foreign_keys'].map((p) => `PRAGMA ${p} = OFF`).join('; ');

/**
 * Lets the run's writer go. When a migration ran on it (applied or failed), its connection is
 * replaced first, while the lease still holds the writer: connection settings a migration set
 * (PRAGMA query_only, ignore_check_constraints, recursive_triggers...) never outlive the run. An
 * in-memory database keeps its one connection: MEMORY_RESET is run on it instead. A renewal
 * that fails is left to the connection keeper (the writer is out of service until it succeeds).
 */
async function leaveWriter(host: MigrationHost, lease: Lease, ran: boolean): Promise<void> {
  try {
    if (ran && !lease.ended && !(await host.renewWriter?.(lease).catch(() => true))) {
      await lease.exec(MEMORY_RESET, { timeout: NO_TIMEOUT }).catch(() => undefined);
    }
  } finally {
    await lease.release();
  }
}

export function loadSource(source: CheckedSource): Promise<Source> {
  return source.dir !== undefined ? readDirectory(source.dir) : Promise.resolve(readList(source.migrations));
}

/** The ledger from a read snapshot, as this process knows it (interrupted.ts). */
export function readSnapshot(host: MigrationHost, signal?: AbortSignal): Promise<LedgerRow[]> {
  return host.read(async (conn) => (await withInterrupted(conn, await readLedger(conn))).ledger, signal ? { signal } : undefined);
}

/**
 * The ledger under the lock; undefined when it held rows of interrupted runs of this process,
 * which are now recorded as failed and committed (begin again and read it anew).
 */
async function lockedLedger(lease: Lease): Promise<LedgerRow[] | undefined> {
  const { ledger, changed, file } = await withInterrupted(lease, await readLedger(lease));
  if (changed.length === 0) return ledger;
  for (const row of changed) await updateRow(lease, row.version, { state: 'failed', error: row.error });
  await commit(lease);
  for (const row of changed) forgetInterrupted(file, row.version, row.appliedAt);
  return undefined;
}

/**
 * migrate() on a LiteFS replica (its writer was refused): the primary applies migrations, a
 * replica only checks on its snapshot that none is pending (the primary's run has reached it).
 */
function onReplica(source: Source, snapshot: LedgerRow[], checked: CheckedMigrate, refusal: ReadOnlyReplicaError): MigrateReport {
  const plan = planUp(source, snapshot, checked);
  const waiting = plan.running ? [`${plan.running.version}__${plan.running.name} (recorded as running)`] : plan.steps.map((item) => item.file);
  if (waiting.length === 0) return { applied: [], pending: pendingSteps(source, snapshot).map(brief), current: plan.current, dryRun: false };
  const error = new ReadOnlyReplicaError(refusal.primary);
  error.message =
    `${error.message}. Migrations are pending on this replica (${waiting.join(', ')}): the primary applies them, a replica only ` +
    'checks that none is pending. Run them on the primary (every node may run the same open() with migrations), then start ' +
    'this node again once the primary\'s changes have reached it.';
  throw error;
}

export async function migrate(host: MigrationHost, options: unknown, hooks?: RunnerHooks): Promise<MigrateReport> {
  const checked = checkMigrateOptions(options);
  const { lockTimeout, signal } = checked;
  signal?.throwIfAborted();
  const source = await loadSource(checked.source);
  const snapshot = await readSnapshot(host, signal);
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
  let lease: Lease;
  try {
    lease = await acquireWriter(host, lockTimeout, signal);
  } catch (error) {
    // A LiteFS replica: nothing to apply is the normal outcome, anything pending is the primary's.
    if (error instanceof ReadOnlyReplicaError) return onReplica(source, snapshot, checked, error);
    throw error;
  }
  let runningSince: number | undefined;
  let ran = false;
  try {
    for (;;) {
      signal?.throwIfAborted();
      await beginImmediate(lease, lockTimeout, signal, firstDeadline);
      firstDeadline = undefined;
      try {
        await ensureLedger(lease);
        const ledger = await lockedLedger(lease);
        if (!ledger) continue;
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
        ran = true;
        const durationMs = await runLocked(lease, next, 'up', checked, hooks, next.kind === 'baseline' ? coversOf(source, next) : undefined);
        applied.push({ ...brief(next), durationMs });
      } catch (error) {
        await rollBack(lease);
        throw error;
      }
    }
  } finally {
    await leaveWriter(host, lease, ran);
  }
}

/** Reverts applied migrations above `to`, newest first (see DownOptions). */
export async function down(host: MigrationHost, options: unknown, hooks?: RunnerHooks): Promise<DownReport> {
  const checked = checkDownOptions(options);
  const { lockTimeout, signal } = checked;
  signal?.throwIfAborted();
  const source = await loadSource(checked.source);
  const snapshot = await readSnapshot(host, signal);
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
  let ran = false;
  try {
    for (;;) {
      signal?.throwIfAborted();
      await beginImmediate(lease, lockTimeout, signal, firstDeadline);
      firstDeadline = undefined;
      try {
        const ledger = await lockedLedger(lease);
        if (!ledger) continue;
        const next = planDown(source, ledger, checked.to)[0];
        if (!next) {
          await commit(lease);
          return { reverted, pending: [], current: currentVersion(ledger), dryRun: false };
        }
        ran = true;
        const durationMs = await runLocked(lease, next, 'down', checked, hooks);
        reverted.push({ ...brief(next), durationMs });
      } catch (error) {
        await rollBack(lease);
        throw error;
      }
    }
  } finally {
    await leaveWriter(host, lease, ran);
  }
}
