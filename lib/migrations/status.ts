// Owns inspection and recovery: db.migrations.status() (every migration of the source and of the
// ledger with its state) and db.migrations.repair() (accept a checksum, forget a row, mark a
// migration applied), the latter under the migration lock.

import { MigrationError } from '../errors.ts';
import { deleteRow, ensureLedger, readLedger, updateChecksum, writeRow, type LedgerRow } from './ledger.ts';
import { lockDatabase, NO_TIMEOUT, rollBack, type MigrationHost } from './lock.ts';
import { checkRepairOptions, checkStatusOptions } from './options.ts';
import { coveredBy, coversOf, itemOf } from './plan.ts';
import { loadSource, readSnapshot } from './runner.ts';
import { compareVersions } from './semver.ts';
import type { Source } from './source.ts';
import type { MigrationStatusEntry } from './types.ts';

function fromRow(row: LedgerRow, source: Source): MigrationStatusEntry {
  const item = itemOf(source, row);
  const state = row.state !== 'applied' ? 'failed' : !item ? 'missing' : item.checksum !== row.checksum ? 'changed' : 'applied';
  const entry: MigrationStatusEntry = { version: row.version, name: row.name, kind: row.kind, state, appliedAt: row.appliedAt };
  if (row.durationMs !== null) entry.durationMs = row.durationMs;
  if (row.state === 'failed') entry.error = row.error ?? 'failed';
  if (row.state === 'running') entry.error = 'recorded as running: in progress in another process, or interrupted';
  return entry;
}

/** Every migration of the source and of the ledger, by version (a baseline before a migration of its version). */
export function statusOf(source: Source, ledger: readonly LedgerRow[]): MigrationStatusEntry[] {
  const entries = ledger.map((row) => fromRow(row, source));
  const recorded = new Set(ledger.map((row) => `${row.kind} ${row.version}`));
  // A baseline matters only to a fresh database: the one it would run is pending, and so are the
  // migrations it stands for, which will not run (they carry its version).
  const baseline = ledger.length === 0 ? source.baselines.at(-1) : undefined;
  for (const item of source.migrations) {
    if (recorded.has(`migration ${item.version}`)) continue;
    const covered = coveredBy(ledger, item.version);
    if (covered !== undefined) {
      entries.push({ version: item.version, name: item.name, kind: 'migration', state: 'applied', coveredByBaseline: covered });
    } else if (baseline && compareVersions(item.version, baseline.version) <= 0) {
      entries.push({ version: item.version, name: item.name, kind: 'migration', state: 'pending', coveredByBaseline: baseline.version });
    } else {
      entries.push({ version: item.version, name: item.name, kind: 'migration', state: 'pending' });
    }
  }
  if (baseline) entries.push({ version: baseline.version, name: baseline.name, kind: 'baseline', state: 'pending' });
  return entries.sort((a, b) => compareVersions(a.version, b.version) || (a.kind === b.kind ? 0 : a.kind === 'baseline' ? -1 : 1));
}

/** db.migrations.status(): reads the ledger from a snapshot; changes nothing. */
export async function status(host: MigrationHost, options: unknown): Promise<MigrationStatusEntry[]> {
  const source = await loadSource(checkStatusOptions(options));
  return statusOf(source, await readSnapshot(host));
}

function cannot(message: string, version: string): MigrationError {
  return new MigrationError('LITEPOOL_MIGRATION_FAILED', `repair: ${message}`, { version });
}

/** db.migrations.repair(): changes one ledger row under the migration lock; resolves with its new status. */
export async function repair(host: MigrationHost, options: unknown): Promise<MigrationStatusEntry | undefined> {
  const checked = checkRepairOptions(options);
  const { version, action, lockTimeout, signal } = checked;
  const source = await loadSource(checked.source);
  const lease = await lockDatabase(host, lockTimeout, signal);
  try {
    try {
      await ensureLedger(lease);
      const ledger = await readLedger(lease);
      const row = ledger.find((candidate) => candidate.version === version);
      let kind = row?.kind ?? 'migration';
      if (action === 'forget') {
        if (!row) throw cannot(`version ${version} is not in the ledger: there is nothing to forget`, version);
        await deleteRow(lease, version);
      } else if (action === 'accept-checksum') {
        if (!row || row.state !== 'applied') throw cannot(`version ${version} is not recorded as applied: there is no checksum to accept`, version);
        const item = itemOf(source, row);
        if (!item) throw cannot(`version ${version} has no file in ${source.origin}: there is no checksum to accept (forget it instead?)`, version);
        await updateChecksum(lease, version, item.checksum);
      } else {
        const item = row ? itemOf(source, row) : (source.migrations.find((m) => m.version === version) ?? source.baselines.find((b) => b.version === version));
        if (!item) throw cannot(`version ${version} has no migration in ${source.origin} to mark as applied`, version);
        if (row?.state === 'applied') throw cannot(`version ${version} is already applied`, version);
        const covers = item.kind === 'baseline' ? coversOf(source, item) : undefined;
        await writeRow(lease, { version, name: item.name, kind: item.kind, checksum: item.checksum, state: 'applied', ...(covers ? { covers } : {}) });
        kind = item.kind;
      }
      const after = await readLedger(lease);
      await lease.exec('COMMIT', { timeout: NO_TIMEOUT });
      return statusOf(source, after).find((entry) => entry.version === version && entry.kind === kind);
    } catch (error) {
      await rollBack(lease);
      throw error;
    }
  } finally {
    await lease.release();
  }
}
