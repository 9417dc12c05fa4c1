// Owns what the pool needs of migrations: db.migrate() and the db.migrations object, both
// delegating to the runner and to status/repair through the pool's public API.

import type { MigrationHost } from './lock.ts';
import { down, migrate } from './runner.ts';
import { repair, status } from './status.ts';
import type { DownOptions, MigrateReport, Migrations, MigrationStatusOptions, RepairOptions } from './types.ts';

export { checkMigrateOptions, type CheckedMigrate } from './options.ts';
export type { MigrationHost } from './lock.ts';

/** db.migrate(options). */
export function migrateWith(host: MigrationHost, options: unknown): Promise<MigrateReport> {
  return migrate(host, options);
}

/** The db.migrations object of a pool. */
export function migrationsOf(host: MigrationHost): Migrations {
  return Object.freeze({
    status: (options: MigrationStatusOptions) => status(host, options),
    repair: (options: RepairOptions) => repair(host, options),
    down: (options: DownOptions) => down(host, options),
  });
}
