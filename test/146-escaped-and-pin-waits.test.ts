// Covers three waits that outlived what bounds them. (1) A statement of a transaction or write
// lease that waits for its plan (an observer asks for plans) and is still waiting when its scope
// ends (its caller did not await it, and the transaction rolls back or the lease is released) is
// refused (ScopeEndedError, or the rollback's reason): it never
// reaches SQLite (no beforeQuery), never lands in the transaction the writer runs next, and its
// promise never resolves for a row that was not kept; the dispatcher also refuses any request of a
// writer session that has ended at the moment it would be handed to the addon, a backlogged one
// included. (2) acquire({ timeout }) and read(fn, { signal }) whose Pin waits in the shared reader
// ring behind busy readers settle with AcquireTimeoutError or the abort reason while those readers
// still run (read()'s callback never runs), and the Pin that lands later is let go at once: no
// reader stays pinned, and the pin stays counted until then. (3) A pool iteration's first next()
// with a `timeout` settles like a get() waiting for a reader, counted as cancelled, and a first
// chunk that a reader ran all the same and that kept that reader has the iteration ended on it.
// Counts and orderings; timings only as "before the long queries were stopped".
import { describe, expect, it } from 'vitest';
import { ReaderPins } from '../lib/connections/reader-pins.ts';
import { WriterGate } from '../lib/connections/writer-gate.ts';
import { AcquireTimeoutError, OperationTimeoutError, ScopeEndedError, type Observer, type Pool } from '../lib/index.ts';
import { Op, Status, Target } from '../lib/native/contract.ts';
import { Dispatcher } from '../lib/request/dispatcher.ts';
import type { Job } from '../lib/request/job.ts';
import type { Request, RequestRunner } from '../lib/request/requests.ts';
import { READERS, sessionRoute } from '../lib/request/route.ts';
import { FakeNative } from './helpers/fake-native.ts';
import { fakeDispatcher } from './helpers/fake-dispatcher.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, settleOrReport, track, type Outcome } from './helpers/waits.ts';

const pools = tempPools('escaped-and-pin-waits');

/** A read that never ends by itself (only an interrupt stops it). */
const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';

/** An observer that asks for plans, and the statements that reached beforeQuery. */
function planWatcher(): { observer: Observer; seen: string[] } {
  const seen: string[] = [];
  return { observer: { wantsQueryPlan: true, beforeQuery: (q) => void seen.push(q.sql) }, seen };
}

/**
 * Keeps both readers of a two-reader pool busy (a query each that runs until stopped), starts
 * `operations`, and waits for them to settle (a watchdog reports one that does not as pending);
 * then stops the readers' queries. `stillBusy`: those queries were still running when the
 * operations had settled.
 */
async function whileReadersBusy(db: Pool, operations: () => Promise<unknown>[]): Promise<{ outcomes: Outcome<unknown>[]; stillBusy: boolean }> {
  const controller = new AbortController();
  const queries = [track(db.get(ENDLESS, [], { signal: controller.signal })), track(db.get(ENDLESS, [], { signal: controller.signal }))];
  try {
    const outcomes = await settleOrReport(operations(), 5_000);
    return { outcomes, stillBusy: queries.every((query) => !query.settled()) };
  } finally {
    controller.abort(new Error('stop'));
    await Promise.allSettled(queries.map((query) => query.promise));
  }
}

/**
 * Waits (up to a 10 s watchdog: a loaded machine may take seconds to end the busy queries and let
 * the late pin land) until no reader is pinned; returns how many still are.
 */
async function pinnedAfterSettling(db: Pool): Promise<number> {
  for (let i = 0; i < 1000 && db.stats().readers.pinned > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return db.stats().readers.pinned;
}

/** Every started operation is counted once as completed, failed or cancelled. */
function addsUp(db: Pool): boolean {
  const { started, completed, failed, cancelled } = db.stats().operations;
  return started === completed + failed + cancelled;
}

describe('a statement of a scope still waiting for its plan when the scope ends', () => {
  it('a transaction whose callback throws: rejects with that error, never reaches SQLite nor the next transaction', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 2, observers: [watcher.observer] });
    const escaped = 'INSERT INTO t (v) VALUES (?) /* escaped */';
    let late: Promise<unknown> | undefined;
    const failure = new Error('A rolls back');
    const a = db.transaction(async (tx) => {
      late = tx.run(escaped, ['from A']);
      late.catch(() => undefined);
      throw failure;
    });
    const b = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['from B']);
      throw Object.assign(new Error('B rolls back'), { seen: await tx.all('SELECT v FROM t ORDER BY id') });
    });
    expect(await rejection(a)).toBe(failure);
    // Ended by the callback's error: the statement is cancelled with it.
    expect(await rejection(late!)).toBe(failure);
    // B saw only its own row: nothing of A's ran inside it.
    expect((await rejection(b)).seen).toEqual([{ v: 'from B' }]);
    expect(await db.all('SELECT v FROM t')).toEqual([]);
    expect(watcher.seen.filter((sql) => sql === escaped)).toEqual([]);
    expect(addsUp(db)).toBe(true);
  });

  it('a nested transaction whose callback throws: rejects with ScopeEndedError, never runs in its parent', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 2, observers: [watcher.observer] });
    const escaped = 'INSERT INTO t (v) VALUES (?) /* nested escaped */';
    let late: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      const failure = new Error('nested rolls back');
      const nested = tx.transaction(async (inner) => {
        late = inner.run(escaped, ['nested']);
        late.catch(() => undefined);
        throw failure;
      });
      await expect(nested).rejects.toBe(failure);
      await tx.run('INSERT INTO t (v) VALUES (?)', ['parent']);
    });
    expect(await rejection(late!)).toBeInstanceOf(ScopeEndedError);
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'parent' }]);
    expect(watcher.seen.filter((sql) => sql === escaped)).toEqual([]);
  });

  it('a write lease: rejects with ScopeEndedError once released, never lands in the next transaction', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 2, observers: [watcher.observer] });
    const escaped = 'INSERT INTO t (v) VALUES (?) /* lease escaped */';
    const lease = await db.acquire({ write: true });
    await lease.exec('BEGIN');
    const late = lease.run(escaped, ['lease']);
    late.catch(() => undefined);
    const released = lease.release();
    const b = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['from B']);
      throw new Error('B rolls back');
    });
    await released;
    expect(await rejection(late)).toBeInstanceOf(ScopeEndedError);
    await rejection(b);
    expect(await db.all('SELECT v FROM t')).toEqual([]);
    expect(watcher.seen.filter((sql) => sql === escaped)).toEqual([]);
  });

  it('300 rounds: every escaped statement either committed with its transaction or was refused', async () => {
    const db = await pools.fresh({ readers: 2, observers: [{ wantsQueryPlan: true, beforeQuery() {} }] });
    const outcomes: { i: number; ok: boolean }[] = [];
    for (let i = 0; i < 300; i++) {
      let late: Promise<unknown> | undefined;
      const a = db.transaction(async (tx) => {
        late = tx.run(`INSERT INTO t (v) VALUES (?) /* ${i} */`, [`esc${i}`]);
        late.catch(() => undefined);
        if (i % 2 === 0) await tx.run(`INSERT INTO t (v) VALUES (?) /* a${i} */`, [`a${i}`]);
      });
      const b = db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (v) VALUES (?)', [`b${i}`]);
        throw new Error('rollback');
      });
      await Promise.allSettled([a, b]);
      const [outcome] = await settleOrReport([late!]);
      expect(outcome!.status).not.toBe('pending');
      if (outcome!.status === 'rejected') expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ScopeEndedError);
      outcomes.push({ i, ok: outcome!.status === 'fulfilled' });
    }
    const kept = new Set((await db.all<{ v: string }>('SELECT v FROM t')).map((row) => row.v));
    // Resolved exactly when its row is there.
    expect(outcomes.filter(({ i, ok }) => ok !== kept.has(`esc${i}`))).toEqual([]);
    expect([...kept].filter((v) => v.startsWith('b'))).toEqual([]);
  });
});

describe('the dispatcher never hands the addon a request of a writer session that has ended', () => {
  const setup = (slots = 8) => fakeDispatcher(slots);
  const run = (route: ReturnType<typeof sessionRoute>, sql: string) =>
    ({ op: Op.Run, route, sql, values: undefined, names: undefined, keepTransaction: true }) as const;

  it('refuses one sent after the session ended, and one that waited for a slot meanwhile', async () => {
    const { native, gate, dispatcher } = setup(1);
    const session = await gate.acquire(undefined, undefined);
    const route = sessionRoute(session);
    const first = dispatcher.run(run(route, 'INSERT 1'));
    // No slot free: this one waits in the backlog while the session ends.
    const waiting = dispatcher.run(run(route, 'INSERT 2'));
    expect(dispatcher.queued).toBe(1);
    gate.release(session);
    // Sent after the end (behind the backlogged one, in order).
    const after = dispatcher.run(run(route, 'INSERT 3'));
    native.deliverSlots([native.slotOf('INSERT 1')], Status.Done);
    await first;
    // The slot freed: neither of them went to the addon.
    expect(native.submitted.map((s) => s.sql)).toEqual(['INSERT 1']);
    const [refused, refusedAfter] = await settleOrReport([waiting, after], 2_000);
    expect(refused).toMatchObject({ status: 'rejected', reason: expect.any(ScopeEndedError) });
    expect(refusedAfter).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/writer session has ended/) } });
    expect(dispatcher.queued).toBe(0);
    expect(dispatcher.counters).toMatchObject({ started: 3, completed: 1, failed: 2, cancelled: 0 });
    await dispatcher.idle();
  });
});

describe('acquire() and read() whose Pin waits behind busy readers', () => {
  it('acquire({ timeout }) rejects with AcquireTimeoutError while the readers still run; no reader stays pinned', async () => {
    const db = await pools.open({ readers: 2 });
    const { outcomes, stillBusy } = await whileReadersBusy(db, () => [db.acquire({ timeout: 100 })]);
    const [outcome] = outcomes;
    expect({ stillBusy, outcome }).toMatchObject({ stillBusy: true, outcome: { status: 'rejected', reason: { code: 'LITEPOOL_ACQUIRE_TIMEOUT', timeout: 100 } } });
    expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(AcquireTimeoutError);
    // The Pin landed once a reader was free, and was let go at once.
    expect(await pinnedAfterSettling(db)).toBe(0);
    const lease = await db.acquire({ timeout: 5_000 });
    expect(db.stats().readers.pinned).toBe(1);
    expect(await lease.get('SELECT 1 AS v')).toEqual({ v: 1 });
    await lease.release();
    expect(db.stats()).toMatchObject({ readers: { pinned: 0 }, leasesWaiting: 0 });
    expect(addsUp(db)).toBe(true);
  });

  it('read(fn, { signal }) aborted rejects with the reason while the readers still run; fn never runs', async () => {
    const db = await pools.open({ readers: 2 });
    const controller = new AbortController();
    let ran = false;
    const read = () =>
      db.read(async (conn) => {
        ran = true;
        return conn.get('SELECT 1 AS v');
      }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gave up')), 50);
    const { outcomes, stillBusy } = await whileReadersBusy(db, () => [read()]);
    const [outcome] = outcomes;
    expect(stillBusy).toBe(true);
    expect(outcome).toMatchObject({ status: 'rejected', reason: { message: 'gave up' } });
    expect(await pinnedAfterSettling(db)).toBe(0);
    expect(ran).toBe(false);
    expect(await db.read((conn) => conn.get('SELECT 2 AS v'))).toEqual({ v: 2 });
    expect(await pinnedAfterSettling(db)).toBe(0);
  });
});

/** Pins land only when told (land(), drop()); every request recorded. */
class HeldPins implements RequestRunner {
  readonly requests: Request[] = [];
  readonly #pending: { resolve: (reader: number) => void; reject: (reason: unknown) => void }[] = [];
  run(request: Request): Promise<any> {
    this.requests.push(request);
    if (request.op !== Op.Pin) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }
  land(reader: number): void {
    this.#pending.shift()!.resolve(reader);
  }
  /** The dispatcher took a cancelled Pin out of its queue before any reader saw it. */
  drop(): void {
    const pin = this.requests.filter((r) => r.op === Op.Pin)[0]!;
    this.#pending.shift()!.reject(pin.signal?.reason);
  }
}

describe('ReaderPins: a Pin that outlives its lease', () => {
  it('landing late, it is let go at once; its pin stays counted until then', async () => {
    const runner = new HeldPins();
    const pins = new ReaderPins(runner, 2);
    const [outcome] = await settleOrReport([pins.acquire(30, undefined)], 2_000);
    expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'LITEPOOL_ACQUIRE_TIMEOUT', timeout: 30 } });
    const pin = runner.requests[0]!;
    expect(pin.op).toBe(Op.Pin);
    // The Pin was cancelled (dropped if still queued on the JS side).
    expect(pin.signal?.aborted).toBe(true);
    // The one pin of two readers is still counted: the next lease waits for it.
    const next = track(pins.acquire(undefined, undefined));
    expect(pins.waiting).toBe(1);
    runner.land(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.requests.filter((r) => r.op === Op.Unpin).map((r) => r.route.reader)).toEqual([1]);
    // Let go: the waiting lease gets the pin, and its own Pin goes.
    expect(pins.waiting).toBe(0);
    expect(runner.requests.filter((r) => r.op === Op.Pin)).toHaveLength(2);
    runner.land(1);
    expect(await next.promise).toBe(1);
    expect(pins.isLeased(1)).toBe(true);
  });

  it('dropped before any reader took it, its pin is given back', async () => {
    const runner = new HeldPins();
    const pins = new ReaderPins(runner, 2);
    const controller = new AbortController();
    const acquired = pins.acquire(undefined, controller.signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.requests.map((r) => r.op)).toEqual([Op.Pin]);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await settleOrReport([acquired], 2_000)).toEqual([{ status: 'rejected', reason }]);
    runner.drop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.requests.filter((r) => r.op === Op.Unpin)).toEqual([]);
    // The pin is free: the next acquire sends its Pin at once.
    const next = pins.acquire(undefined, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.requests.filter((r) => r.op === Op.Pin)).toHaveLength(2);
    runner.land(0);
    expect(await next).toBe(0);
  });
});

describe("a pool iteration's first next() with a timeout behind busy readers", () => {
  it('rejects with OperationTimeoutError while the readers still run, as a get() does; counted as cancelled', async () => {
    const db = await pools.open({ readers: 2 });
    const before = db.stats().operations;
    const { outcomes, stillBusy } = await whileReadersBusy(db, () => [db.iterate('SELECT 1 AS v', [], { timeout: 100 }).next(), db.get('SELECT 1 AS v', [], { timeout: 100 })]);
    const [iterated, got] = outcomes;
    expect(stillBusy).toBe(true);
    for (const outcome of [iterated, got]) {
      expect(outcome!.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(OperationTimeoutError);
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ timeout: 100 });
    }
    // The two that timed out, and the readers' two queries stopped since.
    const after = db.stats().operations;
    expect(after.cancelled - before.cancelled).toBe(4);
    expect(await pinnedAfterSettling(db)).toBe(0);
    // A long iteration afterwards holds a reader while rows remain, and lets it go at its end.
    let rows = 0;
    for await (const _ of db.iterate('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c')) rows++;
    expect(rows).toBe(2000);
    expect(await pinnedAfterSettling(db)).toBe(0);
    expect(addsUp(db)).toBe(true);
  });

  it('a first chunk settled early that a reader ran all the same and that kept it is ended on that reader', async () => {
    /** Records the reader each request went to. */
    class Recording extends FakeNative {
      readonly readers: number[] = [];
      override submit(target: number, op: number, flags: number, sql: string | number | readonly string[] | undefined, _v?: unknown, _n?: unknown, reader = -1): number {
        const slot = super.submit(target, op, flags, sql);
        if (slot >= 0) this.readers.push(reader);
        return slot;
      }
    }
    const native = new Recording(8);
    let dispatcher: Dispatcher;
    const gate = new WriterGate<Job>((job) => dispatcher.writerTurn(job));
    dispatcher = new Dispatcher(native, gate, false, true);
    native.attach(dispatcher.onBatch);
    const start = (sql: string, signal: AbortSignal) =>
      dispatcher.run({ op: Op.IterateStart, route: READERS, sql, values: undefined, names: undefined, rowsLeft: 'hold', chunkRows: 2, iteration: { names: undefined, build: undefined }, rowMode: 'object', signal });
    const late = new AbortController();
    const skipped = new AbortController();
    const first = start('SELECT late', late.signal);
    const second = start('SELECT skipped', skipped.signal);
    late.abort(new Error('late'));
    skipped.abort(new Error('skipped'));
    // Settled at once, before any completion.
    const settled = await settleOrReport([first, second], 1_000);
    expect(settled.map((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message)).toEqual(['late', 'skipped']);
    expect(native.cancelled).toEqual([native.slotOf('SELECT late'), native.slotOf('SELECT skipped')]);
    // One ran before it saw the cancel and kept its reader (rows left); the other was skipped.
    native.deliver([
      [native.slotOf('SELECT late'), Status.RowsMore, ['v'], 1, undefined, [1, 2]],
      [native.slotOf('SELECT skipped'), Status.Cancelled, 0, 0, 0],
    ]);
    const ends = native.submitted.map((s, i) => ({ ...s, reader: native.readers[i] })).filter((s) => s.op === Op.IterateEnd);
    expect(ends).toEqual([expect.objectContaining({ target: Target.PinnedReader, reader: 0 })]);
    expect(dispatcher.counters).toMatchObject({ started: 2, cancelled: 2, completed: 0, failed: 0 });
  });
});
