// Covers what the addon hands back and how it reads what it is given (native/addon/batch_encoder.cc,
// native/core/statement.cc, column_names.h, bind.cc, schema_refresh.cc, lib/request/outcome.ts,
// sql-registry.ts): a TEXT value longer than
// JavaScript's longest string rejects with SQLITE_TOOBIG and leaves its reader serving; a batch's
// lastInsertRowid beyond 2^53 is a bigint, as run()'s, never an error after the commit; object
// rows are keyed by the column names of the statement on the connection that ran it, whatever the
// other connections saw (a rename rolled back, a snapshot older than a rename, an ADD COLUMN rolled
// back, a result that failed, the JS side forgetting its statements); binding 32,766 named
// parameters to a prepared statement takes linear time; a PRAGMA and an EXPLAIN answer on the
// current schema; insertMany with a one-statement cache; a PRAGMA queued behind writes is not
// applied early (nor at all when cancelled) by the writer looking ahead for a group commit; and
// the messages of an empty parameter object and of trailing text that is not a statement.

import { describe, expect, it } from 'vitest';
import { SqliteError, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('native-values');

/**
 * Runs `sql` on both readers of a two-reader pool: in a snapshot, which pins one reader, and while
 * that reader is pinned, on the shared ring, which only the other reader serves then.
 */
async function onBothReaders(db: Pool, sql: string): Promise<unknown[]> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let pinned!: () => void;
  const isPinned = new Promise<void>((resolve) => (pinned = resolve));
  const snapshot = db.read(async (conn) => {
    const row = await conn.get(sql);
    pinned();
    await held;
    return row;
  });
  await isPinned;
  const shared = await db.get(sql).finally(release);
  return [await snapshot, shared];
}

describe('values JavaScript cannot hold', () => {
  it('a TEXT value longer than the longest JS string rejects with SQLITE_TOOBIG; the reader keeps serving', async () => {
    const db = await pools.open({ readers: 1 });
    const error = await db.get('SELECT CAST(zeroblob(600000000) AS TEXT) AS big, 1 AS other').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqliteError);
    expect(error).toMatchObject({ code: 'SQLITE_TOOBIG', errno: 18 });
    expect((error as Error).message).toMatch(/TEXT value of 600000000 bytes is longer than JavaScript's longest string/);
    // The one reader serves on, strings, blobs and names included (no N-API exception left pending).
    expect(await db.get("SELECT 'still' AS s, x'0102' AS b, ? AS n", [1])).toEqual({ s: 'still', b: Buffer.from([1, 2]), n: 1 });
    expect(await db.all('SELECT 1 AS a UNION ALL SELECT 2')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(db.stats().readers).toMatchObject({ busy: 0, pinned: 0 });
  });

  it("a batch's lastInsertRowid beyond 2^53 is a bigint, as run()'s: the committed batch resolves", async () => {
    const db = await pools.fresh({ readers: 1 });
    const viaRun = await db.run("INSERT INTO t VALUES (9007199254740993, 'run')");
    expect(viaRun).toEqual({ changes: 1, lastInsertRowid: 9007199254740993n });
    const results = await db.batch([
      { sql: "INSERT INTO t VALUES (9007199254740995, 'batch')" },
      { sql: "INSERT INTO t VALUES (7, 'small')" },
      { sql: 'UPDATE t SET v = v' },
    ]);
    expect(results).toEqual([
      { changes: 1, lastInsertRowid: 9007199254740995n },
      { changes: 1, lastInsertRowid: 7 },
      { changes: 3, lastInsertRowid: 7 },
    ]);
    expect(typeof results[2]!.changes).toBe('number');
    // With safeIntegers the rowid is a bigint and changes a number, as run() gives them.
    const safe = await pools.fresh({ readers: 1, safeIntegers: true });
    expect(await safe.run("INSERT INTO t VALUES (5, 'a')")).toEqual({ changes: 1, lastInsertRowid: 5n });
    expect(await safe.batch([{ sql: "INSERT INTO t VALUES (9007199254740995, 'b')" }])).toEqual([{ changes: 1, lastInsertRowid: 9007199254740995n }]);
  });
});

describe('column names per connection', () => {
  const SQL = 'SELECT * FROM t2';
  const schema = 'CREATE TABLE t2 (a INTEGER, b INTEGER); INSERT INTO t2 VALUES (1, 2)';

  it('a rename inside a transaction that rolled back does not rename the readers’ rows', async () => {
    const db = await pools.fresh({ readers: 1 }, schema);
    expect(await db.get(SQL)).toEqual({ a: 1, b: 2 });
    await db
      .transaction(async (tx) => {
        await tx.exec('ALTER TABLE t2 RENAME COLUMN a TO oops');
        expect(await tx.get(SQL)).toEqual({ oops: 1, b: 2 });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await db.get(SQL)).toEqual({ a: 1, b: 2 });
    expect(await db.all(SQL)).toEqual([{ a: 1, b: 2 }]);
    // The writer's statement is re-prepared on the schema as it is now.
    expect(await db.transaction((tx) => tx.get(SQL))).toEqual({ a: 1, b: 2 });
  });

  it('an ADD COLUMN rolled back leaves the readers’ rows keyed by name, not by position', async () => {
    const db = await pools.fresh({ readers: 1 }, schema);
    expect(await db.get(SQL)).toEqual({ a: 1, b: 2 });
    await db
      .transaction(async (tx) => {
        await tx.exec('ALTER TABLE t2 ADD COLUMN c');
        expect(await tx.get(SQL)).toEqual({ a: 1, b: 2, c: null });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await db.get(SQL)).toEqual({ a: 1, b: 2 });
    expect(await db.all(SQL)).toEqual([{ a: 1, b: 2 }]);
  });

  it('a snapshot opened before a committed rename keeps the names of the schema it sees', async () => {
    const db = await pools.fresh({ readers: 2 }, schema);
    let go!: () => void;
    const gate = new Promise<void>((resolve) => (go = resolve));
    let opened!: () => void;
    const ready = new Promise<void>((resolve) => (opened = resolve));
    const snapshot = db.read(async (conn) => {
      const before = await conn.get(SQL);
      opened();
      await gate;
      return [before, await conn.get(SQL), await conn.all(SQL)];
    });
    await ready;
    await db.exec('ALTER TABLE t2 RENAME COLUMN a TO renamed');
    expect(await db.get(SQL)).toEqual({ renamed: 1, b: 2 });
    go();
    expect(await snapshot).toEqual([{ a: 1, b: 2 }, { a: 1, b: 2 }, [{ a: 1, b: 2 }]]);
    expect(await db.get(SQL)).toEqual({ renamed: 1, b: 2 });
    expect(await onBothReaders(db, SQL)).toEqual([{ renamed: 1, b: 2 }, { renamed: 1, b: 2 }]);
  });

  it('a result that failed on a value JS cannot hold still lets the next one on that reader be named', async () => {
    const db = await pools.fresh({ readers: 1 }, 'CREATE TABLE t3 (id INTEGER PRIMARY KEY, big INTEGER); INSERT INTO t3 VALUES (1, 1 << 60), (2, 5)');
    const sql = 'SELECT id, big FROM t3 WHERE id = ?';
    await expect(db.get(sql, [1])).rejects.toMatchObject({ code: 'LITEPOOL_INTEGER_OVERFLOW' });
    expect(await db.get(sql, [2])).toEqual({ id: 2, big: 5 });
  });

  it('after the JS side forgot its statements (4,096 SQL texts), every reader names its rows again', async () => {
    const db = await pools.fresh({ readers: 2 }, schema);
    expect(await onBothReaders(db, SQL)).toEqual([{ a: 1, b: 2 }, { a: 1, b: 2 }]);
    // Distinct SQL texts on the writer: the JS side starts over, the readers keep their statements.
    for (let i = 0; i < 4100; i++) await db.run(`SELECT ${i}`);
    expect(await onBothReaders(db, SQL)).toEqual([{ a: 1, b: 2 }, { a: 1, b: 2 }]);
    expect(await db.all(SQL)).toEqual([{ a: 1, b: 2 }]);
  });
});

describe('binding and statement shape', () => {
  it('binds 32,766 named parameters to a prepared statement in linear time', async () => {
    const db = await pools.open({ readers: 1 });
    const names = Array.from({ length: 32766 }, (_, i) => `p${i}`);
    const sql = `SELECT count(*) AS n, sum(x) AS s FROM (SELECT column1 AS x FROM (VALUES ${names.map((k) => `(:${k})`).join(', ')}))`;
    // Given in reverse: a search per placeholder would walk nearly all of them.
    const params = Object.fromEntries(names.toReversed().map((k, i) => [k, i % 3]));
    const expected = { n: 32766, s: names.reduce((sum, _, i) => sum + (i % 3), 0) };
    // The first run prepares it (SQLite's own prepare of 32,766 names takes seconds) and reads the
    // placeholder names once; the runs after it only bind.
    expect(await db.get(sql, params)).toEqual(expected);
    const started = performance.now();
    expect(await db.get(sql, params)).toEqual(expected);
    expect(await db.get(sql, params)).toEqual(expected);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a PRAGMA answers on the current schema: index_list of a table created since, on a reader and on the writer', async () => {
    const db = await pools.open({ readers: 1 });
    expect(await db.all('PRAGMA index_list(c)')).toEqual([]);
    expect(await db.all('PRAGMA table_info(c)')).toEqual([]);
    await db.exec('CREATE TABLE c (id INTEGER PRIMARY KEY, u UNIQUE)');
    expect(await db.all('PRAGMA index_list(c)')).toMatchObject([{ name: 'sqlite_autoindex_c_1', unique: 1 }]);
    expect((await db.all('PRAGMA table_info(c)')).map((row) => (row as { name: string }).name)).toEqual(['id', 'u']);
    // Another pool changes the schema: the writer-only pool's connection had not read it.
    const path = pools.file();
    const writerOnly = await pools.openAt(path, { readers: 0 });
    expect(await writerOnly.all('PRAGMA index_list(d)')).toEqual([]);
    const other = await pools.openAt(path, { readers: 1 });
    await other.exec('CREATE TABLE d (x UNIQUE)');
    expect(await writerOnly.all('PRAGMA index_list(d)')).toMatchObject([{ name: 'sqlite_autoindex_d_1' }]);
    expect(await writerOnly.all("SELECT name FROM pragma_index_list('d')")).toEqual([{ name: 'sqlite_autoindex_d_1' }]);
  });

  it('an EXPLAIN describes the current schema: a plan of an index created or dropped since, on a reader and on the writer', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE e (x, y)');
    const plan = async (target: 'reader' | 'writer'): Promise<string> => {
      const sql = 'EXPLAIN QUERY PLAN SELECT y FROM e WHERE x = 1';
      const rows = target === 'reader' ? await db.all<{ detail: string }>(sql) : await db.transaction((tx) => tx.all<{ detail: string }>(sql));
      return rows.map((row) => row.detail).join('; ');
    };
    expect(await plan('reader')).toMatch(/^SCAN e/);
    expect(await plan('writer')).toMatch(/^SCAN e/);
    await db.exec('CREATE INDEX e_x ON e (x)');
    expect(await plan('reader')).toMatch(/USING INDEX e_x/);
    expect(await plan('writer')).toMatch(/USING INDEX e_x/);
    await db.exec('DROP INDEX e_x');
    expect(await plan('reader')).toMatch(/^SCAN e/);
    expect(await plan('writer')).toMatch(/^SCAN e/);
  });

  it('insertMany with a statement cache of one statement inserts each row once (its two statements stay while in use)', async () => {
    for (const statementCacheSize of [1, 2, 0]) {
      const db = await pools.open({ readers: 1, statementCacheSize });
      await db.exec('CREATE TABLE m (a INTEGER, b TEXT)');
      const rows = Array.from({ length: 1000 }, (_, i) => ({ a: i, b: `r${i}` }));
      expect(await db.insertMany('m', rows)).toBe(1000);
      expect(await db.get('SELECT count(*) AS n, sum(a) AS s, count(DISTINCT b) AS d FROM m')).toEqual({ n: 1000, s: 499500, d: 1000 });
      await db.close();
    }
  });

  it('a PRAGMA queued behind writes takes effect after them, and never when it is cancelled before it ran', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE q (a)');
    const writerCacheSize = async (): Promise<number> => {
      const lease = await db.acquire({ write: true });
      try {
        return Number((await lease.get<{ cache_size: number }>('PRAGMA cache_size'))!.cache_size);
      } finally {
        await lease.release();
      }
    };
    const refused: string[] = [];
    for (let round = 0; round < 50; round++) {
      const outcomes = await Promise.allSettled([db.run('INSERT INTO q VALUES (1)'), db.run('INSERT INTO q VALUES (2)'), db.run('PRAGMA query_only = ON')]);
      for (const outcome of outcomes.slice(0, 2)) if (outcome.status === 'rejected') refused.push(String((outcome.reason as SqliteError).code));
      await db.run('PRAGMA query_only = OFF');
    }
    expect(refused).toEqual([]);
    expect(await db.get('SELECT count(*) AS n FROM q')).toEqual({ n: 100 });
    const before = await writerCacheSize();
    const controller = new AbortController();
    const slow = db.run('INSERT INTO q WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT x FROM c');
    const pragma = db.run('PRAGMA cache_size = 7', [], { signal: controller.signal });
    // Aborted once the slow write is running (the writer has looked past it by then).
    while (!db.stats().writer.busy) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('never mind'));
    const [slowOutcome, pragmaOutcome] = await Promise.allSettled([slow, pragma]);
    expect(slowOutcome.status).toBe('fulfilled');
    expect(pragmaOutcome).toMatchObject({ status: 'rejected', reason: { message: 'never mind' } });
    expect(await writerCacheSize()).toBe(before);
  });

  it('an empty parameter object is named parameters; trailing text that is no statement says so', async () => {
    const db = await pools.open({ readers: 1 });
    await expect(db.get('SELECT :a AS x', {})).rejects.toMatchObject({ code: 'LITEPOOL_BIND', message: "missing named parameter 'a' (:a)" });
    await expect(db.get('SELECT ? AS x', {})).rejects.toMatchObject({ code: 'LITEPOOL_BIND', message: expect.stringMatching(/positional parameters/) });
    expect(await db.get('SELECT 1 AS x', {})).toEqual({ x: 1 });
    for (const sql of ['SELECT 1; garbage', 'SELECT 1;\u00a0', 'SELECT 1; SELECT']) {
      const error = await db.get(sql).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'LITEPOOL_MISUSE' });
      expect((error as Error).message).toMatch(/^the text after the statement is not a valid statement \(.+\): only whitespace, ';' and comments may follow/);
    }
    await expect(db.run('SELECT 1; SELECT 2')).rejects.toMatchObject({ code: 'LITEPOOL_MISUSE', message: expect.stringMatching(/more than one statement/) });
    expect(await db.get('SELECT 1 AS x; -- done')).toEqual({ x: 1 });
  });
});
