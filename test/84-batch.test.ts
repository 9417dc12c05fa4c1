// Covers db.batch() and db.insertMany(). batch: one { changes, lastInsertRowid } per statement;
// atomicity (a failing statement applies none of them and its error names "batch statement N");
// named and positional parameters mixed across entries; tx.batch() failing inside a transaction
// rolls back only the batch and the transaction continues and commits; bad input (not an array,
// empty, entry without sql, unknown key, a Date parameter). insertMany: 10,000 rows; 40 columns ×
// 2,000 rows and other shapes at SQLite's parameter limit; table and column names that need
// quoting (spaces, double quotes, reserved words); an injection attempt as a table name treated as
// a name; rows with mismatched keys (also keys named like Object.prototype properties); an empty
// array; atomicity across chunks. Also: a transaction-control statement (COMMIT, RELEASE of the
// batch's savepoint) inside a batch must not break the batch's atomicity.
import { beforeEach, describe, expect, it } from 'vitest';
import { SqliteError, open, type Pool, type SqlValue } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('batch');
let db: Pool;

beforeEach(async () => {
  db = await pools.fresh({ readers: 2 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE, n INTEGER)');
});

async function count(table = 't', pool: Pool = db): Promise<number> {
  const row = await pool.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  return row!.n;
}

/** The row count of t as a second pool on the same file sees it: what is committed. */
async function committedCount(): Promise<number> {
  const other = await open(db.path, { readers: 1 });
  try {
    return await count('t', other);
  } finally {
    await other.close();
  }
}

describe('db.batch', () => {
  it('returns one { changes, lastInsertRowid } per statement', async () => {
    const results = await db.batch([
      { sql: 'INSERT INTO t (v, n) VALUES (?, ?)', params: ['a', 1] },
      { sql: 'INSERT INTO t (v, n) VALUES (?, ?)', params: ['b', 1] },
      { sql: 'INSERT INTO t (v, n) VALUES (?, ?)', params: ['c', 2] },
      { sql: 'UPDATE t SET n = n + 10 WHERE n = 1' },
      { sql: 'DELETE FROM t WHERE v = ?', params: ['zzz'] },
    ]);
    expect(results).toHaveLength(5);
    const rows = await db.all<{ id: number; v: string; n: number }>('SELECT id, v, n FROM t ORDER BY id');
    expect(rows.map((r) => [r.v, r.n])).toEqual([
      ['a', 11],
      ['b', 11],
      ['c', 2],
    ]);
    expect(results.map((r) => r.changes)).toEqual([1, 1, 1, 2, 0]);
    expect(results.slice(0, 3).map((r) => Number(r.lastInsertRowid))).toEqual(rows.map((r) => r.id));
  });

  it('is atomic: statement 3 of 4 failing applies none of them; the error names "batch statement 3"', async () => {
    await db.run("INSERT INTO t (v) VALUES ('taken')");
    const error = await rejection(
      db.batch([
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['x1'] },
        { sql: "UPDATE t SET n = 99 WHERE v = 'taken'" },
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['taken'] },
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['x4'] },
      ]),
    );
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((error as SqliteError).message).toContain('batch statement 3');
    expect(await db.all('SELECT v, n FROM t')).toEqual([{ v: 'taken', n: null }]);
    // The writer is usable afterwards (no transaction left open).
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await committedCount()).toBe(2);
  });

  it('a statement that does not prepare is named too, and nothing is applied', async () => {
    const error = await rejection(
      db.batch([
        { sql: 'INSERT INTO t (v) VALUES (?)', params: ['p1'] },
        { sql: 'INSERT INTO nowhere (v) VALUES (?)', params: ['p2'] },
      ]),
    );
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).message).toContain('batch statement 2');
    expect((error as SqliteError).message).toContain('no such table');
    expect(await count()).toBe(0);
  });

  it('mixes named and positional parameters across entries', async () => {
    const results = await db.batch([
      { sql: 'INSERT INTO t (v, n) VALUES (?, ?)', params: ['pos', 1] },
      { sql: 'INSERT INTO t (v, n) VALUES (:v, :n)', params: { v: 'colon', n: 2 } },
      { sql: 'INSERT INTO t (v, n) VALUES (@v, @n)', params: { v: 'at', n: 3 } },
      { sql: 'INSERT INTO t (v, n) VALUES ($v, $n)', params: { v: 'dollar', n: 4 } },
      { sql: 'INSERT INTO t (v, n) VALUES (?2, ?1)', params: [5, 'numbered'] },
      { sql: "INSERT INTO t (v, n) VALUES ('none', 6)" },
    ]);
    expect(results.map((r) => r.changes)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(await db.all('SELECT v, n FROM t ORDER BY n')).toEqual([
      { v: 'pos', n: 1 },
      { v: 'colon', n: 2 },
      { v: 'at', n: 3 },
      { v: 'dollar', n: 4 },
      { v: 'numbered', n: 5 },
      { v: 'none', n: 6 },
    ]);
  });

  it('tx.batch() failing inside a transaction rolls back only the batch; the transaction continues and commits', async () => {
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('before')");
      const error = await rejection(
        tx.batch([
          { sql: "INSERT INTO t (v) VALUES ('in-batch-1')" },
          { sql: "INSERT INTO t (v) VALUES ('in-batch-2')" },
          { sql: "INSERT INTO t (v) VALUES ('before')" },
        ]),
      );
      expect(error).toBeInstanceOf(SqliteError);
      expect((error as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
      expect((error as SqliteError).message).toContain('batch statement 3');
      expect(await tx.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'before' }]);
      const ok = await tx.batch([{ sql: "INSERT INTO t (v) VALUES ('batch-ok')" }]);
      expect(ok).toHaveLength(1);
      await tx.run("INSERT INTO t (v) VALUES ('after')");
    });
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'before' }, { v: 'batch-ok' }, { v: 'after' }]);
  });

  it('COMMIT inside a batch followed by a failing statement leaves nothing applied', async () => {
    await db.run("INSERT INTO t (v) VALUES ('taken')");
    const failed = await rejection(
      db.batch([
        { sql: "INSERT INTO t (v) VALUES ('c1')" },
        { sql: 'COMMIT' },
        { sql: "INSERT INTO t (v) VALUES ('taken')" },
      ]),
    );
    expect(failed).toBeInstanceOf(Error);
    expect((await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v)).toEqual(['taken']);
  });

  it('COMMIT inside an otherwise good batch: a rejected batch has applied nothing', async () => {
    const outcome = await db
      .batch([{ sql: "INSERT INTO t (v) VALUES ('c2')" }, { sql: 'COMMIT' }, { sql: "INSERT INTO t (v) VALUES ('c3')" }])
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    const rows = (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
    // Either outcome is consistent; a rejection with the rows committed is not.
    expect({ outcome, rows }).toEqual(outcome === 'rejected' ? { outcome, rows: [] } : { outcome, rows: ['c2', 'c3'] });
  });

  it("RELEASE of the batch's savepoint inside tx.batch() does not leave half the failed batch in the transaction", async () => {
    await db.run("INSERT INTO t (v) VALUES ('taken')");
    await db.transaction(async (tx) => {
      const error = await rejection(
        tx.batch([
          { sql: "INSERT INTO t (v) VALUES ('s1')" },
          { sql: 'RELEASE litepool_batch' },
          { sql: "INSERT INTO t (v) VALUES ('taken')" },
        ]),
      );
      expect(error).toBeInstanceOf(Error);
      expect((await tx.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v)).toEqual(['taken']);
    });
    expect((await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v)).toEqual(['taken']);
  });

  it('rejects bad input with TypeError or RangeError', async () => {
    await expect(db.batch('INSERT INTO t (v) VALUES (1)' as never)).rejects.toBeInstanceOf(TypeError);
    await expect(db.batch({ sql: 'INSERT INTO t (v) VALUES (1)' } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(db.batch([])).rejects.toBeInstanceOf(RangeError);
    const noSql = await rejection(db.batch([{ params: [1] } as never]));
    expect(noSql instanceof TypeError || noSql instanceof RangeError).toBe(true);
    await expect(db.batch([{ sql: '   ' }])).rejects.toBeInstanceOf(RangeError);
    await expect(db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: ['a'], extra: 1 } as never])).rejects.toBeInstanceOf(TypeError);
    await expect(db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: [new Date()] as never }])).rejects.toBeInstanceOf(TypeError);
    await expect(db.batch(['INSERT INTO t (v) VALUES (1)'] as never)).rejects.toBeInstanceOf(TypeError);
    expect(await count()).toBe(0);
  });
});

describe('db.insertMany', () => {
  it('inserts 10,000 rows and resolves with 10000', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ v: `r${i}`, n: i }));
    expect(await db.insertMany('t', rows)).toBe(10_000);
    expect(await count()).toBe(10_000);
    const sample = await db.all<{ v: string; n: number }>('SELECT v, n FROM t WHERE n IN (0, 4999, 9999) ORDER BY n');
    expect(sample).toEqual([
      { v: 'r0', n: 0 },
      { v: 'r4999', n: 4999 },
      { v: 'r9999', n: 9999 },
    ]);
  });

  it('40 columns × 2,000 rows stays below the parameter limit (default and large chunkSize)', async () => {
    const columns = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await db.exec(`CREATE TABLE wide (${columns.join(', ')})`);
    const rows = Array.from({ length: 2000 }, (_, r) => Object.fromEntries(columns.map((c, i) => [c, r * 40 + i])));
    expect(await db.insertMany('wide', rows)).toBe(2000);
    expect(await db.insertMany('wide', rows, { chunkSize: 100_000 })).toBe(2000);
    expect(await count('wide')).toBe(4000);
    expect(await db.get('SELECT sum(c0) AS s, max(c39) AS m FROM wide')).toEqual({ s: 2 * 40 * ((1999 * 2000) / 2), m: 1999 * 40 + 39 });
  });

  it('a chunk exactly at the parameter limit works (3 columns × 20,000 rows, one huge chunk)', async () => {
    await db.exec('CREATE TABLE three (a, b, c)');
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ a: i, b: `b${i}`, c: i * 2 }));
    expect(await db.insertMany('three', rows, { chunkSize: 1_000_000 })).toBe(20_000);
    expect(await count('three')).toBe(20_000);
    const single = Array.from({ length: 40_000 }, (_, i) => ({ a: i }));
    expect(await db.insertMany('three', single, { chunkSize: 1_000_000 })).toBe(40_000);
    expect(await count('three')).toBe(60_000);
  });

  it('quotes table and column names: spaces, double quotes, reserved words', async () => {
    await db.exec('CREATE TABLE "my ""odd"" table" ("first name" TEXT, "order" INTEGER, "we""ird" TEXT)');
    await db.exec('CREATE TABLE "order" ("select" INTEGER, "group by" TEXT)');
    const inserted = await db.insertMany('my "odd" table', [
      { 'first name': 'Ada', order: 1, 'we"ird': 'x' },
      { 'first name': 'Grace', order: 2, 'we"ird': 'y' },
    ]);
    expect(inserted).toBe(2);
    expect(await db.all('SELECT "first name" AS name, "order" AS o, "we""ird" AS w FROM "my ""odd"" table" ORDER BY "order"')).toEqual([
      { name: 'Ada', o: 1, w: 'x' },
      { name: 'Grace', o: 2, w: 'y' },
    ]);
    expect(await db.insertMany('order', [{ select: 7, 'group by': 'g' }])).toBe(1);
    expect(await db.all('SELECT * FROM "order"')).toEqual([{ select: 7, 'group by': 'g' }]);
  });

  it('treats an injection attempt as a table name', async () => {
    await db.exec('CREATE TABLE x (a)');
    await db.run('INSERT INTO x (a) VALUES (1)');
    const error = await rejection(db.insertMany('t; DROP TABLE x; --', [{ a: 1 }]));
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).message).toContain('no such table');
    const column = await rejection(db.insertMany('x', [{ 'a) VALUES (1); DROP TABLE x; --': 1 }]));
    expect(column).toBeInstanceOf(SqliteError);
    expect(await db.all('SELECT a FROM x')).toEqual([{ a: 1 }]);
  });

  it('rows with mismatched keys are a RangeError naming the row index', async () => {
    const rows: Record<string, SqlValue>[] = [
      { v: 'a', n: 1 },
      { v: 'b', n: 2 },
      { v: 'c', n: 3 },
      { v: 'd', x: 4 },
    ];
    const error = await rejection(db.insertMany('t', rows));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain('rows[3]');
    const missing = await rejection(db.insertMany('t', [{ v: 'a', n: 1 }, { v: 'b' }]));
    expect(missing).toBeInstanceOf(RangeError);
    expect((missing as Error).message).toContain('rows[1]');
    const extra = await rejection(db.insertMany('t', [{ v: 'a' }, { v: 'b', n: 2 }]));
    expect(extra).toBeInstanceOf(RangeError);
    expect((extra as Error).message).toContain('rows[1]');
    // A mismatch far into a later chunk is found too, and nothing is inserted.
    const late = Array.from({ length: 1500 }, (_, i): Record<string, SqlValue> => ({ v: `l${i}`, n: i }));
    late[1234] = { v: 'l1234', m: 1 };
    const lateError = await rejection(db.insertMany('t', late));
    expect(lateError).toBeInstanceOf(RangeError);
    expect((lateError as Error).message).toContain('rows[1234]');
    // Same keys in another order are fine.
    expect(await db.insertMany('t', [{ v: 'a', n: 1 }, { n: 2, v: 'b' }])).toBe(2);
    expect(await db.all('SELECT v, n FROM t ORDER BY n')).toEqual([
      { v: 'a', n: 1 },
      { v: 'b', n: 2 },
    ]);
  });

  it('a key named like an Object.prototype property (toString, constructor) is still a mismatch', async () => {
    for (const key of ['toString', 'constructor', 'hasOwnProperty']) {
      const error = await rejection(db.insertMany('t', [{ v: 'a', n: 1 }, { v: 'b', [key]: 2 }]));
      expect(error, key).toBeInstanceOf(RangeError);
      expect((error as Error).message, key).toContain('rows[1]');
    }
    expect(await count()).toBe(0);
  });

  it('an empty rows array resolves 0', async () => {
    expect(await db.insertMany('t', [])).toBe(0);
    expect(await count()).toBe(0);
  });

  it('is atomic: a constraint violation in the last chunk leaves nothing inserted', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => ({ v: `a${i}`, n: i }));
    rows[1199] = { v: 'a0', n: 1199 };
    const error = await rejection(db.insertMany('t', rows, { chunkSize: 500 }));
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(await count()).toBe(0);
    expect(await committedCount()).toBe(0);
  });

  it('rejects bad arguments', async () => {
    await expect(db.insertMany('' as never, [{ v: 'a' }])).rejects.toBeInstanceOf(TypeError);
    await expect(db.insertMany('t', 'rows' as never)).rejects.toBeInstanceOf(TypeError);
    await expect(db.insertMany('t', [{}])).rejects.toBeInstanceOf(RangeError);
    await expect(db.insertMany('t', [{ v: new Date() as never }])).rejects.toBeInstanceOf(TypeError);
    await expect(db.insertMany('t', [{ v: 'a' }], { chunkSize: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(db.insertMany('t', [{ v: 'a' }], { chunk: 5 } as never)).rejects.toBeInstanceOf(TypeError);
    expect(await count()).toBe(0);
  });
});
