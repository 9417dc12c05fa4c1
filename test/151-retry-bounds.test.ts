// Covers the bounds of the pool's retry policy: an operation's timeout bounds all its attempts and
// the waits between them (OperationTimeoutError, not the last SQLITE_BUSY long after), an abort
// during a backoff rejects at once with the signal's reason, a write queue's entries retried after
// SQLITE_BUSY still commit in the order they were enqueued, and stats().operations counts a
// retried operation once. Another pool's write lease holds the write lock on the same file.
import { describe, expect, it } from 'vitest';
import { OperationTimeoutError, TransactionTimeoutError, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('retry-bounds');

/** A write lease of another pool on `db`'s file that holds the write lock; release() commits and lets go. */
async function holdLock(db: Pool): Promise<{ release: () => Promise<void> }> {
  const other = await pools.openAt(db.path, { readers: 1 });
  const lease = await other.acquire({ write: true });
  await lease.exec('BEGIN IMMEDIATE');
  return { release: async () => (await lease.exec('COMMIT'), await lease.release()) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('retry policy bounds', () => {
  it("an operation's timeout bounds its attempts and backoffs together", async () => {
    const db = await pools.fresh({ readers: 1, busyTimeout: 50, retry: { attempts: 20, baseDelay: 50, maxDelay: 200 } });
    const lock = await holdLock(db);
    const began = performance.now();
    const outcome = await db.run("INSERT INTO t (v) VALUES ('a')", [], { timeout: 150 }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const took = performance.now() - began;
    await lock.release();
    expect(outcome).toBeInstanceOf(OperationTimeoutError);
    expect((outcome as OperationTimeoutError).timeout).toBe(150);
    // Every attempt fails after busyTimeout (50 ms): 20 of them, with backoffs, take seconds.
    expect(took).toBeLessThan(1000);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('an abort during a backoff rejects at once with the reason', async () => {
    const db = await pools.fresh({ readers: 1, busyTimeout: 20, retry: { attempts: 5, baseDelay: 5000, maxDelay: 5000 } });
    const lock = await holdLock(db);
    const controller = new AbortController();
    const events: string[] = [];
    db.observe({ onQuery: (e) => void events.push(e.sql) });
    const before = { ...db.stats().operations };
    const began = performance.now();
    const outcome = db.run("INSERT INTO t (v) VALUES ('a')", [], { signal: controller.signal }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await sleep(300); // the first attempt failed after 20 ms; the backoff is up to 5 s
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(performance.now() - began).toBeLessThan(2500);
    await lock.release();
    const after = db.stats().operations;
    expect(after.started - before.started).toBe(1);
    expect(after.cancelled - before.cancelled).toBe(1);
    expect(after.failed - before.failed).toBe(0);
    expect(events).toHaveLength(1); // one operation, one event
  });

  it('stats().operations counts a retried operation once', async () => {
    const db = await pools.fresh({ readers: 1, busyTimeout: 20, retry: { attempts: 50, baseDelay: 10, maxDelay: 20 } });
    const lock = await holdLock(db);
    const events: string[] = [];
    db.observe({ onQuery: (e) => void events.push(e.error === undefined ? 'ok' : 'error') });
    const before = { ...db.stats().operations };
    const run = db.run("INSERT INTO t (v) VALUES ('a')");
    await sleep(300);
    await lock.release();
    expect(await run).toMatchObject({ changes: 1 });
    const after = db.stats().operations;
    expect({
      started: after.started - before.started,
      completed: after.completed - before.completed,
      failed: after.failed - before.failed,
      cancelled: after.cancelled - before.cancelled,
    }).toEqual({ started: 1, completed: 1, failed: 0, cancelled: 0 });
    expect(events).toEqual(['ok']);
  });

  it("a write queue's entries retried after SQLITE_BUSY commit in the order they were enqueued", async () => {
    const db = await pools.fresh({ readers: 1, busyTimeout: 20, retry: { attempts: 60, baseDelay: 10, maxDelay: 40 } }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)');
    const lock = await holdLock(db);
    // One entry per transaction (test 156 covers groups that cannot begin).
    const queue = db.writeQueue({ groupCommit: false });
    const entries = Array.from({ length: 40 }, (_, i) => queue.enqueue('INSERT INTO t (seq) VALUES (?)', [i]));
    await sleep(300); // well after the first failures
    await lock.release();
    const outcomes = await Promise.allSettled(entries);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    const seqs = (await db.all<{ seq: number }>('SELECT seq FROM t ORDER BY id')).map((row) => row.seq);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const after = db.stats().operations;
    expect(after.failed).toBe(0);
    expect(after.cancelled).toBe(0);
  });
});

describe('retry policy bounds, transactions', () => {
  it("a transaction's timeout bounds its attempts and backoffs together", async () => {
    const db = await pools.fresh({ readers: 1, busyTimeout: 50, retry: { attempts: 20, baseDelay: 50, maxDelay: 200 } });
    const lock = await holdLock(db);
    let ran = 0;
    const began = performance.now();
    const outcome = await db
      .transaction(
        async (tx) => {
          ran++;
          await tx.run("INSERT INTO t (v) VALUES ('a')");
        },
        { timeout: 150, behavior: 'immediate' },
      )
      .then(
        () => 'resolved',
        (error: unknown) => error,
      );
    const took = performance.now() - began;
    await lock.release();
    expect(outcome).toBeInstanceOf(TransactionTimeoutError);
    expect((outcome as TransactionTimeoutError).timeout).toBe(150);
    expect(ran).toBe(0); // every BEGIN IMMEDIATE failed: the callback never ran
    // Each attempt fails after busyTimeout (50 ms): 20 of them, with backoffs, take seconds.
    expect(took).toBeLessThan(1000);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });
});
