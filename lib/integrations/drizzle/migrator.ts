// Owns migrate(db, { migrationsFolder }): Drizzle's own migrator (drizzle-kit's folder read by
// Drizzle's readMigrationFiles, applied by Drizzle's SQLite dialect) run on a write lease, so the
// check of what is applied and the migrations themselves happen while this migrator holds the
// writer: two migrators started at once in one process apply each migration once.

import { readMigrationFiles, type MigrationConfig } from 'drizzle-orm/migrator';
import { checkObject, invalidArgument } from '../arguments.ts';
import { internalsOf, type LitepoolDatabase } from './driver.ts';

/**
 * Applies the migrations of `config.migrationsFolder` (drizzle-kit's format: `meta/_journal.json`
 * and one SQL file per migration) that the database has not applied yet, in one transaction.
 *
 * @example
 * import { migrate } from 'litepool/drizzle';
 * await migrate(db, { migrationsFolder: './drizzle' });
 */
export async function migrate<TSchema extends Record<string, unknown>>(db: LitepoolDatabase<TSchema>, config: MigrationConfig): Promise<void> {
  const inside = internalsOf(db);
  if (!inside) throw invalidArgument('migrate() takes a database made by drizzle() from litepool/drizzle');
  const given = checkObject('migrate() config', config);
  if (typeof given.migrationsFolder !== 'string') throw invalidArgument('migrate() needs { migrationsFolder } (a path)');
  const migrations = readMigrationFiles(config);
  const lease = await db.$client.acquire({ write: true });
  try {
    await inside.dialect.migrate(migrations, inside.session.on({ kind: 'lease', lease }), config);
  } finally {
    await lease.release();
  }
}
