// Covers two fixes. (1) A read snapshot (db.read) on a pool without readers runs on the writer
// with PRAGMA query_only on (lib/api/snapshot.ts): whatever its callback does to query_only, and
// however the callback ends, the writer's query_only is what it was before the snapshot (a writer
// made query_only through `pragmas` used to come out of it writable), and nothing the callback
// wrote stays. (2) open(path, { migrations }) on a file that does not exist (lib/api/open.ts,
// lib/migrations/new-database.ts) builds the database under a temporary name as `litepool
// migrate` does: a first migration that fails leaves no file (no -wal, -shm, -journal or
// temporary file), where it used to leave an empty database; a success gives the pool and the
// database an open() on an existing empty file gives; two open() calls at once on the same
// missing path both succeed (each migration applied once) or both fail (no file).
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError, SqliteError, open, type MigrationEvent, type MigrationTransaction, type Pool, type PoolOptions } from '../lib/index.ts';
import { Scratch, ledgerOf, refusal, schemaOf } from './migrations-helpers.ts';

const scratch = new Scratch();
afterAll(() => scratch.remove());

async function queryOnly(db: Pool): Promise<number> {
  return Number((await db.get<{ query_only: number | bigint }>('PRAGMA query_only'))!.query_only);
}

/** The SqliteError code a promise rejects with ('resolved' when it does not). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof SqliteError ? error.code : `not a SqliteError: ${String(error)}`),
  );
}

describe('a read snapshot on the writer (no readers) leaves query_only as it found it', () => {
  const pools: [string, () => string, PoolOptions][] = [
    [':memory:', () => ':memory:', {}],
    ['readers: 0', () => scratch.db(), { readers: 0 }],
  ];

  for (const [label, path, options] of pools) {
    /** A writer made query_only through `pragmas`, checked once the snapshot `body` ran. */
    const staysQueryOnly = async (body: (db: Pool) => Promise<unknown>) => {
      const db = await open(path(), { ...options, pragmas: { query_only: true } });
      try {
        expect(await queryOnly(db)).toBe(1);
        await body(db);
        expect(await queryOnly(db)).toBe(1);
        expect(await codeOf(db.run('CREATE TABLE t (x)'))).toBe('SQLITE_READONLY');
      } finally {
        await db.close();
      }
    };

    it(`${label}: the callback may not lift query_only (SQLITE_AUTH); a writer made query_only stays so`, async () => {
      await staysQueryOnly(async (db) => {
        expect(await codeOf(db.read((conn) => conn.exec('PRAGMA query_only = OFF')))).toBe('SQLITE_AUTH');
        expect(await codeOf(db.read((conn) => conn.run('PRAGMA query_only = 0')))).toBe('SQLITE_AUTH');
        expect(await codeOf(db.read((conn) => conn.get('PRAGMA main.query_only = false')))).toBe('SQLITE_AUTH');
      });
    });

    it(`${label}: ... and after one that tried to lift it and threw`, async () => {
      const boom = new Error('boom');
      await staysQueryOnly((db) =>
        expect(
          db.read(async (conn) => {
            await conn.exec('PRAGMA query_only = OFF').catch(() => undefined);
            throw boom;
          }),
        ).rejects.toBe(boom),
      );
    });

    it(`${label}: ... and after one that did not wait for its PRAGMA (it runs before the snapshot ends)`, async () => {
      await staysQueryOnly((db) =>
        db.read((conn) => {
          void conn.exec('PRAGMA query_only = OFF').catch(() => undefined);
        }),
      );
    });

    it(`${label}: a writable writer is writable again, and what the callback wrote is gone`, async () => {
      const db = await open(path(), options);
      try {
        await db.exec('CREATE TABLE t (x)');
        await db
          .read(async (conn) => {
            expect(await codeOf(conn.exec('PRAGMA query_only = OFF'))).toBe('SQLITE_AUTH');
            expect(await codeOf(conn.run('INSERT INTO t VALUES (1)'))).toBe('SQLITE_READONLY');
            throw new Error('boom');
          })
          .catch(() => undefined);
        expect(await queryOnly(db)).toBe(0);
        expect(await db.all('SELECT x FROM t')).toEqual([]);
        await db.run('INSERT INTO t VALUES (2)');
        expect(await db.all('SELECT x FROM t')).toEqual([{ x: 2 }]);
      } finally {
        await db.close();
      }
    });
  }

  it('refuses the callback PRAGMA query_only = OFF on the writer (SQLITE_AUTH), so it cannot write inside the snapshot', async () => {
    const db = await open(scratch.db(), { readers: 0 });
    try {
      await db.exec('CREATE TABLE t (x)');
      const inside = await db.read(async (conn) => [await codeOf(conn.exec('PRAGMA query_only = OFF')), await codeOf(conn.run('INSERT INTO t VALUES (1)')), await conn.all('SELECT x FROM t')]);
      expect(inside).toEqual(['SQLITE_AUTH', 'SQLITE_READONLY', []]);
    } finally {
      await db.close();
    }
  });
});

const FAILS = 'CREATE TABLE a (x);\nINSERT INTO nope VALUES (1);\n';

/** A directory of its own for one database: what it holds afterwards is exactly what open() left. */
function home(): { dir: string; db: string } {
  const dir = scratch.copy();
  return { dir, db: join(dir, 'app.db') };
}

describe('open() with migrations on a file that does not exist', () => {
  it('a first migration that fails leaves no file at all; the retry creates it', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': FAILS, '1.1.0__second.sql': 'CREATE TABLE b (x);\n' });
    const error = await refusal(open(place.db, { readers: 2, migrations: { dir } }));
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.0.0', file: '1.0.0__first.sql' });
    expect(error.message).toContain('no such table: nope');
    expect(readdirSync(place.dir)).toEqual([]);

    const fixed = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': 'CREATE TABLE b (x);\n' });
    const db = await open(place.db, { readers: 2, migrations: { dir: fixed } });
    try {
      expect((await ledgerOf(db)).map((row) => [row.version, row.state])).toEqual([
        ['1.0.0', 'applied'],
        ['1.1.0', 'applied'],
      ]);
    } finally {
      await db.close();
    }
    expect(readdirSync(place.dir)).toEqual(['app.db']);
  });

  it('a JS migration of a list that throws first, on a pool without readers: no file either', async () => {
    const place = home();
    const up = async (tx: MigrationTransaction) => {
      await tx.run('CREATE TABLE a (x)');
      throw new Error('not this time');
    };
    const error = await refusal(open(place.db, { readers: 0, migrations: { migrations: [{ version: '1.0.0', name: 'first', up }] } }));
    expect(error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.0.0' });
    expect(error.message).toContain('not this time');
    expect(readdirSync(place.dir)).toEqual([]);
  });

  it('a later migration that fails leaves the database with the ones applied before it, as before', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': FAILS.replace('TABLE a', 'TABLE b') });
    const error = await refusal(open(place.db, { readers: 1, migrations: { dir } }));
    expect(error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.1.0' });
    expect(readdirSync(place.dir)).toEqual(['app.db']);
    const db = await open(place.db, { readers: 1, create: false });
    try {
      expect((await ledgerOf(db)).map((row) => [row.version, row.state])).toEqual([['1.0.0', 'applied']]);
    } finally {
      await db.close();
    }
  });

  it('a success gives what open() on an existing empty file gives; observers see the migrations', async () => {
    const files = {
      '1.0.0__first.sql': 'CREATE TABLE a (x);\nPRAGMA user_version = 7;\n',
      '1.1.0__second.mjs': "export async function up(tx) { await tx.run('INSERT INTO a VALUES (1)'); }\n",
    };
    const dir = scratch.files(files);
    const snapshot = async (db: Pool) => ({
      schema: await schemaOf(db),
      ledger: await ledgerOf(db),
      rows: await db.all('SELECT x FROM a'),
      userVersion: await db.get('PRAGMA user_version'),
      journal: await db.get('PRAGMA journal_mode'),
    });

    const existing = home();
    writeFileSync(existing.db, ''); // an empty file: the pool migrates it in place, as before
    const before = await open(existing.db, { readers: 2, migrations: { dir } });
    const expected = await snapshot(before).finally(() => before.close());

    const fresh = home();
    const events: MigrationEvent[] = [];
    const db = await open(fresh.db, { readers: 2, migrations: { dir }, observers: [{ onMigration: (e) => events.push(e) }] });
    try {
      expect(db.path).toBe(fresh.db);
      expect(await snapshot(db)).toEqual(expected);
      expect(events.map((e) => [e.phase, e.version])).toEqual([
        ['start', '1.0.0'],
        ['applied', '1.0.0'],
        ['start', '1.1.0'],
        ['applied', '1.1.0'],
      ]);
      await db.run('INSERT INTO a VALUES (2)');
    } finally {
      await db.close();
    }
    expect(readdirSync(fresh.dir)).toEqual(['app.db']);
  });

  it('two open() calls at once on the same missing path: both succeed, each migration applied once, one sound file', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': "INSERT INTO a VALUES ('once');\n" });
    const [one, two] = await Promise.all([open(place.db, { readers: 1, migrations: { dir } }), open(place.db, { readers: 1, migrations: { dir } })]);
    try {
      await one.run("INSERT INTO a VALUES ('one')");
      await two.run("INSERT INTO a VALUES ('two')");
      for (const db of [one, two]) {
        expect(await db.all('SELECT x FROM a ORDER BY rowid')).toEqual([{ x: 'once' }, { x: 'one' }, { x: 'two' }]);
        expect((await ledgerOf(db)).map((row) => row.version)).toEqual(['1.0.0', '1.1.0']);
      }
      expect(await one.integrityCheck()).toEqual({ ok: true, problems: [] });
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
    expect(readdirSync(place.dir)).toEqual(['app.db']);
  });

  it('two open() calls at once whose first migration fails: both reject, no file', async () => {
    const place = home();
    const dir = scratch.files({ '1.0.0__first.sql': FAILS });
    const outcomes = await Promise.allSettled([open(place.db, { readers: 1, migrations: { dir } }), open(place.db, { readers: 1, migrations: { dir } })]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as MigrationError).code : 'opened'))).toEqual([
      'LITEPOOL_MIGRATION_FAILED',
      'LITEPOOL_MIGRATION_FAILED',
    ]);
    expect(readdirSync(place.dir)).toEqual([]);
  });
});
