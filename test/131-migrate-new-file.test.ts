// Covers `litepool migrate` on a database file that does not exist yet (lib/migrations/
// new-database.ts): the file appears only once migrate is done. A first migration that fails
// when it runs leaves no file at all (no -wal, no -shm, no temporary file), where it used to
// leave an empty database that a retry or another tool took for a real one; a later failure
// leaves the database with the migrations applied before it, as on an existing file; a file
// another process creates meanwhile is kept and migrated as it is; several runs at once apply
// each migration once. Where the file system has no hard links the file is created in place,
// and a failure that leaves it empty says so. Outcomes and directory listings only: no timings.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError, open } from '../lib/index.ts';
import { run } from '../lib/cli/commands.ts';
import { NEW_FILE_SUFFIX, migrateNewDatabase } from '../lib/migrations/new-database.ts';
import { Scratch, ledgerOf, refusal } from './migrations-helpers.ts';

const scratch = new Scratch();
afterAll(() => scratch.remove());

/** Runs the command line in this process. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

/** A directory of its own for one database: what it holds afterwards is exactly what migrate left. */
function home(): { dir: string; db: string } {
  const dir = scratch.copy();
  return { dir, db: join(dir, 'app.db') };
}

/** The migrations of a pool on `db` (opened without creating it), as [version, state]. */
async function ledger(db: string): Promise<[string, string][]> {
  const pool = await open(db, { readers: 1, create: false });
  try {
    return (await ledgerOf(pool)).map((row) => [row.version, row.state]);
  } finally {
    await pool.close();
  }
}

const FAILS = 'CREATE TABLE a (x);\nINSERT INTO nope VALUES (1);\n';

describe('litepool migrate on a file that does not exist', () => {
  it('a first migration that fails when it runs leaves no file at all; the retry creates it', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': FAILS, '1.1.0__second.sql': 'CREATE TABLE b (x);\n' });
    const failed = await cli('migrate', '--db', place.db, '--dir', dir, '--json');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.0.0', file: '1.0.0__first.sql' });
    expect(failed.stderr).toBe('litepool: 1.0.0__first.sql failed at statement 2 (line 2): no such table: nope | INSERT INTO nope VALUES (1); (LITEPOOL_MIGRATION_FAILED)\n');
    expect(readdirSync(place.dir)).toEqual([]);
    // status and plan still see no database, and create none.
    expect((await cli('status', '--db', place.db, '--dir', dir)).stdout).toMatch(/1\.0\.0 +first +pending/);
    expect(readdirSync(place.dir)).toEqual([]);

    const fixed = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': 'CREATE TABLE b (x);\n' });
    expect((await cli('migrate', '--db', place.db, '--dir', fixed)).code).toBe(0);
    expect(readdirSync(place.dir)).toEqual(['app.db']);
    expect(await ledger(place.db)).toEqual([
      ['1.0.0', 'applied'],
      ['1.1.0', 'applied'],
    ]);
  });

  it('a JS migration that throws first: no file either', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.mjs': "export async function up(tx) { await tx.run('CREATE TABLE a (x)'); throw new Error('no'); }\n" });
    const failed = await cli('migrate', '--db', place.db, '--dir', dir);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('1.0.0__first.mjs failed: no');
    expect(readdirSync(place.dir)).toEqual([]);
  });

  it('a later migration that fails leaves the database with the ones applied before it, and nothing else', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': FAILS.replace('TABLE a', 'TABLE b') });
    const failed = await cli('migrate', '--db', place.db, '--dir', dir, '--json');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.1.0' });
    expect(readdirSync(place.dir)).toEqual(['app.db']);
    expect(await ledger(place.db)).toEqual([['1.0.0', 'applied']]);
  });

  it('a run that succeeds leaves the database alone, in WAL mode, every migration applied', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.mjs': "export async function up(tx) { await tx.run('INSERT INTO a VALUES (1)'); }\n" });
    const done = await cli('migrate', '--db', place.db, '--dir', dir, '--json');
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ applied: [{ version: '1.0.0' }, { version: '1.1.0' }], current: '1.1.0' });
    expect(readdirSync(place.dir)).toEqual(['app.db']);
    const pool = await open(place.db, { readers: 1, create: false });
    try {
      expect(await pool.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
      expect(await pool.all('SELECT x FROM a')).toEqual([{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  it('a file another process creates meanwhile is kept, and migrated as it is', async () => {
    const place = home();
    // The first migration creates the database file itself (an empty database), as another
    // process would while this run migrates its temporary copy, and notes which file it made.
    const made = join(scratch.dir, `made-${place.dir.split(/[\\/]/).pop()}`);
    const creator = `import { closeSync, existsSync, openSync, statSync, writeFileSync } from 'node:fs';
export async function up(tx) {
  const db = ${JSON.stringify(place.db)};
  if (!existsSync(db)) {
    closeSync(openSync(db, 'wx'));
    writeFileSync(${JSON.stringify(made)}, String(statSync(db).ino));
  }
  await tx.run('CREATE TABLE a (x)');
}
`;
    const dir = scratch.files({ '1.0.0__first.mjs': creator, '1.1.0__second.sql': 'CREATE TABLE b (x);\n' });
    const done = await cli('migrate', '--db', place.db, '--dir', dir, '--json');
    expect(done.code).toBe(0);
    // The report is the one of the file that has the name: every migration applied to it.
    expect(JSON.parse(done.stdout)).toMatchObject({ applied: [{ version: '1.0.0' }, { version: '1.1.0' }], current: '1.1.0' });
    expect(readdirSync(place.dir)).toEqual(['app.db']);
    // The very file the other process made, not replaced by this run's copy.
    expect(statSync(place.db).ino).toBe(Number(readFileSync(made, 'utf8')));
    expect(await ledger(place.db)).toEqual([
      ['1.0.0', 'applied'],
      ['1.1.0', 'applied'],
    ]);
  });

  it('several runs at once: every one succeeds, each migration applied once, one file', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': "INSERT INTO a VALUES ('once');\n" });
    const runs = await Promise.all(Array.from({ length: 4 }, () => cli('migrate', '--db', place.db, '--dir', dir)));
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(runs.map(() => [0, '']));
    expect(readdirSync(place.dir)).toEqual(['app.db']);
    const pool = await open(place.db, { readers: 1, create: false });
    try {
      expect(await pool.all('SELECT x FROM a')).toEqual([{ x: 'once' }]);
      expect((await ledgerOf(pool)).map((row) => row.version)).toEqual(['1.0.0', '1.1.0']);
    } finally {
      await pool.close();
    }
  });

  it('several runs at once whose first migration fails: none leaves a file', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': FAILS });
    const runs = await Promise.all(Array.from({ length: 4 }, () => cli('migrate', '--db', place.db, '--dir', dir)));
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 1]);
    expect(readdirSync(place.dir)).toEqual([]);
  });
});

describe('migrateNewDatabase on a file system without hard links', () => {
  const noLinks = (): never => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  const openNew = (file: string) => open(file, { readers: 1, create: true });

  it('creates the file in place; a first migration that fails says the file is left empty', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': FAILS });
    const error = await refusal(migrateNewDatabase(place.db, { dir }, openNew, noLinks));
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.0.0', file: '1.0.0__first.sql', statement: 'INSERT INTO nope VALUES (1);' });
    expect(error.message).toContain('no such table: nope');
    expect(error.message).toContain(`(the database file ${place.db} was created for this run and is left empty: this file system has no hard links`);
    expect(error.cause).toBeInstanceOf(MigrationError);
    // No temporary file: the probe found no hard links before anything ran.
    expect(readdirSync(place.dir)).toEqual(['app.db']);
  });

  it('a later failure there is the migration error as it is; a success the report', async () => {
    const place = home();
    const partly = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': FAILS.replace('TABLE a', 'TABLE b') });
    const error = await refusal(migrateNewDatabase(place.db, { dir: partly }, openNew, noLinks));
    expect(error.message).not.toContain('left empty');
    expect(await ledger(place.db)).toEqual([['1.0.0', 'applied']]);

    const other = home();
    const fine = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n' });
    await expect(migrateNewDatabase(other.db, { dir: fine }, openNew, noLinks)).resolves.toMatchObject({ applied: [{ version: '1.0.0' }] });
    expect(readdirSync(other.dir)).toEqual(['app.db']);
  });

  it('leaves no temporary file when a run fails or succeeds with links (their suffix)', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n' });
    await expect(migrateNewDatabase(place.db, { dir }, openNew)).resolves.toMatchObject({ current: '1.0.0' });
    expect(readdirSync(place.dir).filter((name) => name.includes(NEW_FILE_SUFFIX))).toEqual([]);
    expect(existsSync(place.db)).toBe(true);
  });
});
