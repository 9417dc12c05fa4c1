// Covers the native slots and cancellation (lib/request/backlog.ts, dispatcher.ts, fifo.ts):
// requests for the shared reader ring hold at most their share of the slots, so that reads
// waiting for a reader (cancelled ones too, until a reader pops them) never starve a lease's
// release, its own queries, writes or close() of a slot; reads beyond the share wait on the JS
// side, where a cancelled one is dropped without taking a slot. A read queued behind its lease's
// or snapshot's running query settles at once when cancelled, a write queued behind its lease's
// never does. A cancelled request rejects with its signal's reason, whatever it is (null too).
// And the Fifo's semantics, its remove() included.
//
// No assertion depends on time: counts, orders and bounds only. The queries that keep a
// connection busy never end by themselves (an unbounded recursive CTE): the test stops them.

import { describe, expect, it } from 'vitest';
import type { Pool } from '../lib/index.ts';
import { Op, Status, Target } from '../lib/native/contract.ts';
import { NATIVE_SLOTS, SHARED_SHARE } from '../lib/request/backlog.ts';
import { Fifo } from '../lib/request/fifo.ts';
import { READERS, WRITER, readerRoute } from '../lib/request/route.ts';
import { fakeDispatcher } from './helpers/fake-dispatcher.ts';
import { tempPools } from './helpers/pools.ts';
import { seeded } from './helpers/prng.ts';
import { rejection, settleOrReport, track } from './helpers/waits.ts';

const pools = tempPools('slots-cancel');

/** More reads than there are native slots. */
const MANY = NATIVE_SLOTS + 104;
/** The most slots requests for the shared reader ring may hold in a real pool. */
const SHARED_MAX = Math.floor(NATIVE_SLOTS * SHARED_SHARE);
/** A read that never ends by itself. */
const ENDLESS_READ = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';
/** A write that never ends by itself. */
const ENDLESS_WRITE = 'INSERT INTO w (v) SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)';


/** A dispatcher over a fake addon of `slots` slots (requests for the shared ring: 3/4 of them). */
const setup = (slots = 8) => fakeDispatcher(slots, slots);

const read = (sql: string, signal?: AbortSignal, route = READERS) =>
  ({ op: Op.Get, route, sql, values: undefined, names: undefined, rowMode: 'object', signal }) as const;
const write = (sql: string, signal?: AbortSignal) =>
  ({ op: Op.Run, route: WRITER, sql, values: undefined, names: undefined, groupable: true, signal }) as const;

/** Settles the order in which `promises` settle, by name. */
function settlementOrder(promises: Record<string, Promise<unknown>>): { order: string[]; all: Promise<unknown> } {
  const order: string[] = [];
  const all = Promise.allSettled(Object.entries(promises).map(([name, promise]) => promise.finally(() => order.push(name))));
  return { order, all };
}

/** `count` reads of the shared ring that each time out after 10 ms; resolves with their rejection codes. */
function timedOutReads(db: Pool, count: number): Promise<unknown[]> {
  const reads: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) reads.push(db.get('SELECT ? AS i', [i], { timeout: 10 }).then(() => 'resolved', (error: { code?: string }) => error.code));
  return Promise.all(reads);
}

describe('requests for the shared reader ring hold at most their share of the native slots', () => {
  it('reads beyond the share wait on the JS side; writes and pinned readers get the rest, waiting writes go first', async () => {
    const { native, dispatcher } = setup(8);
    const reads = Array.from({ length: 8 }, (_, i) => dispatcher.run(read(`SELECT ${i}`)));
    // 3/4 of 8 slots: 6 reads go out, 2 wait.
    expect(native.submitted.map((entry) => entry.sql)).toEqual(['SELECT 0', 'SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4', 'SELECT 5']);
    expect(dispatcher.queued).toBe(2);
    const first = dispatcher.run(write('INSERT 1'));
    const pinned = dispatcher.run(read('SELECT pinned', undefined, readerRoute(0)));
    expect(native.submitted.slice(6).map((entry) => [entry.sql, entry.target])).toEqual([
      ['INSERT 1', Target.Writer],
      ['SELECT pinned', Target.PinnedReader],
    ]);
    // Every slot taken: a second write waits, before the waiting reads.
    const second = dispatcher.run(write('INSERT 2'));
    expect(dispatcher.queued).toBe(3);
    // One read's slot frees: the waiting write takes it, not a waiting read.
    native.deliverSlots([native.slotOf('SELECT 0')]);
    expect(native.submitted.at(-1)!.sql).toBe('INSERT 2');
    expect(dispatcher.queued).toBe(2);
    // The write's slot frees: the next read goes out (5 reads hold slots, below the share).
    native.deliverSlots([native.slotOf('INSERT 1')], Status.Done);
    expect(native.submitted.at(-1)!.sql).toBe('SELECT 6');
    // Six again: another free slot does not let the last read out.
    native.deliverSlots([native.slotOf('SELECT pinned')]);
    expect(native.submitted.at(-1)!.sql).toBe('SELECT 6');
    expect(dispatcher.queued).toBe(1);
    native.deliverSlots([native.slotOf('SELECT 1')]);
    expect(native.submitted.at(-1)!.sql).toBe('SELECT 7');
    native.deliverSlots(['SELECT 2', 'SELECT 3', 'SELECT 4', 'SELECT 5', 'SELECT 6', 'SELECT 7'].map((sql) => native.slotOf(sql)));
    native.deliverSlots([native.slotOf('INSERT 2')], Status.Done);
    await Promise.all([...reads, first, pinned, second]);
    expect(dispatcher.queued).toBe(0);
    expect(dispatcher.inFlight).toBe(0);
    expect(dispatcher.counters).toMatchObject({ started: 11, completed: 11, failed: 0, cancelled: 0 });
  });

  it('a read cancelled in the shared ring settles at once and holds its slot until its completion; one cancelled while waiting never takes one', async () => {
    const { native, dispatcher } = setup(8);
    const controllers = Array.from({ length: 8 }, () => new AbortController());
    const reads = controllers.map((controller, i) => dispatcher.run(read(`SELECT ${i}`, controller.signal)));
    expect(native.submitted).toHaveLength(6);
    const reasons = controllers.map((_, i) => new Error(`stop ${i}`));
    controllers.forEach((controller, i) => controller.abort(reasons[i]));
    // All settle at once, in flight or waiting.
    const outcomes = await settleOrReport(reads, 5_000);
    expect(outcomes).toEqual(reasons.map((reason) => ({ status: 'rejected', reason })));
    expect(native.cancelled).toHaveLength(6);
    expect(dispatcher.queued).toBe(0);
    expect(dispatcher.inFlight).toBe(6);
    // The six cancelled reads still hold the share: a new read waits, a write goes out.
    const late = dispatcher.run(read('SELECT late'));
    const inserted = dispatcher.run(write('INSERT 1'));
    expect(native.submitted.slice(6).map((entry) => entry.sql)).toEqual(['INSERT 1']);
    // Their completions (skipped by the reader) free the share: the late read goes out.
    native.deliverSlots(
      ['SELECT 0', 'SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4', 'SELECT 5'].map((sql) => native.slotOf(sql)),
      Status.Cancelled,
    );
    expect(native.submitted.at(-1)!.sql).toBe('SELECT late');
    // The two cancelled while waiting were never submitted.
    expect(native.submitted.some((entry) => entry.sql === 'SELECT 6' || entry.sql === 'SELECT 7')).toBe(false);
    native.deliverSlots([native.slotOf('SELECT late')]);
    native.deliverSlots([native.slotOf('INSERT 1')], Status.Done);
    expect(await late).toBeUndefined();
    expect(await inserted).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(dispatcher.counters).toMatchObject({ started: 10, completed: 2, failed: 0, cancelled: 8 });
  });

  it('a lease holding the only reader: reads that time out leave slots for its queries, its release, writes and close()', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v)');
    const lease = await db.acquire();
    const codes = await timedOutReads(db, MANY);
    expect(new Set(codes)).toEqual(new Set(['LITEPOOL_OPERATION_TIMEOUT']));
    const stats = db.stats();
    expect(stats.rings.readers).toBeLessThanOrEqual(SHARED_MAX);
    expect(stats.operations.cancelled).toBe(MANY);
    const outcomes = await settleOrReport<unknown>([lease.get<{ v: number }>('SELECT 7 AS v'), db.run('INSERT INTO w (v) VALUES (1)'), lease.release()], 10_000);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: { v: 7 } });
    // The reader is back: it skips the cancelled reads, then serves new ones.
    expect(await db.get('SELECT count(*) AS n FROM w')).toEqual({ n: 1 });
    expect((await settleOrReport([db.close()], 10_000))[0]!.status).toBe('fulfilled');
  });

  it('a lease holding the only reader: more reads than slots wait for it without blocking its release, then all run', async () => {
    const db = await pools.open({ readers: 1 });
    const lease = await db.acquire();
    const reads = Array.from({ length: MANY }, (_, i) => db.get<{ i: number }>('SELECT ? AS i', [i]));
    expect(db.stats().rings.readers).toBeLessThanOrEqual(SHARED_MAX);
    const outcomes = await settleOrReport<unknown>([lease.get('SELECT 1 AS v'), db.run('CREATE TABLE w (v)'), lease.release()], 10_000);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const rows = await settleOrReport(reads, 30_000);
    expect(rows.every((row, i) => row.status === 'fulfilled' && (row.value as { i: number }).i === i)).toBe(true);
  });

  it('an iteration holding the only reader goes on to its end after reads that timed out', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v)');
    await db.run('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) INSERT INTO w (v) SELECT x FROM c');
    const rows = db.iterate<{ v: number }>('SELECT v FROM w ORDER BY id', [], { chunkSize: 100 });
    expect((await rows.next()).value).toEqual({ v: 1 });
    await timedOutReads(db, MANY);
    let count = 1;
    const rest = (async () => {
      for (let next = await rows.next(); !next.done; next = await rows.next()) count++;
    })();
    expect((await settleOrReport([rest], 10_000))[0]!.status).toBe('fulfilled');
    expect(count).toBe(5000);
  });

  it('every reader busy: reads that time out do not keep a write from an idle writer', async () => {
    const db = await pools.open({ readers: 2 });
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v)');
    const stop = new AbortController();
    const busy = [track(db.get(ENDLESS_READ, [], { signal: stop.signal })), track(db.get(ENDLESS_READ, [], { signal: stop.signal }))];
    await timedOutReads(db, MANY);
    const [written] = await settleOrReport([db.run('INSERT INTO w (v) VALUES (1)')], 10_000);
    expect(written).toEqual({ status: 'fulfilled', value: { changes: 1, lastInsertRowid: 1 } });
    // The readers were busy all along.
    expect(busy.map((query) => query.settled())).toEqual([false, false]);
    stop.abort(new Error('stop'));
    for (const query of busy) expect((await rejection(query.promise)).message).toBe('stop');
  });
});

describe('a read queued behind a running query of its own lease or snapshot settles at once when cancelled', () => {
  it('a read lease: aborted, it rejects while the query before it still runs', async () => {
    const db = await pools.open({ readers: 2 });
    const lease = await db.acquire();
    const stop = new AbortController();
    const running = track(lease.get(ENDLESS_READ, [], { signal: stop.signal }));
    const controller = new AbortController();
    const queued = lease.get('SELECT 1 AS v', [], { signal: controller.signal });
    const reason = new Error('aborted while queued');
    controller.abort(reason);
    expect(await settleOrReport([queued], 5_000)).toEqual([{ status: 'rejected', reason }]);
    expect(running.settled()).toBe(false);
    stop.abort(new Error('stop'));
    expect((await rejection(running.promise)).message).toBe('stop');
    // The lease goes on: the cancelled read was skipped.
    expect(await lease.get('SELECT 2 AS v')).toEqual({ v: 2 });
    await lease.release();
    expect(db.stats().operations).toMatchObject({ cancelled: 2, failed: 0 });
  });

  it('a read lease: one that times out rejects while the query before it still runs', async () => {
    const db = await pools.open({ readers: 2 });
    const lease = await db.acquire();
    const stop = new AbortController();
    const running = track(lease.get(ENDLESS_READ, [], { signal: stop.signal }));
    const [queued] = await settleOrReport([lease.all('SELECT 1 AS v', [], { timeout: 20 })], 5_000);
    expect(queued!.status).toBe('rejected');
    expect(((queued as PromiseRejectedResult).reason as { code: string }).code).toBe('LITEPOOL_OPERATION_TIMEOUT');
    expect(running.settled()).toBe(false);
    stop.abort(new Error('stop'));
    await rejection(running.promise);
    await lease.release();
  });

  it('a snapshot: aborted, it rejects before the query before it ends', async () => {
    const db = await pools.open({ readers: 2 });
    const result = await db.read(async (conn) => {
      const { order, all } = settlementOrder({
        long: conn.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) AS n FROM c'),
        queued: (() => {
          const controller = new AbortController();
          const promise = conn.get('SELECT 1 AS v', [], { signal: controller.signal });
          controller.abort(null);
          return promise;
        })(),
      });
      await all;
      return order;
    });
    expect(result).toEqual(['queued', 'long']);
  });

  it('a write lease: a write aborted behind its running write is skipped, and settles only after it', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v)');
    const lease = await db.acquire({ write: true });
    const stop = new AbortController();
    const running = lease.run(ENDLESS_WRITE, [], { signal: stop.signal });
    const controller = new AbortController();
    const queued = lease.run("INSERT INTO w (v) VALUES ('queued')", [], { signal: controller.signal });
    const { order, all } = settlementOrder({ running, queued });
    controller.abort(new Error('aborted while queued'));
    // Round trips on a reader: completions come and go while the queued write stays unsettled.
    for (let i = 0; i < 5; i++) await db.get('SELECT 1');
    expect(order).toEqual([]);
    stop.abort(new Error('stop'));
    await all;
    expect(order).toEqual(['running', 'queued']);
    expect((await rejection(queued)).message).toBe('aborted while queued');
    expect(await lease.get('SELECT count(*) AS n FROM w')).toEqual({ n: 0 });
    await lease.release();
  });

  it('a transaction: a write aborted behind its running write settles only after it', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v)');
    const order = await db
      .transaction(async (tx) => {
        const { order, all } = settlementOrder({
          running: tx.run('INSERT INTO w (v) SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c)'),
          queued: (() => {
            const controller = new AbortController();
            const promise = tx.run("INSERT INTO w (v) VALUES ('queued')", [], { signal: controller.signal });
            controller.abort(new Error('aborted while queued'));
            return promise;
          })(),
        });
        await all;
        return order;
      })
      .catch((error: unknown) => error);
    expect(order).toEqual(['running', 'queued']);
  });
});

describe('a cancelled request rejects with its signal’s reason, whatever it is', () => {
  for (const reason of [null, 0, '', false]) {
    it(`a write in flight, aborted with ${JSON.stringify(reason)}: rejects with it, counted as cancelled`, async () => {
      const { native, dispatcher } = setup();
      const controller = new AbortController();
      const written = dispatcher.run(write('INSERT 1', controller.signal));
      controller.abort(reason);
      expect(native.cancelled).toHaveLength(1);
      native.deliverSlots([native.slotOf('INSERT 1')], Status.Cancelled);
      expect(await rejection(written)).toBe(reason);
      expect(dispatcher.counters).toMatchObject({ started: 1, completed: 0, failed: 0, cancelled: 1 });
    });
  }

  it('a write running in a real pool, aborted with null: rejects with null, counted as cancelled', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE w (id INTEGER PRIMARY KEY, v)');
    const before = db.stats().operations;
    const controller = new AbortController();
    const running = db.run(ENDLESS_WRITE, [], { signal: controller.signal });
    await db.get('SELECT 1');
    controller.abort(null);
    expect(await rejection(running)).toBeNull();
    const after = db.stats().operations;
    expect(after.cancelled - before.cancelled).toBe(1);
    expect(after.failed - before.failed).toBe(0);
  });
});

describe('Fifo', () => {
  /**
   * Runs `steps` random operations on a Fifo and on an array model of it; returns the first step
   * where their answers differed (-1: none).
   */
  function firstDifference(seed: number, steps: number, pushBias: number): number {
    const random = seeded(seed);
    const fifo = new Fifo<{ id: number }>();
    const model: { id: number }[] = [];
    let head = 0; // the model's front (shifting a long array would dominate the test)
    const made: { id: number }[] = [];
    for (let step = 0; step < steps; step++) {
      const roll = random();
      let same = true;
      if (roll < pushBias) {
        const item = { id: made.length };
        made.push(item);
        fifo.push(item);
        model.push(item);
      } else if (roll < pushBias + (1 - pushBias) / 3) {
        same = fifo.shift() === (head < model.length ? model[head++] : undefined);
      } else {
        // An item queued, or one shifted or removed already.
        const item = made[Math.floor(random() * made.length)];
        if (item === undefined) continue;
        const at = model.indexOf(item, head);
        if (at >= 0) model.splice(at, 1);
        same = fifo.remove(item) === at >= 0;
      }
      if (!same || fifo.length !== model.length - head || fifo.peek() !== model[head]) return step;
    }
    for (let step = steps; head < model.length; step++) if (fifo.shift() !== model[head++]) return step;
    return fifo.length === 0 && fifo.shift() === undefined && fifo.peek() === undefined ? -1 : steps * 2;
  }

  it('answers as an array would: push, shift, peek, remove and length, on short and long queues', () => {
    expect(firstDifference(0x135a, 20_000, 0.5)).toBe(-1);
    expect(firstDifference(0x135b, 40_000, 0.7)).toBe(-1);
    expect(firstDifference(0x135c, 40_000, 0.9)).toBe(-1);
  });

  it('removes the first of an item queued twice, and finds the second after it', () => {
    const fifo = new Fifo<object>();
    const items = Array.from({ length: 100 }, () => ({}));
    for (const item of items) fifo.push(item);
    const twice = items[50]!;
    fifo.push(twice);
    expect(fifo.remove(items[10]!)).toBe(true);
    expect(fifo.remove(twice)).toBe(true);
    expect(fifo.length).toBe(99);
    for (let i = 0; i < 98; i++) fifo.shift();
    expect(fifo.peek()).toBe(twice);
    expect(fifo.remove(twice)).toBe(true);
    expect(fifo.remove(twice)).toBe(false);
    expect(fifo.length).toBe(0);
  });

  it('takes out every item of a long queue, newest first or scattered, and keeps order and length', () => {
    const n = 100_000;
    const items = Array.from({ length: n }, (_, id) => ({ id }));
    const fifo = new Fifo<{ id: number }>();
    for (const item of items) fifo.push(item);
    // Every odd one, newest first, then the even ones but the first and the last, from the middle outwards.
    let removed = 0;
    for (let i = n - 1; i >= 0; i -= 2) if (fifo.remove(items[i]!)) removed++;
    expect(removed).toBe(n / 2);
    expect(fifo.length).toBe(n / 2);
    expect(fifo.peek()).toBe(items[0]);
    const evens = items.filter((item) => item.id % 2 === 0);
    removed = 0;
    for (let k = 0; k < evens.length - 1; k++) {
      const at = k % 2 === 0 ? evens.length / 2 + k / 2 : evens.length / 2 - (k + 1) / 2;
      if (at < evens.length - 1 && fifo.remove(evens[at]!)) removed++;
    }
    expect(removed).toBe(evens.length - 2);
    expect(fifo.length).toBe(2);
    const left: number[] = [];
    for (let item = fifo.shift(); item !== undefined; item = fifo.shift()) left.push(item.id);
    expect(left).toEqual([0, n - 2]);
    // Usable again afterwards.
    fifo.push(items[1]!);
    expect(fifo.length).toBe(1);
    expect(fifo.remove(items[1]!)).toBe(true);
    expect(fifo.length).toBe(0);
  });
});
