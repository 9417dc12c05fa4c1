// Covers hostile values handed to the API where an argument or an option is read: a proxy whose
// traps throw, a revoked proxy, an object whose `constructor` getter throws and one whose
// constructor's name cannot be printed, each given in a wrong-typed argument or option at every
// kind of entry point (open() and its path and options, a per-call option, the SQL text, a write
// queue's options and entries, transaction and lease options, maintenance methods, the schema
// helpers, migrate options). Each gives a TypeError LITEPOOL_INVALID_ARGUMENT naming the argument,
// with what the caller's code threw as `cause` when litepool was reading the value, never a raw
// error. An options object holds its options as own properties: a Map, a Date, an object inheriting them... is refused rather than
// its entries silently ignored. Also: the schema helpers' defaults and column lists (bigints past
// 64 bits, proxies of blobs, holes), and lone surrogates in file paths. After every refused call
// the shared pool still serves a read and a write.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LitepoolError, Pool, open } from '../lib/index.ts';

let dir: string;
let db: Pool;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-hostile-'));
  db = await open(join(dir, 'hostile.db'), { readers: 1 });
  await db.exec('CREATE TABLE t (a, b)');
});

afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  expect(await db.run('INSERT INTO t (a) VALUES (?)', ['still serving'])).toMatchObject({ changes: 1 });
});

const boom = new Error('boom: the caller threw');
const thrower = (): never => {
  throw boom;
};

/** A hostile value, and how to tell what it throws when litepool reads it. */
interface Hostile {
  name: string;
  make: () => unknown;
  /** Checks a `cause`, when litepool read the value and it threw. */
  isItsCause: (cause: unknown) => boolean;
}

const hostile: Hostile[] = [
  {
    name: 'a proxy whose every trap throws',
    make: () => new Proxy({}, { get: thrower, getPrototypeOf: thrower, ownKeys: thrower, has: thrower, getOwnPropertyDescriptor: thrower }),
    isItsCause: (cause) => cause === boom,
  },
  {
    name: 'a revoked proxy',
    make: () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    },
    isItsCause: (cause) => cause instanceof TypeError && /revoked/.test(cause.message) && !(cause instanceof LitepoolError),
  },
  {
    name: 'an object whose constructor getter throws',
    make: () => Object.defineProperty({}, 'constructor', { get: thrower, enumerable: true }),
    isItsCause: (cause) => cause === boom,
  },
  {
    name: "an object whose constructor's name cannot be printed",
    make: () => ({ constructor: Object.defineProperty(function named() {}, 'name', { value: { toString: thrower } }) }),
    isItsCause: (cause) => cause === boom,
  },
];

/** An entry point: `call` hands it the value; `names` must appear in the message. */
interface Entry {
  name: string;
  call: (value: unknown) => unknown;
  names: RegExp;
  /** A synchronous method: it throws instead of rejecting. */
  throws?: boolean;
  /** Reads into the value (its keys, its prototype): a proxy's trap runs and what it throws is the cause. */
  reads?: boolean;
}

const anyPath = () => join(dir, `never-${Math.random().toString(36).slice(2)}.db`);

const entries: Entry[] = [
  { name: 'open() path', call: (v) => open(v as string), names: /\bpath\b/ },
  { name: 'open() options', call: (v) => open(anyPath(), v as never), names: /option/, reads: true },
  { name: 'open() readers', call: (v) => open(anyPath(), { readers: v as number }), names: /\breaders\b/ },
  { name: 'open() pragmas', call: (v) => open(anyPath(), { pragmas: v as never }), names: /\bpragmas\b/, reads: true },
  { name: 'open() retry', call: (v) => open(anyPath(), { retry: v as never }), names: /\bretry\b/, reads: true },
  { name: 'open() walMonitor', call: (v) => open(anyPath(), { walMonitor: v as never }), names: /\bwalMonitor\b/, reads: true },
  { name: 'open() migrations', call: (v) => open(anyPath(), { migrations: v as never }), names: /\bmigrations\b/, reads: true },
  { name: 'get() sql', call: (v) => db.get(v as string), names: /\bsql\b/ },
  { name: 'exec() sql', call: (v) => db.exec(v as string), names: /\bsql\b/ },
  { name: 'get() options', call: (v) => db.get('SELECT 1', [], v as never), names: /option/, reads: true },
  { name: 'get() timeout', call: (v) => db.get('SELECT 1', [], { timeout: v as number }), names: /\btimeout\b/ },
  { name: 'run() signal', call: (v) => db.run('SELECT 1', [], { signal: v as AbortSignal }), names: /\bsignal\b/, reads: true },
  { name: 'iterate() rowMode', call: (v) => db.iterate('SELECT 1', [], { rowMode: v as never })[Symbol.asyncIterator]().next(), names: /\browMode\b/ },
  { name: 'batch() statements', call: (v) => db.batch(v as never), names: /batch\(\)/ },
  { name: 'transaction() fn', call: (v) => db.transaction(v as never), names: /transaction\(\) takes a function/ },
  { name: 'transaction() options', call: (v) => db.transaction(async () => 1, v as never), names: /option/, reads: true },
  { name: 'transaction() behavior', call: (v) => db.transaction(async () => 1, { behavior: v as never }), names: /\bbehavior\b/ },
  {
    name: 'tx.transaction() fn (nested)',
    call: (v) => db.transaction(async (tx) => tx.transaction(v as never)),
    names: /transaction\(\) takes a function/,
  },
  { name: 'read() options', call: (v) => db.read(async () => 1, v as never), names: /option/, reads: true },
  { name: 'acquire() signal', call: (v) => db.acquire({ signal: v as AbortSignal }), names: /\bsignal\b/, reads: true },
  {
    name: 'lease.get() sql',
    call: async (v) => {
      const lease = await db.acquire();
      try {
        return await lease.get(v as string);
      } finally {
        await lease.release();
      }
    },
    names: /\bsql\b/,
  },
  { name: 'insertMany() rows', call: (v) => db.insertMany('t', v as never), names: /\brows\b/ },
  { name: 'insertMany() options', call: (v) => db.insertMany('t', [{ a: 1 }], v as never), names: /option/, reads: true },
  { name: 'writeQueue() options', call: (v) => db.writeQueue(v as never), names: /option/, throws: true, reads: true },
  { name: 'writeQueue() overflow', call: (v) => db.writeQueue({ overflow: v as never }), names: /\boverflow\b/, throws: true, reads: true },
  { name: 'writeQueue() capacity', call: (v) => db.writeQueue({ capacity: v as number }), names: /\bcapacity\b/, throws: true },
  { name: 'queue.push() sql', call: (v) => db.writeQueue().push(v as string), names: /\bsql\b/, throws: true },
  { name: 'queue.enqueue() sql', call: (v) => db.writeQueue().enqueue(v as string), names: /\bsql\b/ },
  { name: 'checkpoint() mode', call: (v) => db.checkpoint(v as never), names: /\bmode\b/ },
  { name: 'backup() dest', call: (v) => db.backup(v as string), names: /\bdest\b/ },
  { name: 'backup() options', call: (v) => db.backup(join(dir, 'never-backup.db'), v as never), names: /option/, reads: true },
  { name: 'vacuumInto() dest', call: (v) => db.vacuumInto(v as string), names: /\bdest\b/ },
  { name: 'integrityCheck() options', call: (v) => db.integrityCheck(v as never), names: /option/, reads: true },
  { name: 'vacuum() options', call: (v) => db.vacuum(v as never), names: /option/, reads: true },
  { name: 'ping() options', call: (v) => db.ping(v as never), names: /option/, reads: true },
  { name: 'schema.columns() table', call: (v) => db.schema.columns(v as string), names: /\btable\b/ },
  { name: 'schema.createIndex() columns', call: (v) => db.schema.createIndex('t', v as never), names: /\bcolumns\b/ },
  { name: 'schema.createIndex() a column', call: (v) => db.schema.createIndex('t', [v as never]), names: /\bcolumns\[0\]/ },
  { name: 'schema.addColumn() type', call: (v) => db.schema.addColumn('t', 'c', v as string), names: /\btype\b/ },
  { name: 'schema.addColumn() default', call: (v) => db.schema.addColumn('t', 'c', 'TEXT', { default: v as never }), names: /\bdefault\b/ },
  { name: 'migrate() options', call: (v) => db.migrate(v as never), names: /option/, reads: true },
  { name: 'migrate() dir', call: (v) => db.migrate({ dir: v as string }), names: /\bdir\b/ },
  { name: 'migrate() migrations', call: (v) => db.migrate({ migrations: v as never }), names: /\bmigrations\b/ },
  { name: 'migrate() signal', call: (v) => db.migrate({ dir: dir, signal: v as AbortSignal }), names: /\bsignal\b/, reads: true },
  { name: 'migrations.status() options', call: (v) => db.migrations.status(v as never), names: /option/, reads: true },
];

/** What `call` gave: a rejection's reason, or a synchronous throw (for the synchronous methods). */
async function failure(entry: Entry, value: unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = entry.call(value);
  } catch (error) {
    expect(entry.throws, `${entry.name} threw instead of rejecting`).toBe(true);
    return error;
  }
  expect(entry.throws ?? false, `${entry.name} returned instead of throwing`).toBe(false);
  expect(result).toBeInstanceOf(Promise);
  try {
    await result;
  } catch (error) {
    return error;
  }
  throw new Error(`${entry.name} accepted the value`);
}

function expectInvalidArgument(error: unknown, names: RegExp): asserts error is TypeError & { code: string } {
  expect(error).toBeInstanceOf(TypeError);
  expect(error).toBeInstanceOf(LitepoolError);
  expect((error as { code?: string }).code).toBe('LITEPOOL_INVALID_ARGUMENT');
  expect((error as Error).message).toMatch(names);
}

describe('hostile values in a wrong-typed argument or option', () => {
  const cases = hostile.flatMap((value) => entries.map((entry) => ({ label: `${value.name} as ${entry.name}`, value, entry })));

  it.each(cases)('$label: a TypeError LITEPOOL_INVALID_ARGUMENT naming it', async ({ value, entry }) => {
    const error = await failure(entry, value.make());
    expectInvalidArgument(error, entry.names);
    // The cause, when there is one, is what the caller's code threw while litepool read the value.
    const { cause } = error as { cause?: unknown };
    if (cause !== undefined) expect(value.isItsCause(cause), `cause: ${String(cause)}`).toBe(true);
  });

  it('gives what a proxy threw while it was read as the cause', async () => {
    const trap = hostile[0]!;
    const reading = entries.filter((e) => e.reads);
    expect(reading.length).toBe(20);
    for (const entry of reading) {
      const error = await failure(entry, trap.make());
      expectInvalidArgument(error, entry.names);
      expect((error as { cause?: unknown }).cause, entry.name).toBe(boom);
    }
  });

  it('describes the value without running its traps or getters where a type is all that matters', async () => {
    let reads = 0;
    const counting = new Proxy({}, { get: () => ++reads, getPrototypeOf: () => (++reads, Object.prototype) });
    const error = await failure(entries.find((e) => e.name === 'get() timeout')!, counting);
    expectInvalidArgument(error, /timeout must be a number, got a proxy/);
    expect(reads).toBe(0);
    const ctor = await failure(entries.find((e) => e.name === 'get() sql')!, hostile[2]!.make());
    expectInvalidArgument(ctor, /sql must be a string, got an object$/);
    expect((ctor as { cause?: unknown }).cause).toBeUndefined();
  });
});

describe('option bags whose getters throw', () => {
  const bags: { name: string; key: string; call: (bag: object) => unknown; throws?: boolean }[] = [
    { name: 'open()', key: 'readers', call: (bag) => open(anyPath(), bag) },
    { name: 'open() pragmas', key: 'foreign_keys', call: (bag) => open(anyPath(), { pragmas: bag as never }) },
    { name: 'open() groupCommit', key: 'maxBatch', call: (bag) => open(anyPath(), { groupCommit: bag as never }) },
    { name: 'get()', key: 'rowMode', call: (bag) => db.get('SELECT 1', [], bag) },
    { name: 'transaction()', key: 'behavior', call: (bag) => db.transaction(async () => 1, bag) },
    { name: 'acquire()', key: 'write', call: (bag) => db.acquire(bag) },
    { name: 'writeQueue()', key: 'capacity', call: (bag) => db.writeQueue(bag), throws: true },
    { name: 'writeQueue() overflow', key: 'blockTimeout', call: (bag) => db.writeQueue({ overflow: bag as never }), throws: true },
    { name: 'integrityCheck()', key: 'quick', call: (bag) => db.integrityCheck(bag) },
    { name: 'schema.addColumn()', key: 'default', call: (bag) => db.schema.addColumn('t', 'c', 'TEXT', bag) },
    { name: 'schema.createIndex() column', key: 'name', call: (bag) => db.schema.createIndex('t', [bag as never]) },
    { name: 'migrate()', key: 'dir', call: (bag) => db.migrate(bag as never) },
    { name: 'migrate() list entry', key: 'version', call: (bag) => db.migrate({ migrations: [bag as never] }) },
  ];

  it.each(bags)('$name: cause is what the getter threw', async ({ key, call, throws }) => {
    const bag = Object.defineProperty({}, key, { get: thrower, enumerable: true });
    const error = await failure({ name: key, call: (v) => call(v as object), names: /could not be read: boom/, ...(throws ? { throws } : {}) }, bag);
    expectInvalidArgument(error, /could not be read: boom/);
    expect((error as { cause?: unknown }).cause).toBe(boom);
  });
});

describe('options are plain objects', () => {
  class Settings {
    readers = 1;
  }
  const notPlain: [string, () => object][] = [
    ['a Map', () => new Map<string, unknown>([['readers', 1], ['rowMode', 'array'], ['foreign_keys', false]])],
    ['a Set', () => new Set(['readers'])],
    ['a Date', () => new Date()],
    ['an ArrayBuffer', () => new ArrayBuffer(8)],
    ['a DataView', () => new DataView(new ArrayBuffer(8))],
    ['a Uint8Array', () => new Uint8Array(2)],
    ['a RegExp', () => /x/],
    ['a Promise', () => Promise.resolve()],
    ['a WeakMap', () => new WeakMap()],
    ['a boxed number', () => Object(1) as object],
    ['an object inheriting its options', () => Object.create({ readers: 1, rowMode: 'array' }) as object],
  ];
  const places: { name: string; names: RegExp; call: (bag: object) => unknown; throws?: boolean }[] = [
    { name: 'open() options', names: /^options must (be an object holding|hold) its options/, call: (bag) => open(anyPath(), bag) },
    { name: 'open() pragmas', names: /^pragmas must (be an object holding|hold) its options/, call: (bag) => open(anyPath(), { pragmas: bag as never }) },
    { name: 'open() retry', names: /^retry must (be an object holding|hold) its options/, call: (bag) => open(anyPath(), { retry: bag as never }) },
    { name: 'open() healthCheck', names: /^healthCheck must (be an object holding|hold) its options/, call: (bag) => open(anyPath(), { healthCheck: bag as never }) },
    { name: 'open() migrations', names: /^migrations must (be an object holding|hold) its options/, call: (bag) => open(anyPath(), { migrations: bag as never }) },
    { name: 'get() options', names: /^options must (be an object holding|hold) its options/, call: (bag) => db.get('SELECT 1 AS a', [], bag) },
    { name: 'transaction() options', names: /^options must (be an object holding|hold) its options/, call: (bag) => db.transaction(async () => 'ran', bag) },
    { name: 'writeQueue() options', names: /^options must (be an object holding|hold) its options/, call: (bag) => db.writeQueue(bag), throws: true },
    { name: 'writeQueue() overflow', names: /^overflow must (be an object holding|hold) its options/, call: (bag) => db.writeQueue({ overflow: bag as never }), throws: true },
    { name: 'backup() options', names: /^options must (be an object holding|hold) its options/, call: (bag) => db.backup(join(dir, 'never.db'), bag) },
    { name: 'createIndex() column', names: /^columns\[0\] must (be an object holding|hold) its options/, call: (bag) => db.schema.createIndex('t', [bag as never]) },
    { name: 'migrate() options', names: /^options must (be an object holding|hold) its options/, call: (bag) => db.migrate(bag as never) },
  ];
  const cases = notPlain.flatMap(([label, make]) => places.map((place) => ({ label: `${label} as ${place.name}`, make, place })));

  it.each(cases)('$label is refused, naming it and what was given', async ({ make, place }) => {
    const error = await failure({ name: place.name, call: (v) => place.call(v as object), names: place.names, ...(place.throws ? { throws: true } : {}) }, make());
    expectInvalidArgument(error, place.names);
    expect((error as Error).message).toMatch(/got an object \(\w+\), whose contents are not read as options$|'(readers|rowMode)' is inherited from its prototype/);
  });

  it('names the class of what was given', async () => {
    await expect(open(anyPath(), new Map([['readers', 1]]) as never)).rejects.toThrow(/^options must be an object holding its options as own properties, got an object \(Map\)/);
    await expect(db.transaction(async () => 1, new Date() as never)).rejects.toThrow(/got an object \(Date\)/);
  });

  it('accepts a class instance holding its options as own properties', async () => {
    const other = await open(join(dir, 'class-options.db'), new Settings());
    try {
      expect(other.stats().readers.size).toBe(1);
      class Query {
        rowMode = 'array' as const;
        describe(): string {
          return 'rows as arrays';
        }
      }
      expect(await other.get('SELECT 1 AS a', [], new Query())).toEqual([1]);
    } finally {
      await other.close();
    }
  });

  it('accepts null-prototype, frozen and proxied plain objects', async () => {
    const bare = Object.assign(Object.create(null) as object, { readers: 1, pragmas: Object.assign(Object.create(null) as object, { cache_size: -100 }) });
    const other = await open(join(dir, 'null-proto.db'), bare);
    try {
      expect(other.stats().readers.size).toBe(1);
      expect(await other.get('PRAGMA cache_size')).toEqual({ cache_size: -100 });
      expect(await other.get('SELECT 1 AS a', [], Object.freeze({ rowMode: 'array' as const }))).toEqual([1]);
      expect(await other.get('SELECT 1 AS a', [], new Proxy({ rowMode: 'array' as const }, {}))).toEqual([1]);
    } finally {
      await other.close();
    }
  });
});

describe('schema helpers', () => {
  it('refuses a type that is not a string, whatever it is, with the coded error', async () => {
    for (const type of [10n, { toJSON: thrower }, Symbol('t'), undefined]) {
      const error = await db.schema.addColumn('t', 'c', type as never).catch((e: unknown) => e);
      expectInvalidArgument(error, /^type must be a SQLite type name \(a string\)/);
    }
    await expect(db.schema.addColumn('t', 'c', 'TEXT; DROP TABLE t')).rejects.toThrow(/^type must be a SQLite type name such as/);
  });

  it('refuses a proxy of a Uint8Array as a default, and takes a real one', async () => {
    const error = await db.schema.addColumn('t', 'p', 'BLOB', { default: new Proxy(new Uint8Array(2), {}) }).catch((e: unknown) => e);
    expectInvalidArgument(error, /^default must be .* got a proxy$/);
    // An own byteLength or buffer on a real Uint8Array changes nothing: the bytes are read intrinsically.
    const bytes = Object.defineProperties(new Uint8Array([0xab, 0xcd]), { byteLength: { get: thrower }, buffer: { get: thrower } });
    expect(await db.schema.addColumn('t', 'blob_default', 'BLOB', { default: bytes })).toBe(true);
    await db.run('INSERT INTO t (a) VALUES (?)', ['with blob default']);
    expect(await db.get("SELECT hex(blob_default) AS h FROM t WHERE a = 'with blob default'")).toEqual({ h: 'ABCD' });
  });

  it('refuses a bigint default outside the signed 64-bit range as a parameter would be', async () => {
    for (const value of [2n ** 64n, 2n ** 63n, -(2n ** 63n) - 1n]) {
      const error = await db.schema.addColumn('t', 'big', 'INTEGER', { default: value }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/^default is a bigint outside the 64-bit signed range/) });
      const asParameter = await db.run('SELECT ?', [value]).catch((e: unknown) => e);
      expect(asParameter).toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE' });
    }
    expect((await db.schema.columns('t')).map((c) => c.name)).not.toContain('big');
    expect(await db.schema.addColumn('t', 'big_ok', 'INTEGER', { default: 2n ** 63n - 1n })).toBe(true);
    await db.run('INSERT INTO t (a) VALUES (?)', ['with bigint default']);
    const row = await db.get<{ type: string; v: string }>("SELECT typeof(big_ok) AS type, CAST(big_ok AS TEXT) AS v FROM t WHERE a = 'with bigint default'");
    expect(row).toEqual({ type: 'integer', v: '9223372036854775807' });
  });

  it('refuses a default string holding a lone surrogate', async () => {
    await expect(db.schema.addColumn('t', 's', 'TEXT', { default: 'a\ud800' })).rejects.toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/^default .*lone surrogate/) });
  });

  it('refuses a hole in the columns of createIndex, naming it, and reads each column once', async () => {
    const error = await db.schema.createIndex('t', [, 'a'] as never).catch((e: unknown) => e);
    expectInvalidArgument(error, /^columns\[0\] is missing \(a hole in the array\)$/);
    const late = await db.schema.createIndex('t', ['a', , 'b'] as never).catch((e: unknown) => e);
    expectInvalidArgument(late, /^columns\[1\] is missing/);
    await expect(db.schema.createIndex('t', [{ name: 'a', order: 'asc', collate: 'nocase' } as never])).rejects.toThrow(/^unknown option columns\[0\]\.collate/);
    let reads = 0;
    const column = Object.defineProperty({ order: 'desc' }, 'name', { get: () => (reads++ === 0 ? 'a' : 'no such column'), enumerable: true });
    expect(await db.schema.createIndex('t', [column as never], { name: 't_a_once' })).toBe('t_a_once');
    expect(reads).toBe(1);
    expect((await db.schema.indexes('t')).find((i) => i.name === 't_a_once')?.columns).toEqual(['a']);
  });
});

describe('lone surrogates in file paths', () => {
  it('refuses them in open(), backup() and vacuumInto(), creating no file', async () => {
    const sub = mkdtempSync(join(dir, 'paths-'));
    for (const path of [join(sub, 'a\ud800.db'), join(sub, '\udc00'), join(sub, 'x\udc00\ud800.db')]) {
      const error = await open(path, { readers: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/^path is not well-formed UTF-16 \(it holds a lone surrogate\)/) });
    }
    await expect(db.backup(join(sub, 'bk\udc00.db'))).rejects.toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/^dest .*lone surrogate/) });
    await expect(db.vacuumInto(join(sub, 'vi\ud801.db'))).rejects.toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/^dest .*lone surrogate/) });
    await expect(db.migrate({ dir: join(sub, 'm\ud800') })).rejects.toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/^dir .*lone surrogate/) });
    expect(readdirSync(sub)).toEqual([]);
  });

  it('takes a well-formed surrogate pair', async () => {
    const path = join(dir, 'emoji-\ud83d\ude00.db');
    const other = await open(path, { readers: 1 });
    try {
      expect(other.path).toBe(path);
      await db.vacuumInto(join(dir, 'copy-\ud83d\ude00.db'));
    } finally {
      await other.close();
    }
    expect(existsSync(path)).toBe(true);
    expect(existsSync(join(dir, 'copy-\ud83d\ude00.db'))).toBe(true);
  });

  it("still opens ':memory:' with no readers whatever readers says", async () => {
    const memory = await open(':memory:', { readers: 4 });
    try {
      expect(memory.stats().readers.size).toBe(0);
    } finally {
      await memory.close();
    }
  });
});

describe('a revoked proxy outside the pool methods', () => {
  const revoked = (): object => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };

  it("as an integration's options: a TypeError, not the proxy's own error", async () => {
    const { LitepoolDialect } = await import('../lib/integrations/kysely/index.ts');
    let error: unknown;
    try {
      new LitepoolDialect(revoked() as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LitepoolError);
    expect((error as LitepoolError).code).toBe('LITEPOOL_INVALID_ARGUMENT');
  });

  it("as a JS migration's call options or batch: the migration fails with a typed cause", async () => {
    const failures: unknown[] = [];
    for (const [name, up] of [
      ['run', async (tx: { run: (...args: unknown[]) => Promise<unknown> }) => void (await tx.run('CREATE TABLE never (a)', [], revoked()))],
      ['batch', async (tx: { batch: (...args: unknown[]) => Promise<unknown> }) => void (await tx.batch(revoked()))],
    ] as const) {
      const error = await db.migrate({ migrations: [{ version: '1.0.0', name, up: up as never }] }).catch((caught: unknown) => caught);
      failures.push(error);
    }
    for (const error of failures) {
      expect((error as LitepoolError).code).toBe('LITEPOOL_MIGRATION_FAILED');
      const cause = (error as { cause?: LitepoolError }).cause;
      expect(cause).toBeInstanceOf(LitepoolError);
      expect(cause!.code).toBe('LITEPOOL_INVALID_ARGUMENT');
    }
    expect(await db.get("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'never'")).toEqual({ n: 0 });
  });
});

describe('plain objects made in another realm (a node:vm context, as some test runners use)', () => {
  it('are options, named parameters and insertMany rows like this realm\'s', async () => {
    const { runInNewContext } = await import('node:vm');
    const other = await open(join(dir, 'realm.db'), runInNewContext('({ readers: 1, pragmas: { cache_size: -2000 } })'));
    try {
      await other.exec('CREATE TABLE r (a, b)');
      expect(await other.run('INSERT INTO r VALUES (:a, :b)', runInNewContext('({ a: 1, b: 2 })'))).toMatchObject({ changes: 1 });
      expect(await other.insertMany('r', runInNewContext('[{ a: 3, b: 4 }, { a: 5, b: 6 }]'))).toBe(2);
      expect(await other.get('SELECT count(*) FROM r', [], runInNewContext('({ rowMode: "array" })'))).toEqual([3]);
      // Another realm's Map is still no options object.
      await expect(open(join(dir, 'realm-map.db'), runInNewContext('new Map([["readers", 1]])'))).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    } finally {
      await other.close();
    }
  });
});
