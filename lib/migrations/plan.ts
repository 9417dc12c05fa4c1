// Owns deciding what to run: given the source and the ledger, which migrations a migrate (or a
// down) runs and in what order, and every refusal (edited applied file, out-of-order file, newer
// database, failed or interrupted migration, database below the baseline). Pure: no I/O, so the
// runner can decide again under the lock, from the ledger as it is then.

import { MigrationError } from '../errors.ts';
import type { LedgerRow } from './ledger.ts';
import { compareVersions } from './semver.ts';
import type { Source, SourceItem } from './source.ts';

/** What a migrate runs now. */
export interface UpPlan {
  /** Migrations to run, in order (the baseline first on a fresh database). */
  steps: SourceItem[];
  /** Newest version recorded in the ledger, or null. */
  current: string | null;
  /** A `-- litepool:no-transaction` migration recorded as running: the caller waits for it. */
  running: LedgerRow | undefined;
}

const after = (a: string, b: string) => compareVersions(a, b) > 0;
const atMost = (a: string, b: string | undefined) => b === undefined || compareVersions(a, b) <= 0;

/** Newest recorded version (any state), or null. */
export function currentVersion(ledger: readonly LedgerRow[]): string | null {
  let newest: string | null = null;
  for (const row of ledger) if (row.state === 'applied' && (newest === null || after(row.version, newest))) newest = row.version;
  return newest;
}

/** The source item a ledger row was recorded from (same version and kind), if still there. */
export function itemOf(source: Source, row: Pick<LedgerRow, 'version' | 'kind'>): SourceItem | undefined {
  return (row.kind === 'baseline' ? source.baselines : source.migrations).find((item) => item.version === row.version);
}

/**
 * The newest recorded baseline that stands for migration `version`: one whose row lists it, or
 * one recorded without a list (by an older release) at or above it. A file at or below a
 * baseline but not in its list (merged after the baseline ran) is not covered: it is pending.
 */
export function coveredBy(ledger: readonly LedgerRow[], version: string): string | undefined {
  let newest: string | undefined;
  for (const row of ledger) {
    if (row.kind !== 'baseline' || (newest !== undefined && !after(row.version, newest))) continue;
    if (row.covers === null ? !after(version, row.version) : row.covers.includes(version)) newest = row.version;
  }
  return newest;
}

/** What a baseline recorded now stands for: the source's migrations at or below it. */
export function coversOf(source: Source, baseline: SourceItem): string[] {
  return source.migrations.filter((item) => !after(item.version, baseline.version)).map((item) => item.version);
}

/**
 * What would run to reach `to` (everything when undefined), without refusals: the baseline and
 * the migrations above it on a fresh database, else the migrations neither recorded nor covered
 * by a recorded baseline.
 */
export function pendingSteps(source: Source, ledger: readonly LedgerRow[], to?: string): SourceItem[] {
  if (ledger.length === 0) {
    const baseline = source.baselines.filter((item) => atMost(item.version, to)).at(-1);
    const above = source.migrations.filter((item) => atMost(item.version, to) && (!baseline || after(item.version, baseline.version)));
    return baseline ? [baseline, ...above] : above;
  }
  const recorded = new Set(ledger.map((row) => row.version));
  return source.migrations.filter((item) => !recorded.has(item.version) && atMost(item.version, to) && coveredBy(ledger, item.version) === undefined);
}

function refuseFailed(ledger: readonly LedgerRow[], source: Source): void {
  const failedRow = ledger.find((row) => row.state === 'failed');
  if (!failedRow) return;
  const file = itemOf(source, failedRow)?.file ?? `${failedRow.version}__${failedRow.name}`;
  const { version, error } = failedRow;
  // The error of a failed down starts with `down:` (apply.ts): the advice is the other way round.
  const advice = error?.startsWith('down:')
    ? `failed earlier while being reverted (its down) and may be half reverted (${error}). Inspect the database, then either ` +
      `finish reverting it by hand and run repair --action forget --version ${version}, or put it back as it was and run ` +
      `repair --action mark-applied --version ${version}.`
    : `failed earlier and may be half applied${error ? ` (${error})` : ''}. Inspect the database, then either finish it by hand ` +
      `and run repair --action mark-applied --version ${version}, or undo it and run repair --action forget --version ${version} ` +
      'to run it again.';
  throw new MigrationError('LITEPOOL_MIGRATION_FAILED', `${file} (a -- litepool:no-transaction migration) ${advice} See docs/migrations.md, "Recovery".`, {
    file,
    version,
  });
}

function refuseChanged(ledger: readonly LedgerRow[], source: Source): void {
  for (const row of ledger) {
    if (row.state !== 'applied') continue;
    const item = itemOf(source, row);
    if (item && item.checksum !== row.checksum) {
      throw new MigrationError(
        'LITEPOOL_MIGRATION_CHECKSUM',
        `${item.file} has changed since it was applied (checksum ${row.checksum.slice(0, 12)}… recorded, ` +
          `${item.checksum.slice(0, 12)}… now). An applied migration must not change: restore the file and put the change in a ` +
          `new migration. If the edit changes nothing (whitespace, comments), accept it with repair --action accept-checksum --version ${row.version}.`,
        { file: item.file, version: row.version },
      );
    }
  }
}

function refuseNewer(ledger: readonly LedgerRow[], source: Source): void {
  const current = currentVersion(ledger);
  if (current === null) return;
  const newestFile = [...source.migrations, ...source.baselines].map((item) => item.version).sort(compareVersions).at(-1);
  if (newestFile === undefined || after(current, newestFile)) {
    throw new MigrationError(
      'LITEPOOL_MIGRATION_NEWER_DATABASE',
      `the database is at version ${current}, newer than every migration in ${source.origin}` +
        `${newestFile === undefined ? ' (there are none)' : ` (the newest is ${newestFile})`}: this build is older than the schema ` +
        'and must not run against it. Deploy the newer build, or revert the database with migrations.down.',
      { version: current },
    );
  }
}

/** Decides what a migrate runs now, or throws the refusal that applies. */
export function planUp(source: Source, ledger: readonly LedgerRow[], options: { to?: string | undefined; allowOutOfOrder: boolean }): UpPlan {
  refuseFailed(ledger, source);
  const running = ledger.find((row) => row.state === 'running');
  const current = currentVersion(ledger);
  if (running) return { steps: [], current, running };
  refuseChanged(ledger, source);
  refuseNewer(ledger, source);
  const steps = pendingSteps(source, ledger, options.to);
  if (ledger.length === 0 || current === null) return { steps, current, running: undefined };

  const late = steps.filter((item) => !after(item.version, current));
  if (late.length > 0 && !options.allowOutOfOrder) {
    const first = late[0]!;
    throw new MigrationError(
      'LITEPOOL_MIGRATION_OUT_OF_ORDER',
      `${late.map((item) => item.file).join(', ')} ${late.length === 1 ? 'is' : 'are'} pending but older than ${current}, the newest ` +
        'applied migration (merged from another branch?). Check that it does not depend on anything newer, then run migrate with ' +
        'allowOutOfOrder (--allow-out-of-order), or give it a version above the newest.',
      { file: first.file, version: first.version },
    );
  }

  // A database below the newest baseline is migrated step by step, which needs those steps.
  const baseline = source.baselines.filter((item) => atMost(item.version, options.to)).at(-1);
  if (baseline && after(baseline.version, current)) {
    const reaching = steps.some((item) => after(item.version, current) && !after(item.version, baseline.version));
    if (!reaching) {
      throw new MigrationError(
        'LITEPOOL_MIGRATION_FAILED',
        `the database is at version ${current}, below the baseline ${baseline.version} of ${source.origin}, and no migration ` +
          `file between them is left to reach it: a baseline only sets up fresh databases. Restore the migration files from ` +
          `${current} to ${baseline.version}, or migrate this database with an older release first.`,
        { file: baseline.file, version: baseline.version },
      );
    }
  }
  return { steps, current, running: undefined };
}

/** Decides what a down reverts (newest first), or throws the refusal that applies. */
export function planDown(source: Source, ledger: readonly LedgerRow[], to: string): SourceItem[] {
  refuseFailed(ledger, source);
  const running = ledger.find((row) => row.state === 'running');
  if (running) {
    throw new MigrationError(
      'LITEPOOL_MIGRATION_LOCKED',
      `${running.version}__${running.name} is recorded as running: another process is applying it, or one was interrupted ` +
        `during it (then see repair in docs/migrations.md, "Recovery").`,
      { version: running.version },
    );
  }
  const rows = ledger.filter((row) => after(row.version, to)).sort((a, b) => compareVersions(b.version, a.version));
  const steps: SourceItem[] = [];
  for (const row of rows) {
    if (row.kind === 'baseline') {
      throw new MigrationError(
        'LITEPOOL_MIGRATION_FAILED',
        `cannot go down to ${to}: the database was set up by baseline ${row.version}, which has no down`,
        { version: row.version },
      );
    }
    const item = itemOf(source, row);
    if (!item) {
      throw new MigrationError(
        'LITEPOOL_MIGRATION_FAILED',
        `cannot go down to ${to}: ${row.version}__${row.name} is applied but not in ${source.origin}`,
        { version: row.version },
      );
    }
    steps.push(item);
  }
  refuseChanged(
    rows.filter((row) => row.kind === 'migration'),
    source,
  );
  return steps;
}
