// Covers observer hooks that return promises, one QueryProfiler on several pools, and one
// AbortSignal shared by many operations. An async hook that rejects is reported like one that
// throws (one LITEPOOL_OBSERVER warning, never an unhandled rejection, never a changed outcome);
// an async beforeQuery is refused when attached, and a beforeQuery that returns a promise vetoes
// (it cannot decide in time). A profiler attached to two pools looks each statement's plan up on
// the pool it ran on, also once the other pool closed. A signal shared by many concurrent
// operations carries one listener of the pool's (no MaxListenersExceededWarning), none once they
// settled, however many ran. Counts and outcomes only: no wall-clock thresholds.

import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyError, open, type Observer, type Pool } from '../lib/index.ts';
import { QueryProfiler } from '../lib/observers/index.ts';
import { holdWriter, tempPools } from './helpers/pools.ts';
import { sleep } from './helpers/waits.ts';

const pools = tempPools('observer-hooks');

/** Warnings (by code or name) and unhandled rejections seen while a test runs. */
let warnings: Error[] = [];
let unhandled: unknown[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  warnings = [];
  unhandled = [];
  process.on('warning', onWarning);
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('warning', onWarning);
  process.off('unhandledRejection', onUnhandled);
});

const observerWarnings = (): Error[] => warnings.filter((w) => (w as { code?: string }).code === 'LITEPOOL_OBSERVER');

/** Lets rejections be seen as unhandled and warnings be emitted (both come a tick or more later). */
const quiesce = (): Promise<void> => sleep(20);

/** What the promise settles to, without letting it reject. */
const outcome = (p: Promise<unknown>): Promise<unknown> => p.then(
  () => 'resolved',
  (e: unknown) => e,
);

describe('async observer hooks', () => {
  it('an async beforeQuery is refused when attached: it could not veto in time', async () => {
    const db = await pools.fresh();
    const asyncPolicy = {
      async beforeQuery(q: { sql: string }) {
        if (q.sql.includes('DROP')) throw new Error('no drops');
      },
    } as unknown as Observer;
    expect(() => db.observe(asyncPolicy)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => db.observe({ beforeQuery: (async () => {}) as unknown as Observer['beforeQuery'] })).toThrow(/synchronously/);
    await expect(open(pools.file(), { observers: [asyncPolicy] })).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await db.exec('DROP TABLE t');
    expect(await db.schema.tables()).toEqual([]);
  });

  it('a beforeQuery that returns a promise vetoes the operation, and its rejection is not unhandled', async () => {
    const db = await pools.fresh();
    const check = async (sql: string): Promise<void> => {
      if (sql.includes('DROP')) throw new Error('no drops');
    };
    const stop = db.observe({ beforeQuery: (q) => check(q.sql) as unknown as void });
    const dropped = await outcome(db.exec('DROP TABLE t'));
    expect(dropped).toBeInstanceOf(PolicyError);
    expect((dropped as PolicyError).cause).toMatchObject({ code: 'LITEPOOL_MISUSE', message: expect.stringMatching(/synchronously/) });
    // A promise that would have allowed it vetoes too: the pool cannot wait for it.
    await expect(db.get('SELECT count(*) AS n FROM t')).rejects.toMatchObject({ code: 'LITEPOOL_POLICY' });
    await quiesce();
    expect(unhandled).toEqual([]);
    stop();
    expect((await db.schema.tables()).map((t) => t.name)).toEqual(['t']);
  });

  it('an async onQuery that rejects changes nothing, is warned about once, and is not unhandled', async () => {
    const db = await pools.fresh();
    let calls = 0;
    db.observe({
      onQuery: async () => {
        calls++;
        throw new Error('async onQuery failed');
      },
    });
    for (let i = 0; i < 5; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`${i}`]);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 5 });
    await quiesce();
    expect(calls).toBe(6);
    expect(unhandled).toEqual([]);
    expect(observerWarnings()).toHaveLength(1);
    expect(observerWarnings()[0]!.message).toMatch(/onQuery rejected.*async onQuery failed/);
  });

  it('every other async hook that rejects is reported the same way', async () => {
    const rejecting = (hook: string) => async () => {
      throw new Error(`${hook} failed`);
    };
    const hooks = ['onTransaction', 'onAcquire', 'onConnection', 'onAttach'] as const;
    const observers = hooks.map((hook) => ({ [hook]: rejecting(hook) }) as Observer);
    const db = await pools.open({ observers });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('a')"));
    await db.read((conn) => conn.get('SELECT 1'));
    await db.close();
    await quiesce();
    expect(unhandled).toEqual([]);
    const messages = observerWarnings().map((w) => w.message);
    expect(messages).toHaveLength(hooks.length);
    for (const hook of hooks) expect(messages.some((m) => m.includes(`${hook} rejected`) && m.includes(`${hook} failed`))).toBe(true);
  });

  it('a returned thenable whose then throws counts as a throw', async () => {
    const db = await pools.fresh();
    const bad = {
      get then() {
        throw new Error('then getter');
      },
    };
    db.observe({ onQuery: () => bad as unknown as void });
    expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
    await quiesce();
    expect(unhandled).toEqual([]);
    expect(observerWarnings().map((w) => w.message)).toEqual([expect.stringMatching(/threw in onQuery.*then getter/)]);
  });
});

describe('one QueryProfiler on two pools', () => {
  async function withOwnTable(table: string): Promise<Pool> {
    return pools.fresh({}, `CREATE TABLE ${table} (x INTEGER)`);
  }

  it("looks each statement's plan up on the pool it ran on, also once the other pool closed", async () => {
    const profiler = new QueryProfiler({ explainOverMs: 0 });
    const a = await withOwnTable('only_in_a');
    const b = await withOwnTable('only_in_b');
    a.observe(profiler);
    b.observe(profiler);
    await b.all('SELECT * FROM only_in_b WHERE x > 1');
    await a.all('SELECT * FROM only_in_a WHERE x > 1');
    await profiler.settled();
    const planOf = (sql: string) => profiler.top(100).find((s) => s.sql === sql)?.plan;
    expect(planOf('SELECT * FROM only_in_b WHERE x > 1')).toEqual([expect.stringMatching(/only_in_b/)]);
    expect(planOf('SELECT * FROM only_in_a WHERE x > 1')).toEqual([expect.stringMatching(/only_in_a/)]);
    await a.close();
    await b.all('SELECT x FROM only_in_b WHERE x = 2');
    await profiler.settled();
    expect(planOf('SELECT x FROM only_in_b WHERE x = 2')).toEqual([expect.stringMatching(/only_in_b/)]);
  });

  it('a statement whose pool was closing when it ran gets its plan on a later call elsewhere', async () => {
    const profiler = new QueryProfiler({ explainOverMs: 0 });
    const a = await withOwnTable('shared');
    const b = await withOwnTable('shared');
    // An observer ahead of the profiler closes pool a as the statement's event arrives: a is
    // closing when the profiler would look the plan up there.
    let closing: Promise<void> | undefined;
    a.observe({ onQuery: () => void (closing ??= a.close()) });
    a.observe(profiler);
    b.observe(profiler);
    await a.get('SELECT x FROM shared WHERE x = 1');
    await closing;
    await profiler.settled();
    expect(profiler.top(1)[0]!.plan).toBeUndefined();
    await b.get('SELECT x FROM shared WHERE x = 1');
    await profiler.settled();
    expect(profiler.top(1)[0]).toMatchObject({ calls: 2, plan: [expect.stringMatching(/shared/)] });
  });
});

describe('one AbortSignal shared by many operations', () => {
  const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;
  const maxListenerWarnings = (): Error[] => warnings.filter((w) => w.name === 'MaxListenersExceededWarning');

  it('50 concurrent operations hold one listener on it, and none once they settled', async () => {
    const db = await pools.fresh({ readers: 2 });
    const controller = new AbortController();
    const { signal } = controller;
    const held = await holdWriter(db, 'held');
    const writes = Array.from({ length: 50 }, (_, i) => db.run('INSERT INTO t (v) VALUES (?)', [`w${i}`], { signal }));
    const reads = Array.from({ length: 50 }, () => db.get('SELECT count(*) AS n FROM t', [], { signal }));
    const during = listeners(signal);
    held.release();
    await Promise.all([...writes, ...reads, held.done]);
    expect(during).toBeLessThanOrEqual(1);
    expect(listeners(signal)).toBe(0);
    await db.transaction(async (tx) => {
      await Promise.all(Array.from({ length: 50 }, () => tx.get('SELECT 1 AS x', [], { signal })));
    });
    await quiesce();
    expect(maxListenerWarnings()).toEqual([]);
    expect(listeners(signal)).toBe(0);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 51 });
  });

  it('aborting it cancels every operation waiting on it, and leaves no listener', async () => {
    const db = await pools.fresh();
    const controller = new AbortController();
    const { signal } = controller;
    const held = await holdWriter(db, 'held');
    const writes = Array.from({ length: 30 }, (_, i) => outcome(db.run('INSERT INTO t (v) VALUES (?)', [`w${i}`], { signal })));
    const other = db.run("INSERT INTO t (v) VALUES ('unsignalled')");
    const reason = new Error('stop');
    controller.abort(reason);
    expect(listeners(signal)).toBe(0);
    held.release();
    expect(await Promise.all(writes)).toEqual(writes.map(() => reason));
    await Promise.all([other, held.done]);
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'held' }, { v: 'unsignalled' }]);
    await quiesce();
    expect(maxListenerWarnings()).toEqual([]);
  });

  it('a long-lived signal used by 10,000 sequential operations keeps no listener', async () => {
    const db = await pools.fresh({ readers: 1 });
    const { signal } = new AbortController();
    let peak = 0;
    for (let i = 0; i < 10_000; i++) {
      const read = db.get('SELECT ? AS i', [i], { signal });
      peak = Math.max(peak, listeners(signal));
      await read;
    }
    expect(peak).toBeLessThanOrEqual(1);
    expect(listeners(signal)).toBe(0);
  });

  it('transactions, snapshots and lease waits on it share the one listener too', async () => {
    const db = await pools.fresh({ readers: 1 });
    const controller = new AbortController();
    const { signal } = controller;
    const held = await holdWriter(db, 'held');
    const transactions = Array.from({ length: 20 }, (_, i) => db.transaction(async (tx) => void (await tx.run('INSERT INTO t (v) VALUES (?)', [`tx${i}`])), { signal }));
    const reader = await db.acquire();
    const snapshots = Array.from({ length: 20 }, () => db.read(async (r) => r.get('SELECT 1 AS x'), { signal }));
    const leases = Array.from({ length: 20 }, () => db.acquire({ signal }).then((lease) => lease.release()));
    const during = listeners(signal);
    held.release();
    await reader.release();
    await Promise.all([...transactions, ...snapshots, ...leases, held.done]);
    await quiesce();
    expect(during).toBeLessThanOrEqual(1);
    expect(listeners(signal)).toBe(0);
    expect(maxListenerWarnings()).toEqual([]);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 21 });
  });

  it('a signal shared by two pools cancels the operations of both', async () => {
    const a = await pools.fresh();
    const b = await pools.fresh();
    const controller = new AbortController();
    const { signal } = controller;
    const heldA = await holdWriter(a, 'a');
    const heldB = await holdWriter(b, 'b');
    const writes = [a, b, a, b].map((db) => outcome(db.run("INSERT INTO t (v) VALUES ('x')", [], { signal })));
    const during = listeners(signal);
    controller.abort();
    heldA.release();
    heldB.release();
    const outcomes = await Promise.all(writes);
    expect(during).toBe(1);
    expect(outcomes.map((e) => (e as Error).name)).toEqual(['AbortError', 'AbortError', 'AbortError', 'AbortError']);
    await Promise.all([heldA.done, heldB.done]);
    expect(await a.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
    expect(await b.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
  });
});
