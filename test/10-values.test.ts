// Covers the round trip of every value type: bound through run() (INSERT) or as a SELECT
// parameter, read back through get() and all(): TEXT (unicode, embedded NUL, empty), BLOB
// (empty, 16 MiB, Uint8Array views), INTEGER at the 64-bit limits with and without
// safeIntegers, REAL (0.1, -0, 1e308, ±Infinity; NaN refused), booleans, null/undefined; positional, numbered and
// named parameters; rowMode 'array'; empty results; and the bundled SQLite version.
import { beforeAll, describe, expect, it } from 'vitest';
import { Pool, type Row } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('values');
let db: Pool;
let big: Pool;

beforeAll(async () => {
  db = await pools.openAt(pools.file('values'), { readers: 2 });
  big = await pools.openAt(pools.file('bigint'), { readers: 2, safeIntegers: true });
  await db.exec('CREATE TABLE v (id INTEGER PRIMARY KEY, x)');
  await db.exec('CREATE TABLE r (id INTEGER PRIMARY KEY, x REAL)');
  await big.exec('CREATE TABLE v (id INTEGER PRIMARY KEY, x)');
});

/** Inserts `value` with run(), reads it back with get() and all(), and returns both reads. */
async function roundTrip(pool: Pool, value: unknown): Promise<{ viaGet: unknown; viaAll: unknown; type: unknown }> {
  const { lastInsertRowid, changes } = await pool.run('INSERT INTO v (x) VALUES (?)', [value as never]);
  expect(changes).toBe(1);
  const row = await pool.get<{ x: unknown; t: unknown }>('SELECT x, typeof(x) AS t FROM v WHERE id = ?', [lastInsertRowid]);
  const rows = await pool.all<{ x: unknown }>('SELECT x FROM v WHERE id = ?', [lastInsertRowid]);
  expect(row).toBeDefined();
  expect(rows).toHaveLength(1);
  return { viaGet: row!.x, viaAll: rows[0]!.x, type: row!.t };
}

describe('TEXT', () => {
  const samples: [string, string][] = [
    ['ascii', 'hello, world'],
    ['emoji (astral plane, surrogate pairs)', '😀👩‍👩‍👧‍👦🚀'],
    ['CJK', '漢字かなカナ한국어'],
    ['combining marks (not normalized)', 'e\u0301 a\u0308 Z\u0351\u0362\u0338'],
    ['mixed scripts', 'Ωmega – “quotes” – עברית – العربية'],
    ['latin-1 range', 'café ñ ü ß ÿ'],
    ['long non-ascii', 'ж'.repeat(100_000)],
  ];
  for (const [label, text] of samples) {
    it(`round trips ${label}`, async () => {
      const { viaGet, viaAll, type } = await roundTrip(db, text);
      expect(type).toBe('text');
      expect(viaGet).toBe(text);
      expect(viaAll).toBe(text);
    });
  }

  it('keeps an embedded NUL: a\\0b comes back with length 3', async () => {
    const { viaGet, viaAll, type } = await roundTrip(db, 'a\0b');
    expect(type).toBe('text');
    expect(viaGet).toBe('a\0b');
    expect((viaGet as string).length).toBe(3);
    expect(viaAll).toBe('a\0b');
    const length = await db.get<{ n: number }>('SELECT length(CAST(? AS BLOB)) AS n', ['a\0b']);
    expect(length).toEqual({ n: 3 });
  });

  it('keeps an embedded NUL in non-ascii text', async () => {
    const text = 'ü\0漢\0';
    const { viaGet } = await roundTrip(db, text);
    expect(viaGet).toBe(text);
  });

  it('round trips the empty string (not NULL)', async () => {
    const { viaGet, viaAll, type } = await roundTrip(db, '');
    expect(type).toBe('text');
    expect(viaGet).toBe('');
    expect(viaAll).toBe('');
  });

  it('binds text as a SELECT parameter directly', async () => {
    const text = '😀 漢字 e\u0301';
    expect(await db.get('SELECT ? AS t', [text])).toEqual({ t: text });
  });
});

describe('BLOB', () => {
  it('round trips an empty Buffer as an empty Buffer, not null', async () => {
    const { viaGet, viaAll, type } = await roundTrip(db, Buffer.alloc(0));
    expect(type).toBe('blob');
    expect(Buffer.isBuffer(viaGet)).toBe(true);
    expect((viaGet as Buffer).length).toBe(0);
    expect(Buffer.isBuffer(viaAll)).toBe(true);
    expect((viaAll as Buffer).length).toBe(0);
  });

  it('round trips a small Buffer with every byte value', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const { viaGet, viaAll, type } = await roundTrip(db, bytes);
    expect(type).toBe('blob');
    expect(Buffer.isBuffer(viaGet)).toBe(true);
    expect((viaGet as Buffer).equals(bytes)).toBe(true);
    expect((viaAll as Buffer).equals(bytes)).toBe(true);
  });

  it('round trips a 16 MiB blob byte for byte', async () => {
    const size = 16 * 1024 * 1024;
    const bytes = Buffer.allocUnsafe(size);
    // A deterministic, non-repeating-looking pattern (xorshift32).
    let state = 0x12345678;
    for (let i = 0; i < size; i += 4) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes.writeUInt32LE(state >>> 0, i);
    }
    const { viaGet, viaAll, type } = await roundTrip(db, bytes);
    expect(type).toBe('blob');
    expect(Buffer.isBuffer(viaGet)).toBe(true);
    expect((viaGet as Buffer).length).toBe(size);
    expect(Buffer.compare(viaGet as Buffer, bytes)).toBe(0);
    expect(Buffer.compare(viaAll as Buffer, bytes)).toBe(0);
  });

  it('accepts a Uint8Array parameter and returns a Buffer with its bytes', async () => {
    const array = new Uint8Array([0, 1, 2, 250, 255, 0]);
    const { viaGet, type } = await roundTrip(db, array);
    expect(type).toBe('blob');
    expect(Buffer.isBuffer(viaGet)).toBe(true);
    expect([...(viaGet as Buffer)]).toEqual([0, 1, 2, 250, 255, 0]);
  });

  it('binds only the bytes of a Uint8Array view with a byte offset', async () => {
    const backing = new Uint8Array([9, 9, 9, 1, 2, 3, 9, 9]);
    const view = backing.subarray(3, 6);
    const row = await db.get<{ b: Buffer; n: number }>('SELECT ? AS b, length(?) AS n', [view, view]);
    expect(row?.n).toBe(3);
    expect([...row!.b]).toEqual([1, 2, 3]);
  });

  it('binds an empty Uint8Array as an empty blob', async () => {
    const row = await db.get<{ t: string; n: number; b: Buffer }>('SELECT typeof(?1) AS t, length(?1) AS n, ?1 AS b', [new Uint8Array(0)]);
    expect(row?.t).toBe('blob');
    expect(row?.n).toBe(0);
    expect(Buffer.isBuffer(row?.b)).toBe(true);
    expect(row?.b.length).toBe(0);
  });

  it('returns zeroblob() as a Buffer of zeros', async () => {
    const row = await db.get<{ b: Buffer }>('SELECT zeroblob(5) AS b');
    expect(Buffer.isBuffer(row?.b)).toBe(true);
    expect([...row!.b]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('INTEGER with safeIntegers: true', () => {
  it('round trips 9223372036854775807n as a bigint', async () => {
    const { viaGet, viaAll, type } = await roundTrip(big, 9223372036854775807n);
    expect(type).toBe('integer');
    expect(viaGet).toBe(9223372036854775807n);
    expect(viaAll).toBe(9223372036854775807n);
  });

  it('round trips -9223372036854775808n as a bigint', async () => {
    const { viaGet, viaAll, type } = await roundTrip(big, -9223372036854775808n);
    expect(type).toBe('integer');
    expect(viaGet).toBe(-9223372036854775808n);
    expect(viaAll).toBe(-9223372036854775808n);
  });

  it('returns a plain number parameter as a bigint', async () => {
    const { viaGet, viaAll, type } = await roundTrip(big, 42);
    expect(type).toBe('integer');
    expect(viaGet).toBe(42n);
    expect(viaAll).toBe(42n);
    expect(await big.get('SELECT 1 AS one, -7 AS neg')).toEqual({ one: 1n, neg: -7n });
  });

  it('reports lastInsertRowid as a bigint', async () => {
    const result = await big.run('INSERT INTO v (x) VALUES (1)');
    expect(typeof result.lastInsertRowid).toBe('bigint');
    expect(result.changes).toBe(1);
  });

  it('still returns REAL columns as numbers', async () => {
    expect(await big.get('SELECT 0.5 AS x')).toEqual({ x: 0.5 });
  });
});

describe('INTEGER without safeIntegers', () => {
  it('returns safe integers as numbers', async () => {
    for (const value of [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      const { viaGet, viaAll, type } = await roundTrip(db, value);
      expect(type).toBe('integer');
      expect(viaGet).toBe(value);
      expect(viaAll).toBe(value);
    }
  });

  it('accepts a bigint parameter within the safe range and returns a number', async () => {
    const { viaGet, type } = await roundTrip(db, 12345678901234n);
    expect(type).toBe('integer');
    expect(viaGet).toBe(12345678901234);
  });

  it('rejects reading a value beyond 2^53 with a RangeError LITEPOOL_INTEGER_OVERFLOW', async () => {
    const { lastInsertRowid } = await db.run('INSERT INTO v (x) VALUES (?)', [2n ** 53n + 1n]);
    for (const read of [
      () => db.get('SELECT x FROM v WHERE id = ?', [lastInsertRowid]),
      () => db.all('SELECT x FROM v WHERE id = ?', [lastInsertRowid]),
      () => db.get('SELECT 9223372036854775807 AS x'),
      () => db.get('SELECT -9223372036854775808 AS x', [], { rowMode: 'array' }),
    ]) {
      const error = await read().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(RangeError);
      expect((error as { code?: unknown }).code).toBe('LITEPOOL_INTEGER_OVERFLOW');
    }
    // The pool still answers afterwards.
    expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
  });
});

describe('REAL', () => {
  it('round trips 0.1 as a REAL', async () => {
    const { viaGet, viaAll, type } = await roundTrip(db, 0.1);
    expect(type).toBe('real');
    expect(viaGet).toBe(0.1);
    expect(viaAll).toBe(0.1);
  });

  it('round trips 1e308 and -1.5e-300 as REALs', async () => {
    for (const value of [1e308, -1.5e-300, Number.MAX_VALUE, Number.MIN_VALUE]) {
      const { viaGet, type } = await roundTrip(db, value);
      expect(type).toBe('real');
      expect(viaGet).toBe(value);
    }
  });

  it('binds -0 as a REAL, so that its sign is kept', async () => {
    const row = await db.get<{ t: string; x: number }>('SELECT typeof(?1) AS t, ?1 AS x', [-0]);
    expect(row?.t).toBe('real');
    expect(Object.is(row?.x, -0)).toBe(true);
  });

  it('stores -0 in a REAL column as zero', async () => {
    const { lastInsertRowid } = await db.run('INSERT INTO r (x) VALUES (?)', [-0]);
    const row = await db.get<{ x: number; t: string }>('SELECT x, typeof(x) AS t FROM r WHERE id = ?', [lastInsertRowid]);
    expect(row?.t).toBe('real');
    expect(row?.x === 0).toBe(true);
  });

  it('returns a real-valued expression with a fractional part as a number', async () => {
    expect(await db.get('SELECT 2.5 * 2 AS a, 1.0 / 3 AS b')).toEqual({ a: 5, b: 1 / 3 });
  });

  it('refuses NaN with a RangeError (SQLite would silently store NULL)', async () => {
    await expect(db.get('SELECT ? AS x', [NaN])).rejects.toMatchObject({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });
  });

  it('round trips Infinity and -Infinity', async () => {
    expect((await roundTrip(db, Infinity)).viaGet).toBe(Infinity);
    expect((await roundTrip(db, -Infinity)).viaGet).toBe(-Infinity);
  });

  it('binds a number beyond 2^53 as a REAL', async () => {
    const row = await db.get<{ t: string; x: number }>('SELECT typeof(?1) AS t, ?1 AS x', [2 ** 60]);
    expect(row).toEqual({ t: 'real', x: 2 ** 60 });
  });
});

describe('booleans, null and undefined', () => {
  it('binds true as 1 and false as 0', async () => {
    const yes = await roundTrip(db, true);
    expect(yes.type).toBe('integer');
    expect(yes.viaGet).toBe(1);
    const no = await roundTrip(db, false);
    expect(no.type).toBe('integer');
    expect(no.viaGet).toBe(0);
  });

  it('binds null and undefined as NULL', async () => {
    for (const value of [null, undefined]) {
      const { viaGet, viaAll, type } = await roundTrip(db, value);
      expect(type).toBe('null');
      expect(viaGet).toBeNull();
      expect(viaAll).toBeNull();
    }
  });

  it('binds undefined as NULL in named parameters too', async () => {
    expect(await db.get('SELECT :a IS NULL AS missing, typeof(:a) AS t', { a: undefined })).toEqual({ missing: 1, t: 'null' });
  });
});

describe('parameters', () => {
  it('binds positional ? parameters in order', async () => {
    expect(await db.get('SELECT ? AS a, ? AS b, ? AS c', [1, 'two', 3.5])).toEqual({ a: 1, b: 'two', c: 3.5 });
  });

  it('binds numbered ?2 ?1 parameters by number', async () => {
    expect(await db.get('SELECT ?2 AS a, ?1 AS b', ['first', 'second'])).toEqual({ a: 'second', b: 'first' });
    expect(await db.get('SELECT ?1 AS a, ?1 AS b, ?2 AS c', ['x', 'y'])).toEqual({ a: 'x', b: 'x', c: 'y' });
  });

  it('binds :name, @name and $name from object keys without the prefix', async () => {
    expect(await db.get('SELECT :name AS v', { name: 'colon' })).toEqual({ v: 'colon' });
    expect(await db.get('SELECT @name AS v', { name: 'at' })).toEqual({ v: 'at' });
    expect(await db.get('SELECT $name AS v', { name: 'dollar' })).toEqual({ v: 'dollar' });
    expect(await db.get('SELECT :a AS a, @b AS b, $c AS c', { c: 3, a: 1, b: 2 })).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('binds a name used twice from one key', async () => {
    expect(await db.get('SELECT :v AS a, :v + 1 AS b', { v: 10 })).toEqual({ a: 10, b: 11 });
  });

  it('binds named parameters through run() (INSERT)', async () => {
    const { lastInsertRowid } = await db.run('INSERT INTO v (x) VALUES ($value)', { value: 'named insert' });
    expect(await db.get('SELECT x FROM v WHERE id = :id', { id: lastInsertRowid })).toEqual({ x: 'named insert' });
  });

  it('accepts an object with a null prototype', async () => {
    const params = Object.assign(Object.create(null) as Record<string, number>, { n: 5 });
    expect(await db.get('SELECT :n AS n', params)).toEqual({ n: 5 });
  });
});

describe('row shapes', () => {
  it('returns arrays with rowMode "array" for get', async () => {
    const row = await db.get('SELECT 1 AS a, ? AS b, NULL AS c', ['x'], { rowMode: 'array' });
    expect(row).toEqual([1, 'x', null]);
  });

  it('returns arrays with rowMode "array" for all', async () => {
    const rows = await db.all('SELECT value, value * 2 FROM json_each(?) ORDER BY value', ['[1,2,3]'], { rowMode: 'array' });
    expect(rows).toEqual([
      [1, 2],
      [2, 4],
      [3, 6],
    ]);
  });

  it('returns object rows keyed by column name, in column order', async () => {
    const row = await db.get<Row>('SELECT 1 AS z, 2 AS a, 3 AS m');
    expect(row).toEqual({ z: 1, a: 2, m: 3 });
    expect(Object.keys(row!)).toEqual(['z', 'a', 'm']);
  });

  it('get returns undefined when there is no row', async () => {
    expect(await db.get('SELECT x FROM v WHERE id = -1')).toBeUndefined();
    expect(await db.get('SELECT x FROM v WHERE id = -1', [], { rowMode: 'array' })).toBeUndefined();
  });

  it('all returns [] when there are no rows', async () => {
    expect(await db.all('SELECT x FROM v WHERE id = -1')).toEqual([]);
    expect(await db.all('SELECT x FROM v WHERE id = -1', [], { rowMode: 'array' })).toEqual([]);
  });

  it('all returns every row in order', async () => {
    const rows = await db.all<{ value: number }>(
      'WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 1000) SELECT value FROM s',
    );
    expect(rows).toHaveLength(1000);
    expect(rows.map((r) => r.value)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });
});

describe('SQLite version', () => {
  it('SELECT sqlite_version() equals Pool.sqliteVersion', async () => {
    const row = await db.get<{ v: string }>('SELECT sqlite_version() AS v');
    expect(typeof Pool.sqliteVersion).toBe('string');
    expect(row?.v).toBe(Pool.sqliteVersion);
  });

  it('is at least 3.51.3', () => {
    const parts = Pool.sqliteVersion.split('.').map(Number);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    const [major = 0, minor = 0, patch = 0] = parts;
    const encoded = major * 1_000_000 + minor * 1_000 + patch;
    expect(encoded).toBeGreaterThanOrEqual(3_051_003);
  });
});

describe('completion batches', () => {
  it('a result larger than the reused batch buffer (90,000 cells) arrives whole, and small ones still work after it', async () => {
    const cte = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)';
    const rows = await db.all<{ i: number; s: string; h: number | null }>(
      `${cte} SELECT i, 'row ' || i AS s, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 0.5 END AS h FROM n`,
    );
    expect(rows).toHaveLength(30_000);
    for (const k of [0, 1, 2, 29_999]) {
      const i = k + 1;
      expect(rows[k]).toEqual({ i, s: `row ${i}`, h: i % 3 === 0 ? null : i * 0.5 });
    }
    const small = await Promise.all(Array.from({ length: 50 }, (_, k) => db.get<{ v: number }>('SELECT ? + 1 AS v', [k])));
    expect(small.map((row) => row?.v)).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
  });

  it('5,000 distinct SQL texts at once (more than the addon keeps registered) each return their own value', async () => {
    const results = await Promise.all(
      Array.from({ length: 5000 }, (_, i) => db.get<{ v: number; s: string }>(`SELECT ${i} AS v, 'text ${i}' AS s`)),
    );
    results.forEach((row, i) => expect(row).toEqual({ v: i, s: `text ${i}` }));
    // Texts registered before the registry started over still run (they are registered again).
    expect(await db.get<{ v: number }>('SELECT 7 AS v')).toEqual({ v: 7 });
  });

  it('a SQL text longer than registered texts may be (a long script) runs as text', async () => {
    const padding = `/* ${'x'.repeat(10_000)} */`;
    expect(await db.get<{ v: number }>(`SELECT 42 AS v ${padding}`)).toEqual({ v: 42 });
  });
});
