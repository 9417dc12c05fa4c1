// Covers what ends on time while the writer is busy with a statement that is not the caller's: a
// transaction whose BEGIN waits behind another caller's write (one blocked here on the write lock
// another pool holds, so the order is the test's to choose, not the clock's) rejects on its
// timeout or abort while that write still runs; its clean-up runs in order on the writer
// afterwards (nothing of it commits, writes and transactions asked for later run after it, none
// of it rejects unhandled, observers hear of it once); and close() does not wait for another
// pool's snapshot or write lock for its final checkpoint (PRAGMA optimize and the TRUNCATE
// checkpoint give up at once and report busy; the WAL keeps the rows for a later checkpoint).
// Orderings and watchdogs only: no tight timings.
import { describe, expect, it } from 'vitest';
import { TransactionTimeoutError, type CheckpointEvent, type Pool, type TransactionEvent } from '../lib/index.ts';
import { TABLE_T, tempPools } from './helpers/pools.ts';
import { latch, rejection, settleOrReport, track } from './helpers/waits.ts';

const pools = tempPools('timeouts-behind-writes');

/** Rows of t, by insertion order. */
async function values(db: Pool): Promise<string[]> {
  return (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
}

/**
 * Two pools on one file: `db` (with `options`) and `other`, which holds the write lock (a write
 * lease inside BEGIN IMMEDIATE) until `unlock()`. A write on `db` then waits on its writer for
 * that lock (busyTimeout 30 s, far longer than any test here): what `db` asks of its writer
 * after it waits behind it.
 */
async function lockedPair(options: Parameters<typeof pools.openAt>[1] = {}) {
  const file = pools.file();
  const other = await pools.openAt(file, { readers: 1 });
  await other.exec(TABLE_T);
  const db = await pools.openAt(file, { readers: 1, busyTimeout: 30_000, ...options });
  const holder = await other.acquire({ write: true });
  await holder.exec('BEGIN IMMEDIATE');
  let unlocked: Promise<void> | undefined;
  const unlock = (): Promise<void> => (unlocked ??= holder.exec('COMMIT').then(() => holder.release()));
  return { db, other, unlock };
}

/** Records the order in which promises settle, by name. */
function settlements() {
  const order: string[] = [];
  return {
    order,
    watch<T>(name: string, promise: Promise<T>): Promise<T> {
      promise.then(
        () => void order.push(name),
        () => void order.push(name),
      );
      return promise;
    },
  };
}

describe('a transaction whose BEGIN waits behind another caller\'s write', () => {
  it('rejects on its timeout while that write still runs; its clean-up and later writes run after it, in order', async () => {
    const phases: TransactionEvent['phase'][] = [];
    const { db, unlock } = await lockedPair({ observers: [{ onTransaction: (e) => void phases.push(e.phase) }] });
    const seen = settlements();
    try {
      const blocked = track(seen.watch('blocked write', db.run("INSERT INTO t (v) VALUES ('blocked')")));
      let ran = false;
      const timedOut = seen.watch(
        'timed-out transaction',
        db.transaction(
          async (tx) => {
            ran = true;
            await tx.run("INSERT INTO t (v) VALUES ('timed out')");
          },
          { timeout: 100 },
        ),
      );
      // Asked for the writer after the timed-out transaction: it waits for its clean-up.
      const next = seen.watch('next transaction', db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('next')")));
      const [outcome] = await settleOrReport([timedOut], 5_000);
      expect(outcome!.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TransactionTimeoutError);
      expect((outcome as PromiseRejectedResult).reason.code).toBe('LITEPOOL_TRANSACTION_TIMEOUT');
      // Rejected while the write ahead of it still waits for the lock.
      expect(blocked.settled()).toBe(false);
      expect(ran).toBe(false);
      const later = seen.watch('later write', db.run("INSERT INTO t (v) VALUES ('later')"));
      expect(seen.order).toEqual(['timed-out transaction']);
      await unlock();
      await Promise.all([blocked.promise, next, later]);
      expect(seen.order).toEqual(['timed-out transaction', 'blocked write', 'next transaction', 'later write']);
      expect(await values(db)).toEqual(['blocked', 'next', 'later']);
      // The timed-out transaction never began: observers hear of the next one only, once.
      expect(phases).toEqual(['begin', 'commit']);
      expect(db.stats().writer.queued).toBe(0);
    } finally {
      await unlock();
    }
  });

  it('rejects with signal.reason when aborted while that write still runs; later writes run after its clean-up', async () => {
    const { db, unlock } = await lockedPair();
    const seen = settlements();
    try {
      const blocked = track(seen.watch('blocked write', db.run("INSERT INTO t (v) VALUES ('blocked')")));
      const controller = new AbortController();
      const reason = new Error('stop');
      const aborted = seen.watch('aborted transaction', db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('aborted')"), { signal: controller.signal }));
      setTimeout(() => controller.abort(reason), 50);
      const [outcome] = await settleOrReport([aborted], 5_000);
      expect(outcome).toEqual({ status: 'rejected', reason });
      expect(blocked.settled()).toBe(false);
      const later = seen.watch('later write', db.run("INSERT INTO t (v) VALUES ('later')"));
      await unlock();
      await Promise.all([blocked.promise, later]);
      expect(seen.order).toEqual(['aborted transaction', 'blocked write', 'later write']);
      expect(await values(db)).toEqual(['blocked', 'later']);
    } finally {
      await unlock();
    }
  });

  it('a transaction that began and timed out is rolled back and reported once, by the time it rejects', async () => {
    const phases: { phase: TransactionEvent['phase']; error?: unknown }[] = [];
    const db = await pools.fresh({ readers: 1, observers: [{ onTransaction: (e) => void phases.push({ phase: e.phase, error: e.error }) }] });
    const wrote = latch();
    const stuck = db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('rolled back')");
        wrote.open();
        await new Promise(() => undefined);
      },
      { timeout: 100 },
    );
    await wrote.promise;
    const failure = await rejection(stuck);
    expect(failure).toBeInstanceOf(TransactionTimeoutError);
    expect(phases).toEqual([{ phase: 'begin', error: undefined }, { phase: 'rollback', error: failure }]);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values(db)).toEqual(['after']);
    expect(phases).toHaveLength(2);
  });
});

describe('close() while another pool holds the file', () => {
  for (const held of ['a read snapshot', 'the write lock'] as const) {
    it(`does not wait for ${held}: its final checkpoint reports busy and the rows stay in the WAL`, async () => {
      const file = pools.file();
      const other = await pools.openAt(file, { readers: 1 });
      await other.exec(TABLE_T);
      const checkpoints: CheckpointEvent[] = [];
      // busyTimeout far past the watchdog: a close that waited for the other pool would show.
      const db = await pools.openAt(file, { readers: 1, busyTimeout: 30_000, observers: [{ onCheckpoint: (e) => void checkpoints.push(e) }] });
      await db.run("INSERT INTO t (v) VALUES ('before')");
      const release = latch();
      let holding: Promise<unknown>;
      if (held === 'a read snapshot') {
        const reading = latch();
        holding = other.read(async (conn) => {
          await conn.get('SELECT count(*) AS n FROM t');
          reading.open();
          await release.promise;
        });
        await reading.promise;
        await db.run("INSERT INTO t (v) VALUES ('during')");
      } else {
        await db.run("INSERT INTO t (v) VALUES ('during')");
        const lease = await other.acquire({ write: true });
        await lease.exec('BEGIN IMMEDIATE');
        holding = release.promise.then(() => lease.release());
      }
      const holder = track(holding);
      try {
        const [closed] = await settleOrReport([db.close()], 5_000);
        expect(closed!.status).toBe('fulfilled');
        expect(holder.settled()).toBe(false);
        const last = checkpoints.at(-1)!;
        expect(last).toMatchObject({ source: 'close', mode: 'truncate', busy: true });
      } finally {
        release.open();
        await holding;
      }
      expect(await values(other)).toEqual(['before', 'during']);
    });
  }
});
