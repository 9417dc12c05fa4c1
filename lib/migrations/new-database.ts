// Owns `litepool migrate`, and open() with `migrations`, on a database file that does not exist
// yet: the database is built and migrated under a temporary name beside it
// (`<file>.litepool-new-<random>`, which no other process knows), by a pool of its own that closes
// when the run ends, then given its name with a hard link, which never replaces a file. So the
// file appears only once migrate is done: a run that applied nothing (its first migration
// failed) leaves no file at all, and removes only its own temporary one; a run that applied
// some migrations before one failed leaves the database with those, as a run on an existing
// file does. Removing the file itself after a failure would not be safe: another process may
// have opened it meanwhile (a process that holds a file open takes no lock until it reads it),
// and would go on writing into a file that no longer has a name. When the file appears meanwhile
// (another process created it), that file is kept, this run's copy goes whatever its outcome, and
// the caller migrates that file as any existing one: what it reports (or the error it rejects
// with) is what happened to the file that has the name. Runs of this process on one missing file
// do not race: a second one waits for the first (up to its lockTimeout), then migrates the file
// the first made, or builds its own when there is none. Where the file system has no hard
// links, the file is created and migrated in place; a failure that leaves it empty says so.
// Runs on the JS thread.

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, lstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { MigrationError } from '../errors.ts';
import type { ResolvedOptions } from '../input/options.ts';
import type { PoolOptions } from '../options-types.ts';
import { lockedError } from './lock.ts';
import { DEFAULT_LOCK_TIMEOUT } from './options.ts';
import type { MigrateOptions, MigrateReport } from './types.ts';

/** What migrating a new file needs of a pool. */
export interface NewDatabasePool {
  migrate(options: MigrateOptions): Promise<MigrateReport>;
  get<T>(sql: string): Promise<T | undefined>;
  close(): Promise<void>;
}

/** Opens a pool on `path`, creating the file. */
export type OpenNew = (path: string) => Promise<NewDatabasePool>;

/** The suffix of the temporary name; the random part follows it. */
export const NEW_FILE_SUFFIX = '.litepool-new-';

/** The new database files runs of this process are building now (absolute paths), each until its run ends. */
const building = new Map<string, Promise<unknown>>();

/** Whatever a database holds besides its empty first page: a schema object, a user_version or an application_id. */
const CONTENT = 'SELECT (SELECT count(*) FROM sqlite_schema) + abs((SELECT user_version FROM pragma_user_version)) + abs((SELECT application_id FROM pragma_application_id)) AS n';

/** Whether `path` has a name now (a dangling symlink counts: SQLite would create its target). */
function named(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits for the build of the same file that another run of this process has under way, up to
 * `lockTimeout` (LITEPOOL_MIGRATION_LOCKED past it, as a wait for another run's lock), or until
 * `signal` aborts (its reason).
 */
async function waitForBuild(build: Promise<unknown>, options: MigrateOptions): Promise<void> {
  const { signal } = options;
  const lockTimeout = options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT;
  signal?.throwIfAborted();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const given = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(lockedError(lockTimeout, 'another run of this process was still building the new database file')), lockTimeout);
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([build.then(() => undefined, () => undefined), given]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort!);
  }
}

/** Removes `file` if it exists; true when it is gone. */
function removeIfThere(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Removes a temporary database of this run with its -wal and -shm (nobody else knows their names). */
function removeTemporary(temp: string): void {
  for (const file of [`${temp}-wal`, `${temp}-shm`, temp]) removeIfThere(file);
}

/** Whether the database `pool` holds anything; true when that cannot be read (keep it rather than lose it). */
async function hasContent(pool: NewDatabasePool): Promise<boolean> {
  try {
    return ((await pool.get<{ n: number }>(CONTENT))?.n ?? 1) > 0;
  } catch {
    return true;
  }
}

/**
 * Creates the temporary file and checks that it can have a second name in that directory.
 * Returns its path, or undefined (nothing left behind) when it cannot: then the database is
 * created in place.
 */
function temporaryBeside(path: string, link: typeof linkSync): string | undefined {
  const temp = `${path}${NEW_FILE_SUFFIX}${randomBytes(6).toString('hex')}`;
  try {
    closeSync(openSync(temp, 'wx', 0o644)); // an empty file is an empty database (mode: SQLite's own default)
  } catch {
    return undefined; // the directory cannot take it: opening the database in place says why
  }
  const probe = `${temp}-link`;
  try {
    link(temp, probe);
    unlinkSync(probe);
    return temp;
  } catch {
    removeIfThere(probe);
    removeIfThere(temp);
    return undefined;
  }
}

/** The error of a run whose new database could not be given its name: it stays under its temporary one. */
function kept(temp: string, message: string, cause: unknown): MigrationError {
  return new MigrationError('LITEPOOL_MIGRATION_FAILED', `${message}; it is kept as ${resolve(temp)}`, { cause });
}

/** Migrates `path` in place, a file this run creates; a failure that leaves it empty says so. */
async function migrateInPlace(path: string, options: MigrateOptions, openNew: OpenNew): Promise<MigrateReport> {
  const pool = await openNew(path);
  try {
    return await pool.migrate(options);
  } catch (error) {
    if (!(error instanceof MigrationError) || (await hasContent(pool))) throw error;
    const where = `${error.message} (the database file ${resolve(path)} was created for this run and is left empty: this file system has no hard links, see docs/migrations.md)`;
    throw new MigrationError(error.code, where, { version: error.version, file: error.file, statement: error.statement, cause: error });
  } finally {
    await pool.close();
  }
}

/**
 * Runs migrate on the database file `path`, which did not exist: see the file comment. Resolves
 * with the report, or with undefined when `path` was created meanwhile (by another process, or
 * by a run of this one this run waited for): the caller then migrates that file. Rejects with
 * the migration's error after a failure. `link` is fs.linkSync (a test gives one that fails, as
 * on a file system without hard links).
 */
export async function migrateNewDatabase(path: string, options: MigrateOptions, openNew: OpenNew, link: typeof linkSync = linkSync): Promise<MigrateReport | undefined> {
  const key = resolve(path);
  for (let other = building.get(key); other !== undefined; other = building.get(key)) await waitForBuild(other, options);
  if (named(path)) return undefined;
  const run = buildNew(path, options, openNew, link);
  building.set(key, run);
  const forget = () => {
    if (building.get(key) === run) building.delete(key);
  };
  run.then(forget, forget);
  return run;
}

/** Builds the missing file `path` under a temporary name and links it into place (see migrateNewDatabase). */
async function buildNew(path: string, options: MigrateOptions, openNew: OpenNew, link: typeof linkSync): Promise<MigrateReport | undefined> {
  const temp = temporaryBeside(path, link);
  if (temp === undefined) return migrateInPlace(path, options, openNew);
  let pool: NewDatabasePool;
  try {
    pool = await openNew(temp);
  } catch (error) {
    removeTemporary(temp);
    throw error;
  }
  let report: MigrateReport | undefined;
  let failure: unknown;
  let keep = true;
  try {
    report = await pool.migrate(options);
  } catch (error) {
    failure = error;
    keep = await hasContent(pool);
  }
  // Closing checkpoints the WAL into the file and removes the -wal: the file alone is the database.
  const closed = await pool.close().then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!keep) {
    removeTemporary(temp);
    // The file appeared meanwhile: what the caller reports is what its migrations do there.
    if (named(path)) return undefined;
    throw failure;
  }
  const wal = `${temp}-wal`;
  if (closed !== undefined || (existsSync(wal) && statSync(wal).size > 0)) {
    const why = closed !== undefined ? `closing it failed (${(closed as Error).message})` : 'its WAL was not checkpointed at close';
    throw kept(temp, `the new database could not be completed: ${why}`, closed ?? failure);
  }
  try {
    link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw kept(temp, `the new database could not be named ${resolve(path)}: ${(error as Error).message}`, error);
    }
    // Another process created the file meanwhile: it is theirs, and this run's copy goes,
    // whatever its outcome. The caller migrates that file (the ledger skips what is applied
    // there), so it reports, or fails with, what happened to the file that has the name.
    removeTemporary(temp);
    return undefined;
  }
  removeTemporary(temp);
  if (failure !== undefined) throw failure;
  return report;
}

/**
 * Whether open() builds its database as migrate does here: `migrations` given, a file it may
 * create, and no name at the path yet (a dangling symlink counts as one: SQLite creates its
 * target in place, as before). Not under LiteFS, which owns the files of its mount.
 */
export function buildsNewFile(options: ResolvedOptions): boolean {
  if (options.migrations === undefined || options.memory || !options.create || options.replication === 'litefs') return false;
  try {
    lstatSync(options.file);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * The options of the pool open() builds a new database with: the caller's (connection settings,
 * onConnection, observers, which see the migrations run), without `migrations` (the builder runs
 * them), and checkpointed to the end at close, as the file must be complete before it is linked
 * (Litestream, which owns checkpoints, does not watch the temporary name).
 */
export function newFileOptions(options: PoolOptions | undefined): PoolOptions {
  return { ...options, migrations: undefined, create: true, replication: 'none', checkpointOnClose: 'truncate' };
}
