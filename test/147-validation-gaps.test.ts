// Covers argument checks that match the documented convention (a wrong type is a TypeError
// LITEPOOL_INVALID_ARGUMENT, an out-of-range value a RangeError LITEPOOL_OUT_OF_RANGE, nothing
// ignored): a misspelt observer hook or flag is refused by open({ observers }) and db.observe(),
// while the built-in observers and class instances with methods and fields of their own are
// accepted; the built-in observers' options and the policies' arguments; Pool getters and
// observe() read off something else than a Pool; `new Pool()` and `new WriteQueue()`.
import { describe, expect, it } from 'vitest';
import { Pool, WriteQueue, open } from '../lib/index.ts';
import { MetricsCollector, QueryLogger, QueryProfiler, policies, type QueryEvent } from '../lib/observers/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('validation-gaps');
const invalid = (message?: RegExp) =>
  expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT', ...(message ? { message: expect.stringMatching(message) } : {}) });
const outOfRange = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });

/** What calling `fn` throws (or undefined). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('a misspelt observer hook or flag', () => {
  it('is refused by open({ observers }), naming the key and listing the known hooks', async () => {
    const error = await open(':memory:', { observers: [{ onQeury() {} } as never] }).then(
      (db) => db.close().then(() => undefined),
      (reason: unknown) => reason,
    );
    expect(error).toEqual(invalid(/observers\[0\]\.onQeury/));
    expect((error as Error).message).toMatch(/known hooks: .*\bonQuery\b/);
    expect((error as Error).message).toMatch(/\bbeforeQuery\b.*\bonAttach\b/);
  });

  it('is refused by db.observe(): within two letters of a hook or flag, in any case', async () => {
    const db = await pools.open({ readers: 1 });
    for (const observer of [{ onQeury() {} }, { beforeQeury() {} }, { OnQuery() {} }, { onquery: () => {} }, { onQuery() {}, onTransactoin() {} }]) {
      const key = Object.keys(observer).at(-1)!;
      expect(thrown(() => db.observe(observer as never)), key).toEqual(invalid(new RegExp(`unknown observer hook observer\\.${key} \\(\\w+\\?\\);`)));
    }
    expect(thrown(() => db.observe({ onQuery() {}, wantsParam: true } as never))).toEqual(invalid(/unknown observer flag observer\.wantsParam \(wantsParams\?\); known flags: wantsParams/));
    // Fields of the observer's own, and hooks of a later version, are not typos.
    for (const fields of [{ onSlow: () => {} }, { beforeCount: 0 }, { onBackup() {} }, { wantsRowValues: true }, { onError() {} }, { onSlowQuery: undefined }]) {
      expect(() => db.observe({ onQuery() {}, ...fields } as never)()).not.toThrow();
    }
    // Nothing was attached by the refused calls.
    const seen: QueryEvent[] = [];
    const stop = db.observe({ onQuery: (e) => void seen.push(e) });
    await db.get('SELECT 1');
    stop();
    expect(seen).toHaveLength(1);
  });

  it('still lets the built-in observers, other keys and class instances with methods and fields through', async () => {
    class Counting {
      readonly name = 'counting';
      calls = 0;
      once = true;
      onQuery(): void {
        this.calls++;
      }
      onError(): void {} // a method of its own, on the prototype: not looked at
      report(): string {
        return `${this.name}: ${this.calls}`;
      }
    }
    const counting = new Counting();
    const metrics = new MetricsCollector();
    const db = await pools.open({ readers: 1, observers: [metrics, new QueryLogger({ logger: { info() {}, warn() {} } }), policies.readOnly()] });
    const stops = [
      db.observe(counting),
      db.observe(new QueryProfiler()),
      db.observe(policies.denyDdl()),
      db.observe(policies.denyFullScans({ allowTables: ['x'] })),
      db.observe({ name: 'plain', onQuery() {}, wantsParams: true, options: { verbose: true } } as never),
    ];
    await db.get('SELECT 1');
    expect(counting.report()).toBe('counting: 1');
    expect(metrics.snapshot().operations.get?.count).toBe(1);
    for (const stop of stops) stop();
  });
});

describe("the built-in observers' options", () => {
  it('a wrong type is a TypeError', () => {
    const wrongType: [string, () => unknown][] = [
      ["MetricsCollector({ maxStatements: 'x' })", () => new MetricsCollector({ maxStatements: 'x' as never })],
      ["MetricsCollector({ maxSqlLength: '5' })", () => new MetricsCollector({ maxSqlLength: '5' as never })],
      ["MetricsCollector({ buckets: 'x' })", () => new MetricsCollector({ buckets: 'x' as never })],
      ["MetricsCollector({ buckets: [0.1, '1'] })", () => new MetricsCollector({ buckets: [0.1, '1'] as never })],
      ['MetricsCollector({ prefix: 1 })', () => new MetricsCollector({ prefix: 1 as never })],
      ['MetricsCollector({ labels: 1 })', () => new MetricsCollector({ labels: 1 as never })],
      ["MetricsCollector({ labels: ['a'] })", () => new MetricsCollector({ labels: ['a'] as never })],
      ['MetricsCollector({ labels: { a: {} } })', () => new MetricsCollector({ labels: { a: {} } as never })],
      ['MetricsCollector({ labels: { a: null } })', () => new MetricsCollector({ labels: { a: null } as never })],
      ["QueryLogger({ slowMs: 'x' })", () => new QueryLogger({ slowMs: 'x' as never })],
      ["QueryLogger({ sampleRate: 'x' })", () => new QueryLogger({ sampleRate: 'x' as never })],
      ["QueryLogger({ slowTransactionMs: '1' })", () => new QueryLogger({ slowTransactionMs: '1' as never })],
      ['QueryLogger({ params: 1 })', () => new QueryLogger({ params: 1 as never })],
      ["QueryLogger({ logErrors: 'no' })", () => new QueryLogger({ logErrors: 'no' as never })],
      ['policies.denyDdl(1)', () => (policies.denyDdl as (...args: unknown[]) => unknown)(1)],
      ["policies.denyDdl({ allow: ['x'] })", () => (policies.denyDdl as (...args: unknown[]) => unknown)({ allow: ['x'] })],
      ['policies.readOnly({ foo: 1 })', () => (policies.readOnly as (...args: unknown[]) => unknown)({ foo: 1 })],
      ['policies.denyFullScans({}, {})', () => (policies.denyFullScans as (...args: unknown[]) => unknown)({}, {})],
    ];
    for (const [label, make] of wrongType) expect(thrown(make), label).toEqual(invalid());
  });

  it('an out-of-range value is a RangeError', () => {
    const wrongValue: [string, () => unknown][] = [
      ['MetricsCollector({ maxStatements: -1 })', () => new MetricsCollector({ maxStatements: -1 })],
      ['MetricsCollector({ maxStatements: 1.5 })', () => new MetricsCollector({ maxStatements: 1.5 })],
      ['MetricsCollector({ maxSqlLength: 0 })', () => new MetricsCollector({ maxSqlLength: 0 })],
      ['MetricsCollector({ buckets: [] })', () => new MetricsCollector({ buckets: [] })],
      ['MetricsCollector({ buckets: [1, 0.5] })', () => new MetricsCollector({ buckets: [1, 0.5] })],
      ["MetricsCollector({ prefix: 'bad prefix' })", () => new MetricsCollector({ prefix: 'bad prefix' })],
      ["MetricsCollector({ labels: { 'bad-name': 'x' } })", () => new MetricsCollector({ labels: { 'bad-name': 'x' } })],
      ["QueryLogger({ params: 'x' })", () => new QueryLogger({ params: 'x' as never })],
      ['QueryLogger({ slowMs: -1 })', () => new QueryLogger({ slowMs: -1 })],
      ['QueryLogger({ slowMs: NaN })', () => new QueryLogger({ slowMs: Number.NaN })],
      ['QueryLogger({ sampleRate: 2 })', () => new QueryLogger({ sampleRate: 2 })],
    ];
    for (const [label, make] of wrongValue) expect(thrown(make), label).toEqual(outOfRange);
  });

  it('good values are taken as given: labels of strings, numbers and booleans, a prefix, no policy arguments', () => {
    const metrics = new MetricsCollector({ labels: { database: 'main', shard: 2, primary: true }, prefix: 'app_db', maxStatements: 0, buckets: [0.001, 1] });
    expect(metrics.toPrometheus()).not.toContain('litepool_');
    expect(() => new QueryLogger({ slowMs: 0, sampleRate: 1, params: 'omit', logErrors: false, slowTransactionMs: 5 })).not.toThrow();
    expect(() => [policies.denyDdl(), policies.readOnly(), policies.denyFullScans(), policies.denyFullScans({})]).not.toThrow();
  });
});

describe('Pool methods and getters read off something else than a Pool', () => {
  const proto = Pool.prototype as unknown as Record<string, unknown>;
  const descriptor = (name: string) => Object.getOwnPropertyDescriptor(Pool.prototype, name) ?? Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Pool.prototype), name);

  it('throw a TypeError LITEPOOL_INVALID_ARGUMENT: observe(), replica, migrations, schema', () => {
    for (const getter of ['replica', 'migrations', 'schema', 'path', 'closed']) {
      const get = descriptor(getter)!.get!;
      for (const self of [{}, undefined, Object.create(Pool.prototype)]) expect(thrown(() => get.call(self)), getter).toEqual(invalid(/not on a Pool/));
    }
    const observe = proto['observe'] as (this: unknown, observer: unknown) => unknown;
    expect(thrown(() => observe.call({}, { onQuery() {} }))).toEqual(invalid(/not on a Pool/));
  });

  it('a destructured observe() of a real pool is refused the same way', async () => {
    const db = await pools.open({ readers: 1 });
    const { observe } = db;
    expect(thrown(() => observe({ onQuery() {} }))).toEqual(invalid(/not on a Pool/));
    expect(typeof db.observe({ onQuery() {} })).toBe('function');
  });
});

describe('constructing Pool and WriteQueue directly', () => {
  type Anything = new (...args: unknown[]) => unknown;

  it('new Pool() fails at once: a pool comes from open()', async () => {
    const db = await pools.open({ readers: 1 });
    for (const args of [[], [{}], ['app.db'], [{ toolkit: db.toolkit }]]) {
      expect(thrown(() => new (Pool as unknown as Anything)(...args)), JSON.stringify(args)).toEqual(invalid(/use open\(/));
    }
  });

  it('new WriteQueue() fails at once, also with what the pool passes: a queue comes from db.writeQueue()', async () => {
    const db = await pools.fresh({ readers: 1 });
    const run = () => Promise.resolve({ changes: 1, lastInsertRowid: 1 });
    for (const args of [[], [run, {}, () => {}], [Symbol('litepool.writeQueue'), run, {}, () => {}]]) {
      expect(thrown(() => new (WriteQueue as unknown as Anything)(...args)), String(args.length)).toEqual(invalid(/use db\.writeQueue\(/));
    }
    // The pool's own queues are unchanged.
    const queue = db.writeQueue({ capacity: 10 });
    expect(queue).toBeInstanceOf(WriteQueue);
    expect(queue.push("INSERT INTO t (v) VALUES ('a')")).toBe(true);
    await expect(queue.enqueue("INSERT INTO t (v) VALUES ('b')")).resolves.toMatchObject({ changes: 1 });
    await queue.shutdown();
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'a' }, { v: 'b' }]);
  });
});
