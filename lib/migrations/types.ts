// Owns the public types of schema migrations: options, reports, status entries, and the shape of
// a JS migration and of a programmatic migration list.

import type { MigrateRunOptions, MigrationSource } from '../types.ts';

export type { MigrateRunOptions, MigrationDefinition, MigrationFunction, MigrationSource, MigrationTransaction, OpenMigrationOptions } from '../types.ts';

/** Options of `db.migrate()`. */
export type MigrateOptions = MigrationSource &
  MigrateRunOptions & {
    /** Report the plan and change nothing (default false). */
    dryRun?: boolean;
  };

/** Options of `db.migrations.status()`. */
export type MigrationStatusOptions = MigrationSource;

/** A migration that ran (or was reverted), and how long it took. */
export interface MigrationRun {
  version: string;
  name: string;
  durationMs: number;
}

/** What `db.migrate()` reports. */
export interface MigrateReport {
  /** Migrations applied by this call, in order (the baseline first when a fresh database ran it). */
  applied: MigrationRun[];
  /**
   * Migrations not applied: those above `to` after a run, or everything that would run with
   * `dryRun`, in the order it would run.
   */
  pending: { version: string; name: string }[];
  /** The newest version applied to the database afterwards, or null when none is. */
  current: string | null;
  /** True when nothing was changed because `dryRun` was set. */
  dryRun: boolean;
}

/** The state of one migration in `db.migrations.status()`. */
export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing' | 'failed';

/** One line of `db.migrations.status()`. */
export interface MigrationStatusEntry {
  version: string;
  name: string;
  /** 'baseline' for a `baseline__<semver>.sql` file. */
  kind: 'baseline' | 'migration';
  /**
   * applied: recorded, file unchanged; pending: not applied yet; changed: applied, but the file's
   * checksum differs; missing: applied, but no file has this version any more; failed: a
   * `-- litepool:no-transaction` migration that failed or was interrupted (see `error`).
   */
  state: MigrationState;
  /** When it was applied (ISO 8601), for recorded migrations. */
  appliedAt?: string;
  /** How long it took to apply, in ms. */
  durationMs?: number;
  /**
   * The version of the baseline that stands for this migration: the database ran it instead
   * (state `applied`), or, on a fresh database, will run it instead (state `pending`).
   */
  coveredByBaseline?: string;
  /** Why a failed migration failed (or that it was interrupted). */
  error?: string;
}

/** Options of `db.migrations.repair()`. */
export type RepairOptions = MigrationSource & {
  version: string;
  /**
   * accept-checksum: record the file's current checksum for an applied migration (an edit that
   * changes nothing, such as whitespace); forget: delete the ledger row, so the migration counts
   * as pending again (a failed or interrupted one, or one whose file is gone); mark-applied: record
   * a migration as applied without running it (it was completed by hand).
   */
  action: 'accept-checksum' | 'forget' | 'mark-applied';
  lockTimeout?: number;
  signal?: AbortSignal;
};

/** Options of `db.migrations.down()`. */
export type DownOptions = MigrationSource & {
  /** Revert every applied migration above this version, newest first. */
  to: string;
  /** Report what would be reverted and change nothing (default false). */
  dryRun?: boolean;
  lockTimeout?: number;
  signal?: AbortSignal;
};

/** What `db.migrations.down()` reports. */
export interface DownReport {
  /** Migrations reverted by this call, newest first. */
  reverted: MigrationRun[];
  /** With `dryRun`: what would be reverted, in order. */
  pending: { version: string; name: string }[];
  /** The newest version applied afterwards, or null. */
  current: string | null;
  dryRun: boolean;
}

/** `db.migrations`: inspection and recovery. */
export interface Migrations {
  /** Every migration of the source and of the ledger, by version, with its state. */
  status(options: MigrationStatusOptions): Promise<MigrationStatusEntry[]>;
  /** Fixes the ledger row of one version (see RepairOptions.action); resolves with its new status. */
  repair(options: RepairOptions): Promise<MigrationStatusEntry | undefined>;
  /** Reverts applied migrations above `to`, newest first, each with its `down`, each in a transaction. */
  down(options: DownOptions): Promise<DownReport>;
}

/** @internal The event the runner reports per migration step (observers hear the 'up' ones as onMigration). */
export interface MigrationEvent {
  phase: 'start' | 'applied' | 'failed';
  direction: 'up' | 'down';
  version: string;
  name: string;
  durationMs?: number;
  error?: unknown;
}
