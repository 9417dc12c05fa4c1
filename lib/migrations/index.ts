// Owns what the pool needs of migrations: db.migrate() and the db.migrations object, both
// delegating to the runner and to status/repair through the pool's public API.

import type { MigrationHost } from './lock.ts';
import { down, migrate, type RunnerHooks } from './runner.ts';
import { repair, status } from './status.ts';
import type { DownOptions, MigrateReport, Migrations, MigrationStatusOptions, RepairOptions } from './types.ts';

export { checkMigrateOptions, type CheckedMigrate } from './options.ts';
export type { MigrationHost } from './lock.ts';

/** db.migrate(options); `hooks` hear each migration step (observers). */
export function migrateWith(host: MigrationHost, options: unknown, hooks?: RunnerHooks): Promise<MigrateReport> {
  return migrate(host, options, hooks);
}

/** The db.migrations object of a pool. */
export function migrationsOf(host: MigrationHost, asRun: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Migrations {
  return Object.freeze({
    status: (options: MigrationStatusOptions) => asRun(() => status(host, options)),
    repair: (options: RepairOptions) => asRun(() => repair(host, options)),
    down: (options: DownOptions) => asRun(() => down(host, options)),
  });
}
