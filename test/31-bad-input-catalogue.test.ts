// Covers the bad-input catalogue: a table of cases at the API boundary, each with the outcome it
// must have: a typed error (TypeError / RangeError with a stable `code`, SqliteError with its
// extended code, PoolClosedError), with the user's own error as `cause` when a getter or proxy of
// theirs threw, or an exact accepted result where the input is valid after all (frozen objects,
// well-formed surrogate pairs, ±Infinity, -0). The groups: invalid UTF-16 in SQL, parameters and
// names; NUL in SQL; strings and blobs at and past SQLite's length limit; 32,766 and 32,767
// parameters; NaN, ±Infinity and -0; sparse arrays; getters and proxies that throw or answer
// differently when read twice; frozen objects; objects with toJSON, class instances and other
// non-values; SQL with trailing garbage, several statements, and expressions nested past SQLite's
// depth limit; calls on a closed pool; methods called with a wrong `this`; options of wrong types.
// After every case the shared pool must still serve a read and a write; promise-returning methods
// must reject, never throw.
import { freemem, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LitepoolError, Pool, PoolClosedError, SqliteError, open } from '../lib/index.ts';

let dir: string;
let db: Pool;
let closed: Pool;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-catalogue-'));
  db = await open(join(dir, 'catalogue.db'), { readers: 2 });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, x)');
  await db.exec('CREATE TABLE r (v REAL)');
  closed = await open(join(dir, 'closed.db'), { readers: 1 });
  await closed.close();
});

afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  expect(await db.run('INSERT INTO t (name) VALUES (?)', ['still serving'])).toMatchObject({ changes: 1 });
});

type ErrorClass = abstract new (...args: never[]) => Error;

interface Refused {
  error: ErrorClass;
  code: string;
  /** The exact value the error's `cause` must be (the user's own error). */
  cause?: unknown;
  message?: RegExp;
}

interface Case {
  name: string;
  call: () => unknown;
  /** Either the error it must give, or a check of the value it must give. */
  refused?: Refused;
  accepted?: (value: unknown) => void;
  /** A synchronous method: it throws instead of rejecting. */
  throws?: boolean;
  /** Skipped (with the reason) when this returns a string. */
  skip?: () => string | undefined;
}

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';
const boom = new Error('boom: a getter of the caller threw');
const MAX_PARAMETERS = 32_766;
const MAX_LENGTH = 1_000_000_000;

const typeError = (code = 'LITEPOOL_INVALID_ARGUMENT', message?: RegExp): Refused => ({ error: TypeError, code, ...(message ? { message } : {}) });
const rangeError = (code = 'LITEPOOL_OUT_OF_RANGE', message?: RegExp): Refused => ({ error: RangeError, code, ...(message ? { message } : {}) });
const sqliteError = (code: string, message?: RegExp): Refused => ({ error: SqliteError, code, ...(message ? { message } : {}) });
const userCause = (cause: unknown): Refused => ({ error: TypeError, code: 'LITEPOOL_INVALID_ARGUMENT', cause });
const poolClosed: Refused = { error: PoolClosedError, code: 'LITEPOOL_POOL_CLOSED' };

const placeholders = (count: number) => `SELECT count(*) AS n FROM (VALUES ${Array.from({ length: count }, () => '(?)').join(', ')})`;
const needsMemory = (bytes: number) => () =>
  freemem() < bytes ? `needs ${Math.round(bytes / 2 ** 30)} GiB of free memory, ${Math.round(freemem() / 2 ** 30)} GiB free` : undefined;

/** A getter that answers `values` in turn, counting its reads. */
function shifting<T>(values: T[]): { reads: number; array: T[] } {
  const state = { reads: 0, array: [] as T[] };
  Object.defineProperty(state.array, 0, { get: () => values[Math.min(state.reads++, values.length - 1)], enumerable: true });
  return state;
}

/** A method detached from its class, to call with any `this`. */
const unbound = (method: Function) => method as (this: unknown, ...args: unknown[]) => unknown;

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const catalogue: Record<string, Case[]> = {
  'invalid UTF-16': [
    { name: 'a lone high surrogate in SQL (get)', call: () => db.get(`SELECT '${LONE_HIGH}' AS s`), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /lone surrogate/) },
    { name: 'a lone low surrogate in SQL (run)', call: () => db.run(`INSERT INTO t (name) VALUES ('${LONE_LOW}')`), refused: rangeError() },
    { name: 'a lone surrogate in exec() SQL', call: () => db.exec(`SELECT '${LONE_HIGH}'`), refused: rangeError() },
    { name: 'a lone surrogate in a batch statement', call: () => db.batch([{ sql: `INSERT INTO t (name) VALUES ('${LONE_LOW}x')` }]), refused: rangeError() },
    { name: 'a lone high surrogate in a positional parameter', call: () => db.get('SELECT ? AS s', [`a${LONE_HIGH}`]), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /parameter 1 .*lone surrogate/) },
    { name: 'a lone low surrogate ending a named parameter', call: () => db.get('SELECT :s AS s', { s: `abc${LONE_LOW}` }), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /parameter 's'/) },
    { name: 'a reversed surrogate pair (low then high)', call: () => db.get('SELECT ? AS s', [`${LONE_LOW}${LONE_HIGH}`]), refused: rangeError() },
    { name: 'a lone surrogate in a parameter name', call: () => db.get('SELECT 1', { [`k${LONE_HIGH}`]: 1 }), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /parameter name/) },
    { name: 'a lone surrogate in a write queue entry (push throws)', call: () => db.writeQueue().push('INSERT INTO t (name) VALUES (?)', [LONE_HIGH]), throws: true, refused: rangeError() },
    { name: 'a lone surrogate in an insertMany value', call: () => db.insertMany('t', [{ name: LONE_LOW }]), refused: rangeError() },
    { name: 'a lone surrogate in an insertMany column name', call: () => db.insertMany('t', [{ [`n${LONE_HIGH}`]: 1 }]), refused: rangeError() },
    { name: 'a well-formed surrogate pair round trips', call: () => db.get('SELECT ? AS s', ['\ud83d\ude00']), accepted: (row) => expect(row).toEqual({ s: '😀' }) },
  ],
  'NUL characters': [
    { name: 'NUL in SQL hiding a second statement', call: () => db.get('SELECT 1\0; DELETE FROM t'), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /NUL/) },
    { name: 'NUL inside a text parameter is kept', call: () => db.get('SELECT ? AS s, octet_length(?) AS n', ['a\0b', 'a\0b']), accepted: (row) => expect(row).toEqual({ s: 'a\0b', n: 3 }) },
  ],
  "SQLite's length limit (1,000,000,000 bytes)": [
    { name: 'zeroblob at the limit is accepted', call: () => db.get('SELECT length(zeroblob(1000000000)) AS n'), accepted: (row) => expect(row).toEqual({ n: MAX_LENGTH }) },
    { name: 'zeroblob past the limit: SQLITE_TOOBIG', call: () => db.get('SELECT zeroblob(1000000001) AS b'), refused: sqliteError('SQLITE_TOOBIG') },
    { name: 'a string built past the limit in SQL: SQLITE_TOOBIG', call: () => db.get("SELECT length(printf('%.*c', 1000000001, 'x')) AS n"), refused: sqliteError('SQLITE_TOOBIG') },
    {
      name: 'a bound blob one byte past the limit is refused before it is copied',
      call: async () => {
        const before = process.memoryUsage.rss();
        const result = db.get('SELECT length(?) AS n', [Buffer.alloc(MAX_LENGTH + 1)]);
        // The refusal copies nothing: the untouched allocation costs no resident memory.
        expect(process.memoryUsage.rss() - before).toBeLessThan(256 * 2 ** 20);
        return result;
      },
      refused: rangeError('LITEPOOL_OUT_OF_RANGE', /blob of 1000000001 bytes/),
    },
    {
      name: 'a bound blob at the limit is accepted',
      skip: needsMemory(4 * 2 ** 30),
      call: () => db.get('SELECT length(?) AS n', [Buffer.alloc(MAX_LENGTH)]),
      accepted: (row) => expect(row).toEqual({ n: MAX_LENGTH }),
    },
    {
      name: 'a bound string past the limit in UTF-8 bytes is refused',
      skip: needsMemory(4 * 2 ** 30),
      call: () => db.get('SELECT length(?) AS n', ['é'.repeat(MAX_LENGTH / 2 + 1)]),
      refused: rangeError('LITEPOOL_OUT_OF_RANGE', /1000000002 UTF-8 bytes/),
    },
  ],
  'parameter counts': [
    { name: '32,766 positional parameters (the limit) are accepted', call: () => db.get(placeholders(MAX_PARAMETERS), Array.from({ length: MAX_PARAMETERS }, (_, i) => i)), accepted: (row) => expect(row).toEqual({ n: MAX_PARAMETERS }) },
    { name: '32,767 values are refused before they reach SQLite', call: () => db.get(placeholders(MAX_PARAMETERS), Array.from({ length: MAX_PARAMETERS + 1 }, (_, i) => i)), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /32767 parameters/) },
    { name: 'a statement with 32,767 placeholders: SQLITE_ERROR', call: () => db.get(placeholders(MAX_PARAMETERS + 1), Array.from({ length: MAX_PARAMETERS }, (_, i) => i)), refused: sqliteError('SQLITE_ERROR', /too many SQL variables/) },
    { name: 'the numbered placeholder ?32767: SQLITE_ERROR', call: () => db.get('SELECT ?32767 AS x'), refused: sqliteError('SQLITE_ERROR') },
    { name: '32,767 named parameters are refused', call: () => db.get('SELECT 1', Object.fromEntries(Array.from({ length: MAX_PARAMETERS + 1 }, (_, i) => [`p${i}`, i]))), refused: rangeError() },
  ],
  'NaN, ±Infinity and -0': [
    { name: 'NaN as a positional parameter', call: () => db.get('SELECT ? AS x', [NaN]), refused: rangeError('LITEPOOL_OUT_OF_RANGE', /NaN/) },
    { name: 'NaN as a named parameter', call: () => db.run('INSERT INTO t (x) VALUES (:x)', { x: Number.NaN }), refused: rangeError() },
    { name: 'NaN in a batch', call: () => db.batch([{ sql: 'INSERT INTO t (x) VALUES (?)', params: [0 / 0] }]), refused: rangeError() },
    { name: 'NaN in insertMany', call: () => db.insertMany('t', [{ x: 1 }, { x: NaN }]), refused: rangeError() },
    { name: 'NaN in a write queue entry', call: () => db.writeQueue().enqueue('INSERT INTO t (x) VALUES (?)', [NaN]), refused: rangeError() },
    { name: 'Infinity round trips as a REAL', call: () => db.get('SELECT ? AS x, typeof(?) AS t', [Infinity, Infinity]), accepted: (row) => expect(row).toEqual({ x: Infinity, t: 'real' }) },
    { name: '-Infinity round trips as a REAL', call: () => db.get('SELECT ? AS x, typeof(?) AS t', [-Infinity, -Infinity]), accepted: (row) => expect(row).toEqual({ x: -Infinity, t: 'real' }) },
    {
      name: '-0 binds as a REAL and keeps its sign',
      call: () => db.get<{ x: number; t: string }>('SELECT ? AS x, typeof(?) AS t', [-0, -0]),
      accepted: (row) => {
        expect((row as { t: string }).t).toBe('real');
        expect(Object.is((row as { x: number }).x, -0)).toBe(true);
      },
    },
    {
      name: '-0 in a column without REAL affinity keeps its sign; a REAL column stores zero',
      call: async () => {
        const { lastInsertRowid } = await db.run('INSERT INTO t (x) VALUES (?)', [-0]);
        await db.run('INSERT INTO r (v) VALUES (?)', [-0]);
        return [await db.get<{ x: number }>('SELECT x FROM t WHERE id = ?', [lastInsertRowid]), await db.get<{ v: number }>('SELECT v FROM r')];
      },
      accepted: (rows) => {
        const [untyped, real] = rows as [{ x: number }, { v: number }];
        expect(Object.is(untyped.x, -0)).toBe(true);
        expect(Object.is(real.v, 0)).toBe(true);
      },
    },
  ],
  'sparse arrays': [
    // eslint-disable-next-line no-sparse-arrays
    { name: 'a hole in the middle', call: () => db.get('SELECT ?, ?, ?', [1, , 3]), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /parameter 2 is a hole/) },
    { name: 'new Array(2) (all holes)', call: () => db.get('SELECT ?, ?', new Array(2)), refused: typeError() },
    // eslint-disable-next-line no-sparse-arrays
    { name: 'a hole in a batch statement', call: () => db.batch([{ sql: 'SELECT ?, ?', params: [, 1] }]), refused: typeError() },
    { name: 'an explicit undefined binds NULL', call: () => db.get('SELECT ? AS x', [undefined]), accepted: (row) => expect(row).toEqual({ x: null }) },
    {
      name: 'extra non-index properties on the array are ignored',
      call: () => db.get('SELECT ? AS x', Object.assign([7], { extra: 'ignored' })),
      accepted: (row) => expect(row).toEqual({ x: 7 }),
    },
  ],
  'getters and proxies': [
    {
      name: 'an array element getter that throws',
      call: () => db.get('SELECT ?', Object.defineProperty([0], 0, { get: () => { throw boom; } })),
      refused: userCause(boom),
    },
    {
      name: 'a proxy array whose get trap throws',
      call: () => db.get('SELECT ?', new Proxy([1], { get: (target, key) => (key === '0' ? (() => { throw boom; })() : Reflect.get(target, key)) })),
      refused: userCause(boom),
    },
    {
      name: 'a proxy whose ownKeys trap throws (named parameters)',
      call: () => db.get('SELECT :a', new Proxy({ a: 1 }, { ownKeys: () => { throw boom; } })),
      refused: userCause(boom),
    },
    {
      name: 'a proxy whose getPrototypeOf trap throws',
      call: () => db.get('SELECT :a', new Proxy({ a: 1 }, { getPrototypeOf: () => { throw boom; } })),
      refused: userCause(boom),
    },
    {
      name: 'a revoked proxy as params',
      call: () => {
        const { proxy, revoke } = Proxy.revocable([1], {});
        revoke();
        return db.get('SELECT ?', proxy);
      },
      refused: { error: TypeError, code: 'LITEPOOL_INVALID_ARGUMENT', message: /could not be read/ },
    },
    {
      name: 'a named-parameter getter that throws',
      call: () => db.get('SELECT :a', Object.defineProperty({}, 'a', { get: () => { throw boom; }, enumerable: true })),
      refused: userCause(boom),
    },
    {
      name: 'a getter that throws something that is not an Error',
      call: () => db.get('SELECT ?', Object.defineProperty([0], 0, { get: () => { throw 'a string'; } })),
      refused: userCause('a string'),
    },
    {
      name: 'a getter that answers a number, then an object: the checked number is bound, read once',
      call: async () => {
        const state = shifting<unknown>([41, { not: 'a value' }, Symbol('later')]);
        const row = await db.get('SELECT ? AS x', state.array as never);
        return { row, reads: state.reads };
      },
      accepted: (value) => expect(value).toEqual({ row: { x: 41 }, reads: 1 }),
    },
    {
      name: 'a proxy array that answers a string, then a symbol: the checked string is bound',
      call: () => {
        let reads = 0;
        const proxy = new Proxy(['first'], { get: (target, key) => (key === '0' ? (reads++ === 0 ? 'first' : Symbol('second')) : Reflect.get(target, key)) });
        return db.get('SELECT ? AS x', proxy);
      },
      accepted: (row) => expect(row).toEqual({ x: 'first' }),
    },
    {
      name: 'an options object whose signal getter throws',
      call: () => db.get('SELECT 1', [], Object.defineProperty({}, 'signal', { get: () => { throw boom; }, enumerable: true })),
      refused: userCause(boom),
    },
    {
      name: 'options as a revoked proxy',
      call: () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return db.all('SELECT 1', [], proxy);
      },
      refused: typeError('LITEPOOL_INVALID_ARGUMENT', /could not be read/),
    },
    { name: 'a proxy of a Uint8Array as a value', call: () => db.get('SELECT ?', [new Proxy(new Uint8Array(4), {})]), refused: typeError() },
    { name: 'an object posing as a Uint8Array (Uint8Array.prototype)', call: () => db.get('SELECT ?', [Object.create(Uint8Array.prototype)]), refused: typeError() },
    {
      name: "a Uint8Array with its own byteLength getter: the real length is used",
      call: () => db.get('SELECT length(?) AS n', [Object.defineProperty(new Uint8Array(3), 'byteLength', { get: () => 2 ** 40 })]),
      accepted: (row) => expect(row).toEqual({ n: 3 }),
    },
  ],
  'frozen objects': [
    { name: 'a frozen params array', call: () => db.get('SELECT ? + ? AS s', Object.freeze([1, 2])), accepted: (row) => expect(row).toEqual({ s: 3 }) },
    { name: 'a frozen named-params object', call: () => db.get('SELECT :a AS a', Object.freeze({ a: 'x' })), accepted: (row) => expect(row).toEqual({ a: 'x' }) },
    { name: 'a sealed, non-extensible array', call: () => db.get('SELECT ? AS a', Object.preventExtensions(Object.seal([5]))), accepted: (row) => expect(row).toEqual({ a: 5 }) },
    { name: 'a frozen object as a value', call: () => db.get('SELECT ?', [Object.freeze({ a: 1 }) as never]), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /parameter 1 has an unsupported type/) },
    { name: 'a null-prototype named-params object', call: () => db.get('SELECT :a AS a', Object.assign(Object.create(null), { a: 9 })), accepted: (row) => expect(row).toEqual({ a: 9 }) },
  ],
  'toJSON, class instances and other non-values': [
    { name: 'an object with toJSON is never serialized', call: () => db.get('SELECT ?', [{ toJSON: () => 'json' } as never]), refused: typeError() },
    { name: 'a Date', call: () => db.get('SELECT ?', [new Date(0) as never]), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /Date/) },
    { name: 'a class instance as params', call: () => db.get('SELECT :x', new Point(1, 2) as never), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /params must be an array or a plain object/) },
    { name: 'a class instance as a value', call: () => db.get('SELECT ?', [new Point(1, 2) as never]), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /Point/) },
    { name: 'a Map as params', call: () => db.get('SELECT :a', new Map([['a', 1]]) as never), refused: typeError() },
    { name: 'a Number object', call: () => db.get('SELECT ?', [new Number(1) as never]), refused: typeError() },
    { name: 'a String object', call: () => db.get('SELECT ?', [new String('s') as never]), refused: typeError() },
    { name: 'a symbol', call: () => db.get('SELECT ?', [Symbol('s') as never]), refused: typeError() },
    { name: 'a function', call: () => db.get('SELECT ?', [(() => 1) as never]), refused: typeError() },
    { name: 'an Int16Array (only Uint8Array is a blob)', call: () => db.get('SELECT ?', [new Int16Array(2) as never]), refused: typeError() },
    { name: 'an ArrayBuffer', call: () => db.get('SELECT ?', [new ArrayBuffer(2) as never]), refused: typeError() },
    { name: 'a string as params', call: () => db.get('SELECT ?', 'abc' as never), refused: typeError() },
    { name: 'a Uint8Array as params', call: () => db.get('SELECT ?', new Uint8Array(1) as never), refused: typeError() },
  ],
  'SQL shape': [
    { name: 'trailing garbage after a statement', call: () => db.get('SELECT 1; garbage'), refused: rangeError('LITEPOOL_MISUSE') },
    { name: 'a syntax error at the end', call: () => db.get('SELECT 1 )'), refused: sqliteError('SQLITE_ERROR', /syntax error/) },
    { name: 'two statements to get()', call: () => db.get('SELECT 1; SELECT 2'), refused: rangeError('LITEPOOL_MISUSE', /more than one statement/) },
    { name: 'two statements to all()', call: () => db.all('SELECT 1; SELECT 2'), refused: rangeError('LITEPOOL_MISUSE') },
    { name: 'two statements to run()', call: () => db.run("INSERT INTO t (name) VALUES ('a'); DELETE FROM t"), refused: rangeError('LITEPOOL_MISUSE') },
    { name: 'one statement, then comments and semicolons', call: () => db.get('SELECT 1 AS one; -- done\n;;'), accepted: (row) => expect(row).toEqual({ one: 1 }) },
    { name: 'parentheses nested 1,500 deep (they add no depth to the expression tree)', call: () => db.get(`SELECT ${'('.repeat(1500)}1${')'.repeat(1500)} AS x`), accepted: (row) => expect(row).toEqual({ x: 1 }) },
    { name: 'function calls nested 1,500 deep', call: () => db.get(`SELECT ${'abs('.repeat(1500)}1${')'.repeat(1500)} AS x`), refused: sqliteError('SQLITE_ERROR', /too large|depth|recursion/i) },
    { name: 'an expression 5,000 operators deep', call: () => db.get(`SELECT ${Array.from({ length: 5000 }, () => '1').join(' + ')} AS x`), refused: sqliteError('SQLITE_ERROR', /too large|depth|recursion/i) },
    { name: 'a megabyte of comments around one statement', call: () => db.get(`${'/* padding */ '.repeat(80_000)}SELECT 2 AS two`), accepted: (row) => expect(row).toEqual({ two: 2 }) },
    { name: 'only a comment', call: () => db.get('-- nothing'), refused: rangeError('LITEPOOL_MISUSE') },
  ],
  'a closed pool': [
    { name: 'get()', call: () => closed.get('SELECT 1'), refused: poolClosed },
    { name: 'run()', call: () => closed.run('SELECT 1'), refused: poolClosed },
    { name: 'batch()', call: () => closed.batch([{ sql: 'SELECT 1' }]), refused: poolClosed },
    { name: 'transaction()', call: () => closed.transaction(async () => 1), refused: poolClosed },
    { name: 'read()', call: () => closed.read(async () => 1), refused: poolClosed },
    { name: 'acquire()', call: () => closed.acquire(), refused: poolClosed },
    { name: 'insertMany()', call: () => closed.insertMany('t', [{ a: 1 }]), refused: poolClosed },
    { name: 'iterate() (on the first next())', call: () => closed.iterate('SELECT 1').next(), refused: poolClosed },
    { name: 'writeQueue() throws', call: () => closed.writeQueue(), throws: true, refused: poolClosed },
  ],
  'a wrong this': [
    { name: 'Pool.prototype.get.call({})', call: () => unbound(Pool.prototype.get).call({}, 'SELECT 1'), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /not on a Pool/) },
    { name: 'Pool.prototype.all.call(undefined)', call: () => unbound(Pool.prototype.all).call(undefined, 'SELECT 1'), refused: typeError() },
    { name: 'Pool.prototype.run.call(null)', call: () => Pool.prototype.run.call(null as never, 'SELECT 1'), refused: typeError() },
    { name: 'exec on an object made from Pool.prototype', call: () => Pool.prototype.exec.call(Object.create(Pool.prototype) as never, 'SELECT 1'), refused: typeError() },
    { name: 'transaction on {}', call: () => Pool.prototype.transaction.call({} as never, async () => 1), refused: typeError() },
    { name: 'batch on {}', call: () => Pool.prototype.batch.call({} as never, [{ sql: 'SELECT 1' }]), refused: typeError() },
    { name: 'iterate on {} (on the first next())', call: () => (unbound(Pool.prototype.iterate).call({}, 'SELECT 1') as AsyncGenerator).next(), refused: typeError() },
    { name: 'close on {}', call: () => Pool.prototype.close.call({} as never), refused: typeError() },
    { name: 'stats on {} throws', call: () => Pool.prototype.stats.call({} as never), throws: true, refused: typeError() },
    { name: 'writeQueue on {} throws', call: () => Pool.prototype.writeQueue.call({} as never), throws: true, refused: typeError() },
    { name: 'the path getter on {} throws', call: () => Object.getOwnPropertyDescriptor(Pool.prototype, 'path')!.get!.call({}), throws: true, refused: typeError() },
  ],
  'options of wrong types': [
    { name: "get(sql, params, 'array')", call: () => db.get('SELECT 1', [], 'array' as never), refused: typeError() },
    { name: 'rowMode: 1', call: () => db.all('SELECT 1', [], { rowMode: 1 as never }), refused: typeError() },
    { name: "timeout: '5'", call: () => db.get('SELECT 1', [], { timeout: '5' as never }), refused: typeError() },
    { name: 'timeout: NaN', call: () => db.get('SELECT 1', [], { timeout: NaN }), refused: rangeError() },
    { name: 'timeout: Infinity', call: () => db.run('SELECT 1', [], { timeout: Infinity }), refused: rangeError() },
    { name: 'signal: an AbortController', call: () => db.get('SELECT 1', [], { signal: new AbortController() as never }), refused: typeError() },
    { name: 'options: []', call: () => db.get('SELECT 1', [], [] as never), refused: typeError() },
    { name: 'open(): readers: 2n', call: () => open(join(dir, 'x.db'), { readers: 2n as never }), refused: typeError() },
    { name: "open(): a pragma name that is not one ('x; DROP')", call: () => open(join(dir, 'x.db'), { pragmas: { 'x; DROP': 1 } }), refused: rangeError() },
    { name: 'open(): a path that is a number', call: () => open(42 as never), refused: typeError() },
    { name: 'open(): a path with NUL', call: () => open(join(dir, 'a\0b.db')), refused: rangeError() },
    { name: "open(): faultInjection on a release build is an unknown option", call: () => open(join(dir, 'x.db'), { faultInjection: true } as never), refused: typeError('LITEPOOL_INVALID_ARGUMENT', /unknown option/) },
    { name: "writeQueue({ capacity: '10' }) throws", call: () => db.writeQueue({ capacity: '10' as never }), throws: true, refused: typeError() },
    { name: "transaction behavior 'IMMEDIATE'", call: () => db.transaction(async () => 1, { behavior: 'IMMEDIATE' as never }), refused: rangeError() },
    { name: "acquire({ write: 'yes' })", call: () => db.acquire({ write: 'yes' as never }), refused: typeError() },
    { name: 'insertMany chunkSize: 0', call: () => db.insertMany('t', [{ x: 1 }], { chunkSize: 0 }), refused: rangeError() },
    { name: 'batch(): not an array', call: () => db.batch({ sql: 'SELECT 1' } as never), refused: typeError() },
  ],
};

/** Runs a case's call: whether it threw synchronously, and what it resolved or rejected with. */
async function outcome(call: () => unknown): Promise<{ threw: boolean; ok: boolean; value: unknown }> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { threw: true, ok: false, value: error };
  }
  try {
    return { threw: false, ok: true, value: await result };
  } catch (error) {
    return { threw: false, ok: false, value: error };
  }
}

const total = Object.values(catalogue).reduce((sum, group) => sum + group.length, 0);

describe('the bad-input catalogue', () => {
  it('has at least 60 cases', () => {
    expect(total).toBeGreaterThanOrEqual(60);
  });

  for (const [group, cases] of Object.entries(catalogue)) {
    describe(group, () => {
      for (const entry of cases) {
        it(entry.name, async (context) => {
          const reason = entry.skip?.();
          if (reason) {
            console.warn(`skipping '${entry.name}': ${reason}`);
            context.skip();
          }
          const result = await outcome(entry.call);
          expect(result.threw, entry.throws ? 'a synchronous method throws' : 'a promise-returning method rejects, never throws').toBe(Boolean(entry.throws));
          if (entry.accepted) {
            if (!result.ok) throw result.value;
            entry.accepted(result.value);
            return;
          }
          const refused = entry.refused!;
          expect(result.ok, `expected ${refused.error.name} ${refused.code}`).toBe(false);
          const error = result.value as Error & { code?: string; cause?: unknown };
          expect(error).toBeInstanceOf(refused.error);
          expect(error.code, error.message).toBe(refused.code);
          if (refused.error === SqliteError || refused.error === PoolClosedError) expect(error).toBeInstanceOf(LitepoolError);
          if (refused.message) expect(error.message).toMatch(refused.message);
          if ('cause' in refused) expect(error.cause).toBe(refused.cause);
        }, 60_000);
      }
    });
  }
});
