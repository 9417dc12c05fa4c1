// Covers the bound a write queue's `capacity` puts on accepted, unfinished entries while the
// writer is held (a transaction, a write lease) or slow: with capacity 2 and the writer held,
// 50 enqueue()s give exactly 2 accepted entries under every policy ('reject' refuses 48,
// 'drop-oldest' evicts 48 and keeps the newest 2, 'block' parks 48 and lands all 50 in order,
// { blockTimeout } refuses 48 with QueueTimeoutError); nothing reaches the writer while a session
// holds it (depth counts them, running stays 0); 'drop-oldest' never evicts an entry already
// handed to the writer (it refuses the newcomer instead); depth + running never exceeds capacity
// with a large inFlight; a queue's turn keeps its place among sessions (writes queued before a
// transaction commit before it, writes queued after wait for it); a queue is not starved by
// back-to-back transactions; a write lease holds the queue back like a transaction does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueueFullError, QueueTimeoutError, open, type Pool, type WriteQueue, type WriteResult } from '../lib/index.ts';

let dir: string;
let counter = 0;
let db: Pool;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-queue-bounds-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  db = await open(join(dir, `bounds-${++counter}.db`), { readers: 1 });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)');
});

afterEach(async () => {
  if (!db.closed) await db.close();
});

async function tableValues(): Promise<number[]> {
  return (await db.all<{ v: number }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
}

/** Holds the writer in a transaction until the returned release() is called. */
async function holdWriter(): Promise<{ release: () => void; done: Promise<void> }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const done = db.transaction(async (tx) => {
    await tx.run('INSERT INTO t (v) VALUES (-1)');
    started();
    await gate;
  });
  await running;
  return { release, done };
}

function settle(promises: Promise<WriteResult>[]): Promise<PromiseSettledResult<WriteResult>[]> {
  return Promise.allSettled(promises);
}

/** enqueue()s `count` entries; their rejections are looked at later, so they are marked handled. */
function enqueueMany(queue: WriteQueue, count: number, first = 0): Promise<WriteResult>[] {
  return Array.from({ length: count }, (_, i) => {
    const promise = queue.enqueue('INSERT INTO t (v) VALUES (?)', [first + i]);
    promise.catch(() => undefined);
    return promise;
  });
}

describe('capacity 2 while a transaction holds the writer, 50 enqueue()s', () => {
  it("'reject': 2 accepted, 48 refused with QueueFullError; nothing is handed to the writer meanwhile", async () => {
    const held = await holdWriter();
    const queue = db.writeQueue({ capacity: 2, overflow: 'reject' });
    const promises = enqueueMany(queue, 50);
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, accepted: 2, rejected: 48 });
    // Still nothing handed over after the event loop turned.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0 });
    held.release();
    await held.done;
    const outcomes = await settle(promises);
    expect(outcomes.slice(0, 2).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    for (const outcome of outcomes.slice(2)) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as QueueFullError;
      expect(reason).toBeInstanceOf(QueueFullError);
      expect(reason.dropped).toBe(false);
    }
    expect(await tableValues()).toEqual([-1, 0, 1]);
    expect(queue.stats()).toMatchObject({ accepted: 2, completed: 2, rejected: 48, dropped: 0, highWater: 2, depth: 0, running: 0 });
    await queue.shutdown();
  });

  it("'drop-oldest': 48 evicted (dropped: true), the newest 2 land", async () => {
    const held = await holdWriter();
    const queue = db.writeQueue({ capacity: 2, overflow: 'drop-oldest' });
    const promises = enqueueMany(queue, 50);
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, accepted: 50, dropped: 48, rejected: 0 });
    held.release();
    await held.done;
    const outcomes = await settle(promises);
    const dropped = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as QueueFullError);
    expect(dropped).toHaveLength(48);
    for (const reason of dropped) {
      expect(reason).toBeInstanceOf(QueueFullError);
      expect(reason.dropped).toBe(true);
    }
    expect(outcomes.slice(48).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await tableValues()).toEqual([-1, 48, 49]);
    expect(queue.stats()).toMatchObject({ completed: 2, dropped: 48, highWater: 2 });
    await queue.shutdown();
  });

  it("'block': 2 accepted and 48 parked; all 50 land in order once the writer is free", async () => {
    const held = await holdWriter();
    const queue = db.writeQueue({ capacity: 2, overflow: 'block' });
    const promises = enqueueMany(queue, 50);
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, blocked: 48, accepted: 2 });
    held.release();
    await held.done;
    const outcomes = await settle(promises);
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(await tableValues()).toEqual([-1, ...Array.from({ length: 50 }, (_, i) => i)]);
    const stats = queue.stats();
    expect(stats).toMatchObject({ accepted: 50, completed: 50, blocked: 0, rejected: 0 });
    expect(stats.highWater).toBeLessThanOrEqual(2);
    await queue.shutdown();
  });

  it("'{ blockTimeout: 30 }': 2 accepted, 48 refused with QueueTimeoutError", async () => {
    const held = await holdWriter();
    const queue = db.writeQueue({ capacity: 2, overflow: { blockTimeout: 30 } });
    const promises = enqueueMany(queue, 50);
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, blocked: 48 });
    const outcomes = await settle(promises.slice(2));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(QueueTimeoutError);
    }
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, blocked: 0, rejected: 48 });
    held.release();
    await held.done;
    await Promise.all(promises.slice(0, 2));
    expect(await tableValues()).toEqual([-1, 0, 1]);
    await queue.shutdown();
  });

  it('push() under the same conditions: 2 accepted, the other 48 refused (reject) or evicted (drop-oldest)', async () => {
    const held = await holdWriter();
    const errors: unknown[] = [];
    const rejecting = db.writeQueue({ capacity: 2, overflow: 'reject', onError: (error) => errors.push(error) });
    const dropping = db.writeQueue({ capacity: 2, overflow: 'drop-oldest', onError: (error) => errors.push(error) });
    const pushed = Array.from({ length: 50 }, (_, i) => rejecting.push('INSERT INTO t (v) VALUES (?)', [1000 + i]));
    for (let i = 0; i < 50; i++) expect(dropping.push('INSERT INTO t (v) VALUES (?)', [2000 + i])).toBe(true);
    expect(pushed.filter(Boolean)).toHaveLength(2);
    expect(errors).toHaveLength(48 + 48);
    held.release();
    await held.done;
    await Promise.all([rejecting.shutdown(), dropping.shutdown()]);
    const values = await tableValues();
    expect(values.filter((v) => v >= 1000 && v < 2000)).toEqual([1000, 1001]);
    expect(values.filter((v) => v >= 2000)).toEqual([2048, 2049]);
  });
});

describe('the bound with the writer free', () => {
  it("'drop-oldest' never evicts an entry already handed to the writer: it refuses the newcomer", async () => {
    const queue = db.writeQueue({ capacity: 2, overflow: 'drop-oldest' });
    const first = queue.enqueue('INSERT INTO t (v) VALUES (1)');
    const second = queue.enqueue('INSERT INTO t (v) VALUES (2)');
    // The writer was free: both were handed over at once.
    expect(queue.stats()).toMatchObject({ depth: 0, running: 2 });
    const third = queue.enqueue('INSERT INTO t (v) VALUES (3)');
    const error = await third.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as QueueFullError).dropped).toBe(false);
    await Promise.all([first, second]);
    expect(await tableValues()).toEqual([1, 2]);
    expect(queue.stats()).toMatchObject({ dropped: 0, rejected: 1, completed: 2 });
    await queue.shutdown();
  });

  it('depth + running never exceeds capacity, whatever inFlight allows', async () => {
    const queue = db.writeQueue({ capacity: 3, inFlight: 64, overflow: 'block' });
    let most = 0;
    const promises: Promise<WriteResult>[] = [];
    for (let i = 0; i < 200; i++) {
      promises.push(queue.enqueue('INSERT INTO t (v) VALUES (?)', [i]));
      const { depth, running } = queue.stats();
      most = Math.max(most, depth + running);
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const sampler = setInterval(() => {
      const { depth, running } = queue.stats();
      most = Math.max(most, depth + running);
    }, 1);
    await Promise.all(promises);
    clearInterval(sampler);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    expect(queue.stats().highWater).toBeLessThanOrEqual(3);
    expect(await tableValues()).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await queue.shutdown();
  });
});

describe('the queue takes its turn among sessions', () => {
  it('entries accepted while a transaction holds the writer commit before a transaction asked for later', async () => {
    const held = await holdWriter();
    const queue = db.writeQueue({ capacity: 10 });
    const entries = enqueueMany(queue, 5, 100);
    const later = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (999)');
    });
    held.release();
    await Promise.all([held.done, later, ...entries]);
    expect(await tableValues()).toEqual([-1, 100, 101, 102, 103, 104, 999]);
    await queue.shutdown();
  });

  it('entries accepted after a transaction asked for the writer wait for it', async () => {
    const held = await holdWriter();
    const earlier = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (999)');
    });
    const queue = db.writeQueue({ capacity: 10 });
    const entries = enqueueMany(queue, 3, 100);
    held.release();
    await Promise.all([held.done, earlier, ...entries]);
    expect(await tableValues()).toEqual([-1, 999, 100, 101, 102]);
    await queue.shutdown();
  });

  it('back-to-back transactions do not starve the queue', async () => {
    const queue = db.writeQueue({ capacity: 4, inFlight: 2 });
    const entries = enqueueMany(queue, 40, 100);
    // The loop runs until every entry has landed; reaching CAP means the queue was starved.
    const CAP = 20_000;
    let n = 0;
    let landedAt: number | undefined;
    void Promise.all(entries).then(() => (landedAt = n), () => undefined);
    const transactions = (async () => {
      while (landedAt === undefined && n < CAP) {
        // Two transactions queued at once, so the writer passes straight from one to the next.
        await Promise.all([
          db.transaction(async (tx) => void (await tx.run('INSERT INTO t (v) VALUES (?)', [-10 - n++]))),
          db.transaction(async (tx) => void (await tx.run('INSERT INTO t (v) VALUES (?)', [-10 - n++]))),
        ]);
      }
    })();
    await transactions;
    // The entries landed while transactions were still being started, not after the loop gave up.
    expect(landedAt).toBeDefined();
    expect(landedAt).toBeLessThan(CAP);
    await Promise.all(entries);
    const values = (await tableValues()).filter((v) => v >= 100);
    expect(values).toEqual(Array.from({ length: 40 }, (_, i) => 100 + i));
    expect((await tableValues()).filter((v) => v < 0)).toHaveLength(n);
    await queue.shutdown();
  });

  it('a write lease holds the queue back like a transaction does', async () => {
    const lease = await db.acquire({ write: true });
    const queue = db.writeQueue({ capacity: 2, overflow: 'reject' });
    const accepted = enqueueMany(queue, 5);
    expect(queue.stats()).toMatchObject({ depth: 2, running: 0, rejected: 3 });
    await lease.run('INSERT INTO t (v) VALUES (-5)');
    await lease.release();
    const outcomes = await settle(accepted);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    expect(await tableValues()).toEqual([-5, 0, 1]);
    await queue.shutdown();
  });
});
