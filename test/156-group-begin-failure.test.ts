// Covers a group commit whose BEGIN IMMEDIATE fails (another pool's write lease holds the write
// lock on the same file): the whole group fails as one, every entry with BEGIN's SQLITE_BUSY and
// nothing committed, after one attempt at the lock whatever the group's size (counted through the
// fault-injection VFS of the test build: its xShmLock calls, which is where a WAL connection takes
// the write lock); once the lock is let go the same queue commits again; and under the retry
// policy a failed group's entries all commit, in the order they were enqueued. The cases that
// count lock calls are skipped, with a message, when the fault-injection build is missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempPools } from './helpers/pools.ts';

const addon = fileURLToPath(new URL('../build-fault/build/Release/litepool.node', import.meta.url));
const built = existsSync(addon);
if (built) process.env.LITEPOOL_TEST_FAULT_ADDON = addon;
else console.warn(`skipping the lock-call counts: ${addon} is missing (run scripts/build-fault-addon.sh)`);

// Imported after the variable is set (the addon is loaded on first use, not at import).
const { SqliteError } = await import('../lib/index.ts');
const { binding } = await import('../lib/native/binding.ts');
type Pool = Awaited<ReturnType<(typeof import('../lib/index.ts'))['open']>>;

const pools = tempPools('group-begin');
const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)';
const INSERT = 'INSERT INTO t (seq) VALUES (?)';
/** Entries of the group: the writer waits (up to maxDelayMs) until all of them joined it. */
const GROUP = 32;

/** A write lease of another pool (default VFS) on `db`'s file that holds the write lock; release() commits and lets go. */
async function holdLock(db: Pool): Promise<{ release: () => Promise<void> }> {
  const other = await pools.openAt(db.path, { readers: 1 });
  const lease = await other.acquire({ write: true });
  await lease.exec('BEGIN IMMEDIATE');
  return { release: async () => (await lease.exec('COMMIT'), await lease.release()) };
}

/** xShmLock calls (locks taken, not let go) through the fault-injection VFS since the process began. */
function shmLocks(): number {
  return binding().faultVfs!.stats().calls['shmLock'] ?? 0;
}

async function rows(db: Pool): Promise<number[]> {
  return (await db.all<{ seq: number }>('SELECT seq FROM t ORDER BY id')).map((row) => row.seq);
}

describe("a group commit whose BEGIN IMMEDIATE fails", () => {
  it.skipIf(!built)('fails the whole group after one attempt at the lock, whatever its size; the queue commits again once the lock is let go', async () => {
    const options = { readers: 1, busyTimeout: 0, groupCommit: { maxBatch: GROUP, maxDelayMs: 1000 }, faultInjection: true };
    const db = await pools.fresh(options as never, SCHEMA);
    const lock = await holdLock(db);

    // One write alone (exec() is never grouped): the lock calls of one failed attempt.
    const single = shmLocks();
    const alone = await db.exec('INSERT INTO t (seq) VALUES (-1)').then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const perAttempt = shmLocks() - single;
    expect(alone).toBeInstanceOf(SqliteError);
    expect((alone as InstanceType<typeof SqliteError>).code).toBe('SQLITE_BUSY');
    expect(perAttempt).toBeGreaterThan(0);

    const queue = db.writeQueue({ capacity: GROUP });
    const before = shmLocks();
    const outcomes = await Promise.allSettled(Array.from({ length: GROUP }, (_, i) => queue.enqueue(INSERT, [i])));
    const calls = shmLocks() - before;
    console.info(`xShmLock calls: ${perAttempt} for one write alone, ${calls} for a group of ${GROUP}`);

    // One BEGIN's worth of lock calls, not one per entry (the group's writes did not each try again).
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(2 * perAttempt);
    const reasons = outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : 'resolved'));
    expect(reasons.filter((reason) => reason === 'resolved')).toEqual([]);
    for (const reason of reasons) {
      expect(reason).toBeInstanceOf(SqliteError);
      const error = reason as InstanceType<typeof SqliteError>;
      expect(error.code).toBe('SQLITE_BUSY');
      expect(error.message).toContain("the group's BEGIN IMMEDIATE failed: database is locked");
    }
    expect(queue.stats()).toMatchObject({ failed: GROUP, completed: 0 });

    await lock.release();
    expect(await rows(db)).toEqual([]);
    // The same queue commits once the lock is free again.
    await Promise.all(Array.from({ length: GROUP }, (_, i) => queue.enqueue(INSERT, [GROUP + i])));
    expect(await rows(db)).toEqual(Array.from({ length: GROUP }, (_, i) => GROUP + i));
    expect(queue.stats()).toMatchObject({ failed: GROUP, completed: GROUP });
    await queue.shutdown();
  });

  it('under the retry policy, the entries of a failed group all commit, in the order they were enqueued', async () => {
    const db = await pools.fresh(
      { readers: 1, busyTimeout: 20, retry: { attempts: 100, baseDelay: 10, maxDelay: 40 }, groupCommit: { maxBatch: GROUP, maxDelayMs: 200 } },
      SCHEMA,
    );
    const lock = await holdLock(db);
    const errors: string[] = [];
    db.observe({ onQuery: (event) => void (event.error !== undefined && errors.push(String(event.error))) });
    const queue = db.writeQueue();
    const entries: Promise<unknown>[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < GROUP; i++) entries.push(queue.enqueue(INSERT, [round * GROUP + i]));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await lock.release();
    const outcomes = await Promise.allSettled(entries);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(await rows(db)).toEqual(Array.from({ length: 3 * GROUP }, (_, i) => i));
    expect(queue.stats()).toMatchObject({ failed: 0, completed: 3 * GROUP });
    expect(errors).toEqual([]);
    await queue.shutdown();
  });
});
