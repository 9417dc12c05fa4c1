// Covers what observers and stats() say about time and counts:
// - QueryEvent.queuedMs counts each moment once: the JS-side wait ends before the addon's submit
//   call, where the native queue wait begins. A JS thread held inside that call (preempted on a
//   busy machine: simulated here by a submit that returns late) counted that time twice, so a
//   statement queued behind a slow one reported a queuedMs above its totalMs.
// - stats().operations counts each operation once: an iteration whatever its chunks (and a first
//   chunk sent again once a reader is free), a maintenance call (ping, checkpoint, ...) as a whole;
//   started = completed + failed + cancelled.
// - stats() of a closed pool: no reader idle, no WAL frame once the -wal file is gone.
import { tracingChannel } from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, QueryEvent } from '../lib/index.ts';
import { binding } from '../lib/native/binding.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('observer-timing-counts');

type Submit = (...args: unknown[]) => number;
type Addon = { NativePool: new (...args: never[]) => { submit: Submit } };

/** When set, the next submit() of a pool of this file returns only this many ms after the addon took the request. */
let stallNextSubmitMs = 0;

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

beforeAll(() => {
  const addon = binding() as unknown as Addon;
  const OriginalPool = addon.NativePool;
  addon.NativePool = class StallingPool extends OriginalPool {
    constructor(...args: never[]) {
      super(...args);
      const submit = this.submit;
      this.submit = (...submitArgs: unknown[]): number => {
        const slot = submit(...submitArgs);
        const stall = stallNextSubmitMs;
        if (stall > 0 && slot >= 0) {
          stallNextSubmitMs = 0;
          busyWait(stall);
        }
        return slot;
      };
    }
  };
  afterAll(() => {
    addon.NativePool = OriginalPool;
  });
});

/** A read that keeps its connection busy for a while (tens of ms or more). */
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) AS n FROM c';
const STALL_MS = 40;

function recorder(): { events: QueryEvent[]; observer: { onQuery(e: QueryEvent): void } } {
  const events: QueryEvent[] = [];
  return { events, observer: { onQuery: (e) => void events.push(e) } };
}

function expectTimesAddUp(e: QueryEvent | undefined): void {
  expect(e).toBeDefined();
  expect(e!.error).toBeUndefined();
  expect(e!.queuedMs).toBeGreaterThanOrEqual(0);
  expect(e!.queuedMs).toBeLessThanOrEqual(e!.totalMs);
  expect(e!.queuedMs + e!.execMs).toBeLessThanOrEqual(e!.totalMs + 0.01);
}

/**
 * Runs `fn` while `litepool:query` has a subscriber: an observed operation then ends through its
 * own promise, and its JS-side wait is clocked from the call (as with a retry policy or a plan lookup).
 */
async function withQuerySubscriber(fn: () => Promise<void>): Promise<void> {
  const ignore = (): void => {};
  const handlers = { start: ignore, end: ignore, asyncStart: ignore, asyncEnd: ignore, error: ignore };
  tracingChannel('litepool:query').subscribe(handlers);
  try {
    await fn();
  } finally {
    tracingChannel('litepool:query').unsubscribe(handlers);
  }
}

describe('queuedMs never exceeds totalMs when the submit call itself takes long', () => {
  it("a snapshot get queued behind the snapshot's slow read", async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 1, observers: [r.observer] });
    await withQuerySubscriber(() =>
      db.read(async (s) => {
        const slow = s.get(SLOW);
        stallNextSubmitMs = STALL_MS;
        const fast = s.get('SELECT 1 AS one /* stalled */');
        expect(stallNextSubmitMs).toBe(0);
        await Promise.all([slow, fast]);
      }),
    );
    const e = r.events.find((event) => event.sql.includes('stalled'));
    expectTimesAddUp(e);
    // The stall is in it once: the get waited for the slow read, the stall included.
    expect(e!.queuedMs).toBeGreaterThanOrEqual(STALL_MS * 0.9);
  });

  it('a pool get under a retry policy, queued behind a slow read on the only reader', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 1, observers: [r.observer], retry: { attempts: 3 } });
    const slow = db.get(SLOW);
    stallNextSubmitMs = STALL_MS;
    const fast = db.get('SELECT 2 AS two /* stalled */');
    expect(stallNextSubmitMs).toBe(0);
    await Promise.all([slow, fast]);
    expectTimesAddUp(r.events.find((event) => event.sql.includes('stalled')));
  });

  it('a write queue entry queued behind a slow statement on the writer', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 1, observers: [r.observer] });
    const queue = db.writeQueue({});
    await withQuerySubscriber(async () => {
      const slow = db.exec(`CREATE TABLE big AS ${SLOW}`);
      stallNextSubmitMs = STALL_MS;
      const entry = queue.enqueue("INSERT INTO t (v) VALUES ('queued') /* stalled */");
      await Promise.all([slow, entry]);
      expect(stallNextSubmitMs).toBe(0);
    });
    await queue.shutdown();
    expectTimesAddUp(r.events.find((event) => event.sql.includes('stalled')));
  });
});

/** What `run` added to stats().operations. */
async function counted(db: Pool, run: () => Promise<unknown>): Promise<{ started: number; completed: number; failed: number; cancelled: number }> {
  const before = db.stats().operations;
  await run();
  const after = db.stats().operations;
  return {
    started: after.started - before.started,
    completed: after.completed - before.completed,
    failed: after.failed - before.failed,
    cancelled: after.cancelled - before.cancelled,
  };
}

function balanced(db: Pool): void {
  const { started, completed, failed, cancelled } = db.stats().operations;
  expect(started).toBe(completed + failed + cancelled);
}

const ONCE = { started: 1, completed: 1, failed: 0, cancelled: 0 };

async function seeded(options: Parameters<typeof pools.fresh>[0], rows: number): Promise<Pool> {
  const db = await pools.fresh(options);
  await db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${rows}) INSERT INTO t (v) SELECT 'v' || i FROM s`);
  return db;
}

async function drain(rows: AsyncIterable<unknown>, stopAfter = Infinity): Promise<number> {
  let n = 0;
  for await (const _ of rows) if (++n >= stopAfter) break;
  return n;
}

describe('stats().operations counts an iteration once', () => {
  for (const readers of [2, 0]) {
    it(`db.iterate of 100 rows in chunks of 10, read to the end or stopped early (readers: ${readers})`, async () => {
      const r = recorder();
      const db = await seeded({ readers, observers: [r.observer] }, 100);
      expect(await counted(db, async () => expect(await drain(db.iterate('SELECT * FROM t', [], { chunkSize: 10 }))).toBe(100))).toEqual(ONCE);
      expect(await counted(db, async () => expect(await drain(db.iterate('SELECT * FROM t', [], { chunkSize: 10 }), 35)).toBe(35))).toEqual(ONCE);
      expect(r.events.filter((e) => e.operation === 'iterate')).toHaveLength(2);
      balanced(db);
    });
  }

  it('in a snapshot and a transaction', async () => {
    const db = await seeded({ readers: 1 }, 100);
    expect(await counted(db, () => db.read(async (s) => drain(s.iterate('SELECT * FROM t', [], { chunkSize: 10 }))))).toEqual(ONCE);
    expect(await counted(db, () => db.transaction(async (tx) => drain(tx.iterate('SELECT * FROM t', [], { chunkSize: 10 }))))).toEqual(ONCE);
    balanced(db);
  });

  it('a first chunk run without a pin, then again once a pin is free: once', async () => {
    // Two readers, one leased: the first chunk runs on the shared reader; rows remain, so the
    // iteration waits for the pin and starts over.
    const db = await seeded({ readers: 2 }, 1000);
    const lease = await db.acquire();
    const delta = await counted(db, async () => {
      const rows = drain(db.iterate('SELECT * FROM t'));
      await sleep(30);
      await lease.release();
      expect(await rows).toBe(1000);
    });
    expect(delta).toEqual(ONCE);
    balanced(db);
  });

  it('a later chunk cancelled by the iteration\'s signal: the iteration counts as cancelled, once', async () => {
    const db = await seeded({ readers: 1 }, 100);
    const controller = new AbortController();
    const reason = new Error('enough');
    const delta = await counted(db, () =>
      db.read(async (s) => {
        const rows = s.iterate('SELECT * FROM t', [], { chunkSize: 10, signal: controller.signal })[Symbol.asyncIterator]();
        for (let i = 0; i < 15; i++) await rows.next();
        controller.abort(reason);
        expect(await rejection(drain({ [Symbol.asyncIterator]: () => rows }))).toBe(reason);
      }),
    );
    expect(delta).toEqual({ started: 1, completed: 0, failed: 0, cancelled: 1 });
    balanced(db);
  });
});

describe('stats().operations counts each maintenance call once', () => {
  it('ping, checkpoint, optimize, analyze, integrityCheck, foreignKeyCheck, vacuum, vacuumInto, backup', async () => {
    const r = recorder();
    const db = await seeded({ readers: 1, observers: [r.observer] }, 100);
    r.events.length = 0;
    const calls: [string, () => Promise<unknown>][] = [
      ['ping', () => db.ping()],
      ['checkpoint', () => db.checkpoint()],
      ['checkpoint truncate', () => db.checkpoint('truncate')],
      ['optimize', () => db.optimize()],
      ['analyze', () => db.analyze()],
      ['integrityCheck', () => db.integrityCheck()],
      ['foreignKeyCheck', () => db.foreignKeyCheck()],
      ['vacuum', () => db.vacuum()],
      ['vacuumInto', () => db.vacuumInto(pools.file('compact'))],
      ['backup', () => db.backup(pools.file('copy'))],
    ];
    for (const [name, call] of calls) expect(await counted(db, call), name).toEqual(ONCE);
    // None of them is a query-level operation.
    expect(r.events).toHaveLength(0);
    // One refused as a whole counts once too.
    const aborted = AbortSignal.abort(new Error('no'));
    const refused = await counted(db, () => db.ping({ signal: aborted }).catch(() => undefined));
    expect(refused.started).toBeLessThanOrEqual(1);
    expect(refused.started).toBe(refused.cancelled + refused.failed);
    balanced(db);
  });
});

describe('stats() of a closed pool', () => {
  it('no reader is idle, and the WAL the close() checkpoint emptied and removed has no frame', async () => {
    const db = await pools.fresh({ readers: 3 });
    for (let i = 0; i < 5; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`v${i}`]);
    expect(db.stats().wal.frames).toBeGreaterThan(0);
    expect(db.stats().readers.idle).toBe(3);
    await db.close();
    const stats = db.stats();
    expect(stats.readers).toEqual({ size: 3, busy: 0, idle: 0, pinned: 0 });
    expect(stats.writer).toMatchObject({ busy: false, queued: 0, held: false });
    expect(stats.wal).toMatchObject({ bytes: 0, frames: 0 });
    expect(stats.wal.checkpoints).toBeGreaterThanOrEqual(1);
  });
});
