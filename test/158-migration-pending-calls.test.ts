// Covers what a JS migration's `tx` does with calls `up`/`down` did not await, and the command
// line's answer to a migration that can never finish (docs/migrations.md):
// - an un-awaited call runs before the ledger row and COMMIT, as in db.transaction(): its effect
//   is committed with the migration (also a call made in a call's .then(), and in down());
// - an un-awaited call that fails fails the migration (LITEPOOL_MIGRATION_FAILED, its statement,
//   the error as cause), rolled back and not recorded, and is never an unhandled rejection; a
//   failure the migration caught itself does not fail it;
// - `litepool migrate` / `down` with a JS migration awaiting a promise nothing settles: exit 1 and
//   one stderr line saying the command never finished and naming the file (--json: its version),
//   the migration rolled back, a new database's temporary file removed or named as after any
//   failure; a module whose top-level await never settles: exit 1, "could not be stopped".
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type MigrationFunction, type Pool } from '../lib/index.ts';
import { Scratch, compiledPackage, ledgerOf, refusal } from './migrations-helpers.ts';

const scratch = new Scratch();
const pools: Pool[] = [];
/** Unhandled rejections seen while a test of this file runs (vitest fails on them too). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await Promise.allSettled(pools.map((db) => db.close()));
  scratch.remove();
});

async function opened(path = scratch.db()): Promise<Pool> {
  const db = await open(path);
  pools.push(db);
  return db;
}

/** A few turns of the event loop: a rejection left unhandled would have been reported by then. */
const turns = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("a JS migration's calls it did not await", () => {
  it('run before the migration commits, as in db.transaction(): the row is there, the ledger says applied', async () => {
    const db = await opened();
    await db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
    await db.transaction(async (tx) => {
      void tx.run("INSERT INTO users (name) VALUES ('transaction')");
    });
    const report = await db.migrate({
      migrations: [
        {
          version: '1.0.0',
          name: 'seed',
          up: async (tx) => {
            void tx.run("INSERT INTO users (name) VALUES ('migration')");
          },
        },
        {
          version: '1.1.0',
          name: 'chain',
          // Not async: the calls are made and up returns at once; the second call is made only
          // when the first has run.
          up: (tx) => {
            void tx.run('CREATE TABLE t (x)').then(() => tx.run('INSERT INTO t VALUES (1), (2)'));
            void tx.exec('CREATE TABLE u (y)');
          },
        },
      ],
    });
    await turns();
    expect(report.applied.map((run) => run.version)).toEqual(['1.0.0', '1.1.0']);
    expect(await ledgerOf(db)).toEqual([
      { version: '1.0.0', state: 'applied', kind: 'migration' },
      { version: '1.1.0', state: 'applied', kind: 'migration' },
    ]);
    expect(await db.all('SELECT name FROM users ORDER BY id')).toEqual([{ name: 'transaction' }, { name: 'migration' }]);
    expect(await db.all('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }]);
    expect(await db.all("SELECT name FROM sqlite_schema WHERE name = 'u'")).toEqual([{ name: 'u' }]);
    expect(unhandled).toEqual([]);
  });

  it('run in a directory migration and in down() too', async () => {
    const dir = scratch.files({
      '1.0.0__a.mjs':
        "export async function up(tx) { tx.run('CREATE TABLE a (x)'); }\n" + "export async function down(tx) { tx.run('DROP TABLE a'); }\n",
    });
    const db = await opened();
    await db.migrate({ dir });
    expect(await db.all("SELECT name FROM sqlite_schema WHERE name = 'a'")).toEqual([{ name: 'a' }]);
    const report = await db.migrations.down({ dir, to: '0.0.0' });
    expect(report.reverted.map((run) => run.version)).toEqual(['1.0.0']);
    expect(await db.all("SELECT name FROM sqlite_schema WHERE name = 'a'")).toEqual([]);
    expect(await ledgerOf(db)).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('fail the migration when one fails: rolled back, not recorded, no unhandled rejection', async () => {
    const db = await opened();
    const error = await refusal(
      db.migrate({
        migrations: [
          { version: '1.0.0', name: 'ok', up: 'CREATE TABLE kept (x)' },
          {
            version: '1.1.0',
            name: 'floating',
            up: async (tx) => {
              await tx.run('CREATE TABLE gone (x)');
              void tx.run('INSERT INTO nope VALUES (1)');
              void tx.run('INSERT INTO gone VALUES (1)');
            },
          },
        ],
      }),
    );
    await turns();
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.version).toBe('1.1.0');
    expect(error.statement).toBe('INSERT INTO nope VALUES (1)');
    expect(error.message).toContain('a call on tx it did not await failed: no such table: nope');
    expect((error.cause as { code?: string }).code).toBe('SQLITE_ERROR');
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    const tables = await db.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE name IN ('kept', 'gone') ORDER BY name");
    expect(tables.map((row) => row.name)).toEqual(['kept']);
    expect(unhandled).toEqual([]);
  });

  it('fail it also when the call failed before up settled, and when it was refused (a COMMIT)', async () => {
    const ups: MigrationFunction[] = [
      async (tx) => {
        void tx.run('INSERT INTO nope VALUES (1)');
        await tx.run('CREATE TABLE later (x)');
      },
      async (tx) => {
        void tx.exec('COMMIT');
      },
    ];
    for (const up of ups) {
      const db = await opened();
      const migrations = [
        { version: '0.1.0', name: 'base', up: 'CREATE TABLE base (x)' },
        { version: '1.0.0', name: 'early', up },
      ];
      const error = await refusal(db.migrate({ migrations }));
      await turns();
      expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
      expect(error.version).toBe('1.0.0');
      expect(error.message).toContain('a call on tx it did not await failed');
      expect(await db.all("SELECT name FROM sqlite_schema WHERE name = 'later'")).toEqual([]);
      expect(await ledgerOf(db)).toEqual([{ version: '0.1.0', state: 'applied', kind: 'migration' }]);
    }
    expect(unhandled).toEqual([]);
  });

  it('do not fail it when the migration took the failure itself (.catch without await)', async () => {
    const db = await opened();
    const caught: string[] = [];
    const report = await db.migrate({
      migrations: [
        {
          version: '1.0.0',
          name: 'caught',
          up: async (tx) => {
            void tx.run('INSERT INTO nope VALUES (1)').catch((error: Error) => void caught.push(error.message));
            try {
              await tx.run('INSERT INTO nope VALUES (2)');
            } catch (error) {
              caught.push((error as Error).message);
            }
            void tx.run('CREATE TABLE made (x)');
          },
        },
      ],
    });
    expect(report.applied.map((run) => run.version)).toEqual(['1.0.0']);
    expect(caught).toEqual(['no such table: nope', 'no such table: nope']);
    expect(await db.all("SELECT name FROM sqlite_schema WHERE name = 'made'")).toEqual([{ name: 'made' }]);
    expect(unhandled).toEqual([]);
  });
});

describe('the command line, with a migration that can never finish', () => {
  let main: string;
  beforeAll(() => {
    main = join(compiledPackage(scratch.dir), 'dist', 'cli', 'main.js');
  }, 120_000);

  function litepool(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [main, ...args], { cwd: scratch.dir, timeout: 60_000 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      });
    });
  }

  const HANG = 'export async function up(tx) { await tx.run("INSERT INTO a VALUES (2)"); await new Promise(() => {}); }\n';
  const temporaries = () => readdirSync(scratch.dir).filter((name) => name.includes('.litepool-new-'));

  it('migrate exits 1 with one line naming the file; the migration rolled back, those before it applied', async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (id INTEGER PRIMARY KEY);\nINSERT INTO a VALUES (1);\n', '1.1.0__hang.mjs': HANG });
    const path = scratch.db();
    const db = await open(path);
    await db.close();
    const result = await litepool('migrate', '--db', path, '--dir', dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'litepool: the command never finished: 1.1.0__hang.mjs awaited something that never settles; it was stopped and what that ' +
        'migration ran was rolled back (LITEPOOL_MIGRATION_FAILED)\n',
    );
    const after = await opened(path);
    expect(await ledgerOf(after)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await after.all('SELECT id FROM a')).toEqual([{ id: 1 }]);
  });

  it('on a new database: the temporary file goes (nothing applied) or gets the name (something applied)', async () => {
    const none = scratch.db();
    const only = await litepool('migrate', '--db', none, '--dir', scratch.files({ '1.0.0__hang.mjs': 'export async function up() { await new Promise(() => {}); }\n' }));
    expect(only.code).toBe(1);
    expect(only.stderr).toMatch(/^litepool: the command never finished: 1\.0\.0__hang\.mjs awaited something that never settles; .*\n$/);
    expect(existsSync(none)).toBe(false);
    expect(temporaries()).toEqual([]);

    const some = scratch.db();
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (id INTEGER PRIMARY KEY);\nINSERT INTO a VALUES (1);\n', '1.1.0__hang.mjs': HANG });
    const result = await litepool('migrate', '--db', some, '--dir', dir, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'LITEPOOL_MIGRATION_FAILED', version: '1.1.0', file: '1.1.0__hang.mjs' } });
    expect(result.stderr.split('\n')).toHaveLength(2); // one line
    expect(temporaries()).toEqual([]);
    const after = await opened(some);
    expect(await ledgerOf(after)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await after.all('SELECT id FROM a')).toEqual([{ id: 1 }]);
  });

  it('down: exit 1, the migration still applied', async () => {
    const dir = scratch.files({
      '1.0.0__d.mjs': 'export async function up(tx) { await tx.run("CREATE TABLE d (x)"); }\nexport async function down(tx) { await tx.run("DROP TABLE d"); await new Promise(() => {}); }\n',
    });
    const path = scratch.db();
    expect((await litepool('migrate', '--db', path, '--dir', dir)).code).toBe(0);
    const result = await litepool('down', '--db', path, '--dir', dir, '--to', '0.0.0');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^litepool: the command never finished: 1\.0\.0__d\.mjs awaited something that never settles; .*\n$/);
    const after = await opened(path);
    expect(await ledgerOf(after)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await after.all("SELECT name FROM sqlite_schema WHERE name = 'd'")).toEqual([{ name: 'd' }]);
  });

  it('a module whose top-level await never settles: exit 1, the import named, nothing applied', async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);\n', '1.1.0__tla.mjs': 'await new Promise(() => {});\nexport async function up() {}\n' });
    for (const existing of [false, true]) {
      const path = scratch.db();
      if (existing) await (await open(path)).close();
      const result = await litepool('migrate', '--db', path, '--dir', dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'litepool: the command never finished: the import of 1.1.0__tla.mjs (its top-level code) awaited something that never ' +
          'settles; it could not be stopped; the database is closed as the process exits (LITEPOOL_MIGRATION_FAILED)\n',
      );
      expect(existsSync(path)).toBe(existing);
      expect(temporaries()).toEqual([]);
      if (existing) expect(await (await opened(path)).all("SELECT name FROM sqlite_schema WHERE name = 'a'")).toEqual([]);
    }
  });
});
