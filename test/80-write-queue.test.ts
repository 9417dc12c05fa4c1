// Covers write queues (db.writeQueue): option checks (capacity, overflow, blockTimeout, unknown
// keys); the 'reject' policy (QueueFullError, push() returning false, rejected + accepted adding
// up); 'drop-oldest' (evicted entries reject with dropped: true and never reach the table);
// 'block' (enqueue waits for room, every entry lands in push order); { blockTimeout } refusing
// with QueueTimeoutError while a transaction holds the writer; fire-and-forget failures reaching
// onError and stats().failed without stopping later entries; enqueue results (run result, and rows
// for RETURNING); order of 1,000 pushes; shutdown() draining then refusing with QueueClosedError;
// db.close() draining queues first; the presets; and highWater never exceeding capacity.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  QueueClosedError,
  QueueFullError,
  QueueTimeoutError,
  SqliteError,
  WriteQueue,
  open,
  type Pool,
  type RunResult,
  type WriteQueueStats,
} from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('queue');
let db: Pool;

beforeEach(async () => {
  db = await pools.fresh({ readers: 2 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL UNIQUE)');
});

async function tableValues(pool: Pool = db): Promise<number[]> {
  const rows = await pool.all<{ v: number }>('SELECT v FROM t ORDER BY id');
  return rows.map((row) => row.v);
}

function checkStatsShape(stats: WriteQueueStats, capacity: number): void {
  expect(stats.highWater).toBeLessThanOrEqual(capacity);
  expect(stats.depth).toBeLessThanOrEqual(capacity);
}

describe('option checks', () => {
  it('capacity 0, -1 and 1.5 are RangeErrors', () => {
    for (const capacity of [0, -1, 1.5]) {
      expect(() => db.writeQueue({ capacity }), `capacity ${capacity}`).toThrow(RangeError);
    }
  });

  it("an unknown policy ('drop-newest') is a RangeError; a number is a TypeError", () => {
    expect(() => db.writeQueue({ overflow: 'drop-newest' as never })).toThrow(RangeError);
    expect(() => db.writeQueue({ overflow: 42 as never })).toThrow(TypeError);
  });

  it('blockTimeout 0, -5, 1.5 and 2^31 are RangeErrors (a timer takes at most 2^31 - 1 ms); "x" is a TypeError', () => {
    for (const blockTimeout of [0, -5, 1.5, 2 ** 31]) {
      expect(() => db.writeQueue({ overflow: { blockTimeout } }), `blockTimeout ${blockTimeout}`).toThrow(
        expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' }),
      );
    }
    expect(() => db.writeQueue({ overflow: { blockTimeout: 'x' as never } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' }),
    );
    // The largest timer is accepted.
    expect(db.writeQueue({ overflow: { blockTimeout: 2 ** 31 - 1 } }).overflow).toEqual({ blockTimeout: 2 ** 31 - 1 });
  });

  it('an unknown option key is a TypeError', () => {
    expect(() => db.writeQueue({ capacty: 10 } as never)).toThrow(TypeError);
    expect(() => db.writeQueue({ overflow: { blockTimeout: 10, extra: 1 } as never })).toThrow(TypeError);
  });
});

describe("overflow 'reject'", () => {
  it('refuses a burst beyond capacity with QueueFullError; every accepted entry lands', async () => {
    const queue = db.writeQueue({ capacity: 2, inFlight: 1, overflow: 'reject' });
    const total = 40;
    const outcomes = await Promise.allSettled(
      Array.from({ length: total }, (_, i) => queue.enqueue('INSERT INTO t (v) VALUES (?)', [i])),
    );
    const accepted = outcomes.map((o, i) => (o.status === 'fulfilled' ? i : -1)).filter((i) => i >= 0);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    for (const { reason } of refused) {
      expect(reason).toBeInstanceOf(QueueFullError);
      expect((reason as QueueFullError).code).toBe('LITEPOOL_QUEUE_FULL');
      expect((reason as QueueFullError).dropped).toBe(false);
    }
    expect(await tableValues()).toEqual(accepted);
    const stats = queue.stats();
    expect(stats.rejected).toBe(refused.length);
    expect(stats.accepted).toBe(accepted.length);
    expect(stats.rejected + stats.accepted).toBe(total);
    expect(stats.completed).toBe(accepted.length);
    expect(stats.failed).toBe(0);
    checkStatsShape(stats, 2);
    await queue.shutdown();
  });

  it('push() returns false when the entry is refused and true when accepted', async () => {
    const errors: unknown[] = [];
    const queue = db.writeQueue({ capacity: 2, inFlight: 1, overflow: 'reject', onError: (error) => errors.push(error) });
    const results = Array.from({ length: 10 }, (_, i) => queue.push('INSERT INTO t (v) VALUES (?)', [i]));
    // Capacity counts the entry already handed to the writer: two accepted in all.
    expect(results.slice(0, 2)).toEqual([true, true]);
    expect(results.slice(2).every((r) => r === false)).toBe(true);
    await queue.shutdown();
    expect(await tableValues()).toEqual([0, 1]);
    const stats = queue.stats();
    expect(stats.accepted).toBe(2);
    expect(stats.rejected).toBe(8);
    expect(stats.accepted + stats.rejected).toBe(10);
  });
});

describe("overflow 'drop-oldest'", () => {
  it('evicts the oldest waiting entries: their promises reject with dropped: true and they never land', async () => {
    const queue = db.writeQueue({ capacity: 3, inFlight: 1, overflow: 'drop-oldest' });
    const total = 20;
    const outcomes = await Promise.allSettled(
      Array.from({ length: total }, (_, i) => queue.enqueue('INSERT INTO t (v) VALUES (?)', [i])),
    );
    const landed = outcomes.map((o, i) => (o.status === 'fulfilled' ? i : -1)).filter((i) => i >= 0);
    const dropped = outcomes.map((o, i) => (o.status === 'rejected' ? i : -1)).filter((i) => i >= 0);
    expect(dropped.length).toBeGreaterThan(0);
    for (const index of dropped) {
      const { reason } = outcomes[index] as PromiseRejectedResult;
      expect(reason).toBeInstanceOf(QueueFullError);
      expect((reason as QueueFullError).code).toBe('LITEPOOL_QUEUE_FULL');
      expect((reason as QueueFullError).dropped).toBe(true);
    }
    const values = await tableValues();
    expect(values).toEqual(landed);
    for (const index of dropped) expect(values).not.toContain(index);
    // The first entry was handed to the writer at once (it cannot be evicted); of the rest, the
    // newest are the ones kept (capacity 3: the running one and two waiting).
    expect(values).toEqual([0, total - 2, total - 1]);
    const stats = queue.stats();
    expect(stats.dropped).toBe(dropped.length);
    expect(stats.completed).toBe(landed.length);
    expect(stats.rejected).toBe(0);
    checkStatsShape(stats, 3);
    await queue.shutdown();
  });

  it('dropped fire-and-forget entries are reported to onError and never land', async () => {
    const reported: unknown[] = [];
    const queue = db.writeQueue({ capacity: 2, inFlight: 1, overflow: 'drop-oldest', onError: (error) => reported.push(error) });
    for (let i = 0; i < 12; i++) expect(queue.push('INSERT INTO t (v) VALUES (?)', [i])).toBe(true);
    await queue.shutdown();
    const stats = queue.stats();
    expect(stats.dropped).toBe(reported.length);
    for (const error of reported) {
      expect(error).toBeInstanceOf(QueueFullError);
      expect((error as QueueFullError).dropped).toBe(true);
    }
    const values = await tableValues();
    expect(values.length + stats.dropped).toBe(12);
    // Entry 0 was handed to the writer at once; capacity 2 leaves room for one more: the newest.
    expect(values).toEqual([0, 11]);
    checkStatsShape(stats, 2);
  });
});

describe("overflow 'block'", () => {
  it('enqueue waits for room; every entry lands, in push order', async () => {
    const queue = db.writeQueue({ capacity: 2, inFlight: 1, overflow: 'block' });
    const total = 60;
    const promises = Array.from({ length: total }, (_, i) => queue.enqueue('INSERT INTO t (v) VALUES (?)', [i]));
    const during = queue.stats();
    expect(during.blocked).toBeGreaterThan(0);
    expect(during.depth).toBeLessThanOrEqual(2);
    const results = (await Promise.all(promises)) as RunResult[];
    const rowids = results.map((r) => Number(r.lastInsertRowid));
    for (let i = 1; i < rowids.length; i++) expect(rowids[i]).toBeGreaterThan(rowids[i - 1]!);
    expect(await tableValues()).toEqual(Array.from({ length: total }, (_, i) => i));
    const rows = await db.all<{ id: number; v: number }>('SELECT id, v FROM t ORDER BY id');
    expect(rows.map((row) => row.id)).toEqual(rowids);
    const stats = queue.stats();
    expect(stats.accepted).toBe(total);
    expect(stats.completed).toBe(total);
    expect(stats.rejected).toBe(0);
    expect(stats.blocked).toBe(0);
    checkStatsShape(stats, 2);
    await queue.shutdown();
  });

  it('push() parks entries (returns true) and they all land in order', async () => {
    const queue = db.writeQueue({ capacity: 3, inFlight: 2, overflow: 'block' });
    for (let i = 0; i < 50; i++) expect(queue.push('INSERT INTO t (v) VALUES (?)', [i])).toBe(true);
    expect(queue.stats().blocked).toBeGreaterThan(0);
    await queue.shutdown();
    expect(await tableValues()).toEqual(Array.from({ length: 50 }, (_, i) => i));
    checkStatsShape(queue.stats(), 3);
  });

  it('{ blockTimeout: 50 } refuses with QueueTimeoutError while a transaction holds the writer', async () => {
    const queue = db.writeQueue({ capacity: 2, inFlight: 1, overflow: { blockTimeout: 50 } });
    let txStarted!: () => void;
    const started = new Promise<void>((resolve) => (txStarted = resolve));
    const tx = db.transaction(async (t) => {
      await t.run('INSERT INTO t (v) VALUES (?)', [-1]);
      txStarted();
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    await started;
    // The transaction holds the writer: nothing is handed over, both accepted entries wait here.
    const first = queue.enqueue('INSERT INTO t (v) VALUES (?)', [1]);
    const second = queue.enqueue('INSERT INTO t (v) VALUES (?)', [2]);
    const third = queue.enqueue('INSERT INTO t (v) VALUES (?)', [3]); // blocked: times out
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, blocked: 1 });
    const error = await third.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(QueueTimeoutError);
    expect((error as QueueTimeoutError).code).toBe('LITEPOOL_QUEUE_TIMEOUT');
    expect(queue.stats().rejected).toBe(1);
    await tx;
    await Promise.all([first, second]);
    expect(await tableValues()).toEqual([-1, 1, 2]);
    const stats = queue.stats();
    expect(stats.accepted).toBe(2);
    expect(stats.completed).toBe(2);
    checkStatsShape(stats, 2);
    await queue.shutdown();
  });
});

describe('entries', () => {
  it('fire-and-forget failures reach onError with the sql, count in stats().failed, and later entries still land', async () => {
    const reported: { error: unknown; sql: string; params: unknown }[] = [];
    const queue = db.writeQueue({ onError: (error, entry) => reported.push({ error, ...entry }) });
    const failingSql = 'INSERT INTO t (v) VALUES (?) -- duplicate';
    expect(queue.push('INSERT INTO t (v) VALUES (?)', [1])).toBe(true);
    expect(queue.push(failingSql, [1])).toBe(true);
    expect(queue.push('INSERT INTO t (v) VALUES (?)', [2])).toBe(true);
    expect(queue.push(failingSql, [2])).toBe(true);
    expect(queue.push('INSERT INTO t (v) VALUES (?)', [3])).toBe(true);
    await queue.shutdown();
    expect(reported).toHaveLength(2);
    for (const [i, item] of reported.entries()) {
      expect(item.sql).toBe(failingSql);
      expect(item.params).toEqual([i + 1]);
      expect(item.error).toBeInstanceOf(SqliteError);
      expect((item.error as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    }
    expect(await tableValues()).toEqual([1, 2, 3]);
    const stats = queue.stats();
    expect(stats.failed).toBe(2);
    expect(stats.completed).toBe(3);
    expect(stats.accepted).toBe(5);
  });

  it('enqueue resolves with { changes, lastInsertRowid }, and with rows for INSERT … RETURNING', async () => {
    const queue = db.writeQueue();
    const result = (await queue.enqueue('INSERT INTO t (v) VALUES (?)', [10])) as RunResult;
    expect(result.changes).toBe(1);
    const row = await db.get<{ id: number }>('SELECT id FROM t WHERE v = 10');
    expect(Number(result.lastInsertRowid)).toBe(row!.id);
    const returned = await queue.enqueue('INSERT INTO t (v) VALUES (?) RETURNING id', [11]);
    expect(Array.isArray(returned)).toBe(true);
    const inserted = await db.get<{ id: number }>('SELECT id FROM t WHERE v = 11');
    expect(returned).toEqual([{ id: inserted!.id }]);
    const updated = (await queue.enqueue('UPDATE t SET v = v + 100')) as RunResult;
    expect(updated.changes).toBe(2);
    await queue.shutdown();
  });

  it('1,000 pushes with increasing values: the rowid order equals the push order', async () => {
    const queue = db.writeQueue();
    for (let i = 0; i < 1000; i++) expect(queue.push('INSERT INTO t (v) VALUES (?)', [i])).toBe(true);
    await queue.shutdown();
    expect(await tableValues()).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const stats = queue.stats();
    expect(stats.completed).toBe(1000);
    checkStatsShape(stats, 1000);
  });

  it('bad input throws at the call (push) or rejects at once (enqueue)', async () => {
    const queue = db.writeQueue();
    expect(() => queue.push('INSERT INTO t (v) VALUES (?)', [new Date() as never])).toThrow(TypeError);
    await expect(queue.enqueue('INSERT INTO t (v) VALUES (?)', [Symbol('x') as never])).rejects.toBeInstanceOf(TypeError);
    await queue.shutdown();
    expect(queue.stats().accepted).toBe(0);
  });
});

describe('shutdown', () => {
  it('drains every accepted entry, then push() returns false and enqueue() rejects with QueueClosedError', async () => {
    const queue = db.writeQueue({ capacity: 5, inFlight: 2 });
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      if (i % 2 === 0) {
        expect(queue.push('INSERT INTO t (v) VALUES (?)', [i])).toBe(true);
      } else {
        const index = outcomes.push('pending') - 1;
        queue.enqueue('INSERT INTO t (v) VALUES (?)', [i]).then(
          () => (outcomes[index] = 'fulfilled'),
          () => (outcomes[index] = 'rejected'),
        );
      }
    }
    await queue.shutdown();
    // Every enqueue promise has settled by the time shutdown() resolves.
    expect(outcomes).toEqual(Array.from({ length: 15 }, () => 'fulfilled'));
    expect(await tableValues()).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const before = queue.stats().rejected;
    expect(queue.push('INSERT INTO t (v) VALUES (?)', [100])).toBe(false);
    const error = await queue.enqueue('INSERT INTO t (v) VALUES (?)', [101]).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(QueueClosedError);
    expect((error as QueueClosedError).code).toBe('LITEPOOL_QUEUE_CLOSED');
    expect(queue.stats().rejected).toBe(before + 2);
    expect(await tableValues()).not.toContain(100);
    expect(await tableValues()).not.toContain(101);
    // Idempotent.
    await queue.shutdown();
  });

  it('db.close() shuts queues down first: entries pushed just before close all land', async () => {
    const queue = db.writeQueue({ capacity: 50, inFlight: 4 });
    const critical = db.writeQueue(WriteQueue.forCritical());
    for (let i = 0; i < 300; i++) expect(queue.push('INSERT INTO t (v) VALUES (?)', [i])).toBe(true);
    const awaited = Array.from({ length: 50 }, (_, i) => critical.enqueue('INSERT INTO t (v) VALUES (?)', [1000 + i]));
    await db.close();
    const outcomes = await Promise.allSettled(awaited);
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(queue.stats().completed).toBe(300);
    const again = await open(db.path, { readers: 1 });
    try {
      const count = await again.get<{ n: number }>('SELECT count(*) AS n FROM t');
      expect(count!.n).toBe(350);
      const values = await tableValues(again);
      // Each queue keeps its own order (the two queues interleave).
      expect(values.filter((x) => x < 1000)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(values.filter((x) => x >= 1000)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
    } finally {
      await again.close();
    }
  });
});

describe('presets', () => {
  it('forMetrics, forCritical and nonBlocking return the documented options', () => {
    expect(WriteQueue.forMetrics()).toEqual({ capacity: 10_000, overflow: 'drop-oldest' });
    expect(WriteQueue.forCritical()).toEqual({ capacity: 1000, overflow: 'block' });
    expect(WriteQueue.nonBlocking()).toEqual({ capacity: 1000, overflow: 'reject' });
  });

  it('queues built from the presets carry those settings', async () => {
    const metrics = db.writeQueue(WriteQueue.forMetrics());
    expect(metrics.capacity).toBe(10_000);
    expect(metrics.overflow).toBe('drop-oldest');
    const critical = db.writeQueue(WriteQueue.forCritical());
    expect(critical.capacity).toBe(1000);
    expect(critical.overflow).toBe('block');
    const nonBlocking = db.writeQueue(WriteQueue.nonBlocking());
    expect(nonBlocking.capacity).toBe(1000);
    expect(nonBlocking.overflow).toBe('reject');
    await Promise.all([metrics.shutdown(), critical.shutdown(), nonBlocking.shutdown()]);
  });
});

describe('highWater', () => {
  it('never exceeds capacity under every policy', async () => {
    const policies = ['block', 'reject', 'drop-oldest', { blockTimeout: 5000 }] as const;
    let v = 0;
    for (const overflow of policies) {
      const queue = db.writeQueue({ capacity: 4, inFlight: 1, overflow, onError: () => undefined });
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        if (i % 3 === 0) queue.push('INSERT INTO t (v) VALUES (?)', [v++]);
        else pending.push(queue.enqueue('INSERT INTO t (v) VALUES (?)', [v++]).catch(() => undefined));
        checkStatsShape(queue.stats(), 4);
      }
      await Promise.all(pending);
      await queue.shutdown();
      const stats = queue.stats();
      expect(stats.highWater, JSON.stringify(overflow)).toBeLessThanOrEqual(4);
      expect(stats.highWater, JSON.stringify(overflow)).toBeGreaterThan(0);
    }
  });
});

describe('batches and mean batch size', () => {
  it('count the commits the entries took: grouped entries share one, ungrouped ones take one each', async () => {
    const grouped = db.writeQueue({ capacity: 5000 });
    await Promise.all(Array.from({ length: 2000 }, (_, i) => grouped.enqueue('INSERT INTO t (v) VALUES (?)', [i])));
    const stats = grouped.stats();
    expect(stats.completed).toBe(2000);
    expect(stats.batches).toBeGreaterThan(0);
    expect(stats.batches).toBeLessThan(2000); // 2,000 concurrent entries: some were committed together
    expect(stats.meanBatchSize).toBeCloseTo(stats.completed / stats.batches, 10);
    expect(stats.meanBatchSize).toBeGreaterThan(1);

    const alone = db.writeQueue({ capacity: 5000, groupCommit: false });
    await Promise.all(Array.from({ length: 300 }, (_, i) => alone.enqueue('INSERT INTO t (v) VALUES (?)', [10_000 + i])));
    expect(alone.stats().batches).toBe(300);
    expect(alone.stats().meanBatchSize).toBe(1);
    expect(db.writeQueue().stats().meanBatchSize).toBe(0);
  });
});
