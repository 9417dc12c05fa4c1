// Covers db.insertMany as the writer thread runs it (InsertRows blocks): every kind of value
// stored exactly as db.run stores the same row (integers, -0, unsafe integers, Infinity, bigints
// at the 64-bit limits, booleans, null and undefined, empty and non-ASCII strings with astral
// characters, short and long strings, Buffers, Uint8Array views with an offset, empty blobs), in
// one block and across blocks and groups; the value errors db.run gives (NaN, a bigint out of
// range, a lone surrogate, a Date) as typed errors naming the row and key, with nothing inserted;
// a failing row far into the insert (row 500,001 of 1,000,000) naming its row and leaving the
// table unchanged; table ON CONFLICT clauses applied row by row; chunkSize checked; an abort
// between blocks rolling everything back; the pool's writes waiting for insertMany and the
// writer free afterwards.
import { beforeEach, describe, expect, it } from 'vitest';
import { SqliteError, type Pool, type SqlValue } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('insert-many');
let db: Pool;

beforeEach(async () => {
  db = await pools.fresh({ readers: 2 }, 'CREATE TABLE a (x, y, z); CREATE TABLE b (x, y, z)');
});

/** Every stored value with its SQLite type, in rowid order. */
async function stored(table: string): Promise<unknown[]> {
  const columns = ['x', 'y', 'z'].map((c) => `typeof(${c}), quote(${c}), hex(${c}), CASE WHEN typeof(${c}) = 'real' THEN ${c} END`).join(', ');
  return db.all(`SELECT rowid, ${columns} FROM ${table} ORDER BY rowid`, undefined, { rowMode: 'array' });
}

const astral = 'snow ☃, face 😀, été';
const long = `${'long text '.repeat(500)}${astral}`;
const view = new Uint8Array(new Uint8Array([9, 8, 7, 6, 5]).buffer, 1, 3);

/** One row of every kind of value db.run takes (three columns). */
const samples: Record<string, SqlValue | undefined>[] = [
  { x: 0, y: -0, z: 1.5 },
  { x: 2 ** 53 - 1, y: 2 ** 53, z: -(2 ** 53) - 2 },
  { x: Infinity, y: -Infinity, z: Number.MIN_VALUE },
  { x: 2n ** 63n - 1n, y: -(2n ** 63n), z: 0n },
  { x: true, y: false, z: null },
  { x: undefined, y: '', z: astral },
  { x: long, y: 'a', z: '\u0000 after nul' },
  { x: Buffer.from([0, 1, 255]), y: new Uint8Array(0), z: view },
  { x: -1, y: 1e300, z: 'x'.repeat(49) },
];

describe('insertMany stores what db.run stores', () => {
  it('every kind of value, in one block', async () => {
    for (const row of samples) await db.run('INSERT INTO a (x, y, z) VALUES (:x, :y, :z)', row as Record<string, SqlValue>);
    expect(await db.insertMany('b', samples as Record<string, SqlValue>[])).toBe(samples.length);
    expect(await stored('b')).toEqual(await stored('a'));
  });

  it('every kind of value, across blocks and groups of rows (chunkSize 100, 1,000 rows)', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => samples[(i * 7) % samples.length]!);
    for (const row of rows) await db.run('INSERT INTO a (x, y, z) VALUES (:x, :y, :z)', row as Record<string, SqlValue>);
    expect(await db.insertMany('b', rows as Record<string, SqlValue>[], { chunkSize: 100 })).toBe(1000);
    expect(await stored('b')).toEqual(await stored('a'));
    // And as chunks of one row each, and as one big block.
    await db.exec('DELETE FROM b');
    expect(await db.insertMany('b', rows.slice(0, 50) as Record<string, SqlValue>[], { chunkSize: 1 })).toBe(50);
    expect(await db.insertMany('b', rows.slice(50) as Record<string, SqlValue>[], { chunkSize: 1_000_000 })).toBe(950);
    const a = await stored('a');
    const b = await stored('b');
    expect(b.map((row) => (row as unknown[]).slice(1))).toEqual(a.map((row) => (row as unknown[]).slice(1)));
  });

  it('rows whose keys come in another order, and a key holding undefined', async () => {
    const rows = [{ x: 1, y: 2, z: 3 }, { z: 6, y: 5, x: 4 }, { y: undefined, x: 7, z: 9 }];
    expect(await db.insertMany('b', rows)).toBe(3);
    expect(await db.all('SELECT x, y, z FROM b ORDER BY rowid', undefined, { rowMode: 'array' })).toEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, null, 9],
    ]);
  });
});

describe('insertMany refuses what db.run refuses, naming the row and key', () => {
  const cases: { name: string; value: unknown; type: typeof TypeError | typeof RangeError }[] = [
    { name: 'NaN', value: NaN, type: RangeError },
    { name: 'a bigint above the 64-bit range', value: 2n ** 63n, type: RangeError },
    { name: 'a bigint below the 64-bit range', value: -(2n ** 63n) - 1n, type: RangeError },
    { name: 'a lone surrogate in a short string', value: 'ab\uD800', type: RangeError },
    { name: 'a lone surrogate in a long string', value: `${'x'.repeat(100)}\uDC00`, type: RangeError },
    { name: 'a Date', value: new Date(0), type: TypeError },
    { name: 'a plain object', value: { a: 1 }, type: TypeError },
    { name: 'a symbol', value: Symbol('s'), type: TypeError },
    { name: 'a function', value: () => 1, type: TypeError },
    { name: 'a Uint16Array', value: new Uint16Array(2), type: TypeError },
  ];
  for (const { name, value, type } of cases) {
    it(name, async () => {
      const rows: Record<string, unknown>[] = Array.from({ length: 20_000 }, (_, i) => ({ x: i, y: 'ok', z: null }));
      rows[15_000] = { x: 1, y: value, z: null };
      const error = await rejection(db.insertMany('b', rows as Record<string, SqlValue>[], { chunkSize: 1000 }));
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toContain("'y' of rows[15000]");
      // What db.run says about the same value.
      const direct = await rejection(db.run('INSERT INTO a (y) VALUES (?)', [value as SqlValue]));
      expect(direct).toBeInstanceOf(type);
      expect(await db.get('SELECT count(*) AS n FROM b')).toEqual({ n: 0 });
    });
  }

  it('a row that is not a plain object, or has other keys, far into the rows', async () => {
    const rows: unknown[] = Array.from({ length: 30_000 }, (_, i) => ({ x: i, y: 1, z: 2 }));
    rows[25_000] = [1, 2, 3];
    const array = await rejection(db.insertMany('b', rows as Record<string, SqlValue>[]));
    expect(array).toBeInstanceOf(TypeError);
    expect((array as Error).message).toContain('rows[25000]');
    rows[25_000] = { x: 1, y: 2 };
    const missing = await rejection(db.insertMany('b', rows as Record<string, SqlValue>[]));
    expect(missing).toBeInstanceOf(RangeError);
    expect((missing as Error).message).toContain('rows[25000]');
    rows[25_000] = Object.assign(Object.create({ z: 2 }) as object, { x: 1, y: 2 });
    const inherited = await rejection(db.insertMany('b', rows as Record<string, SqlValue>[]));
    expect(inherited).toBeInstanceOf(TypeError);
    expect((inherited as Error).message).toContain('rows[25000]');
    expect(await db.get('SELECT count(*) AS n FROM b')).toEqual({ n: 0 });
  });

  it('chunkSize must be an integer from 1 to 1,000,000', async () => {
    for (const chunkSize of [0, -1, 1.5, 1_000_001, NaN]) {
      await expect(db.insertMany('b', [{ x: 1 }], { chunkSize })).rejects.toBeInstanceOf(RangeError);
    }
    await expect(db.insertMany('b', [{ x: 1 }], { chunkSize: '10' as never })).rejects.toBeInstanceOf(TypeError);
    expect(await db.get('SELECT count(*) AS n FROM b')).toEqual({ n: 0 });
  });
});

describe('insertMany is all or nothing', () => {
  it('a constraint violation in row 500,001 of 1,000,000 leaves the table unchanged and names the row', async () => {
    await db.exec('CREATE TABLE u (k INTEGER NOT NULL UNIQUE, name TEXT)');
    await db.run("INSERT INTO u (k, name) VALUES (-1, 'before')");
    const rows = Array.from({ length: 1_000_000 }, (_, i) => ({ k: i, name: `row ${i}` }));
    rows[500_001] = { k: 17, name: 'duplicate' };
    const error = await rejection(db.insertMany('u', rows));
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((error as SqliteError).message).toMatch(/^rows\[500001\]: UNIQUE constraint failed/);
    expect(await db.all('SELECT k, name FROM u')).toEqual([{ k: -1, name: 'before' }]);
    // The writer is free and the table takes the same rows once the duplicate is gone.
    rows[500_001] = { k: 500_001, name: 'row 500001' };
    expect(await db.insertMany('u', rows)).toBe(1_000_000);
    expect(await db.get('SELECT count(*) AS n, sum(k) AS s FROM u')).toEqual({ n: 1_000_001, s: (999_999 * 1_000_000) / 2 - 1 });
  }, 120_000);

  it('in a single block too (its own transaction on the writer)', async () => {
    await db.exec('CREATE TABLE u (k INTEGER UNIQUE)');
    const error = await rejection(db.insertMany('u', [{ k: 1 }, { k: 2 }, { k: 1 }]));
    expect((error as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((error as Error).message).toMatch(/^rows\[2\]: /);
    expect(await db.get('SELECT count(*) AS n FROM u')).toEqual({ n: 0 });
  });

  it("applies the table's ON CONFLICT clauses row by row, as single INSERTs would", async () => {
    await db.exec('CREATE TABLE ig (k INTEGER UNIQUE ON CONFLICT IGNORE, v); CREATE TABLE rp (k INTEGER PRIMARY KEY ON CONFLICT REPLACE, v)');
    const rows = Array.from({ length: 1000 }, (_, i) => ({ k: i % 300, v: i }));
    expect(await db.insertMany('ig', rows, { chunkSize: 250 })).toBe(300);
    expect(await db.get('SELECT count(*) AS n, sum(v) AS s FROM ig')).toEqual({ n: 300, s: (299 * 300) / 2 });
    expect(await db.insertMany('rp', rows, { chunkSize: 250 })).toBe(1000);
    expect(await db.get('SELECT count(*) AS n, sum(v) AS s FROM rp')).toEqual({ n: 300, s: (999 * 1000) / 2 - (699 * 700) / 2 });
  });

  it('an abort between blocks rolls every block back', async () => {
    const controller = new AbortController();
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ x: i, y: 'v', z: null }));
    const pending = db.insertMany('b', rows, { chunkSize: 1000, signal: controller.signal });
    setImmediate(() => controller.abort(new Error('stop')));
    const error = await rejection(pending);
    expect((error as Error).message).toBe('stop');
    expect(await db.get('SELECT count(*) AS n FROM b')).toEqual({ n: 0 });
    await db.run('INSERT INTO b (x) VALUES (1)');
    expect(await db.get('SELECT count(*) AS n FROM b')).toEqual({ n: 1 });
  });

  it('writes from outside wait for it and never land in its transaction', async () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ x: i, y: null, z: null }));
    const order: string[] = [];
    const many = db.insertMany('b', rows, { chunkSize: 5000 }).then((n) => {
      order.push('many');
      return n;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const single = db.run('INSERT INTO b (x) VALUES (-1)').then(() => order.push('single'));
    await Promise.all([many, single]);
    expect(order).toEqual(['many', 'single']);
    expect(await db.get('SELECT max(rowid) AS last, x FROM b')).toEqual({ last: 100_001, x: -1 });
  });
});
