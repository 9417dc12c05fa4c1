// Covers what stats().groupCommit counts: only groups that committed. A group whose BEGIN
// IMMEDIATE fails (another pool's write lease holds the write lock on the same file) and a group
// whose COMMIT fails (a deferred foreign key left unresolved: its writes then run again one by
// one) add nothing, and the writes of the latter report no group (a write queue counts one commit
// for each of them); a group that commits adds one group and its writes, under a group number of
// its own (a write queue counts its commits by these numbers).
import { describe, expect, it } from 'vitest';
import { SqliteError, type Pool, type RunResult } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('group-stats');
const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)';
const INSERT = 'INSERT INTO t (seq) VALUES (?)';
/** Entries of the group: the writer waits (up to maxDelayMs) until all of them joined it. */
const GROUP = 8;
const OPTIONS = { readers: 1, groupCommit: { maxBatch: GROUP, maxDelayMs: 1000 } };

/** A write lease of another pool on `db`'s file that holds the write lock; release() commits and lets go. */
async function holdLock(db: Pool): Promise<{ release: () => Promise<void> }> {
  const other = await pools.openAt(db.path, { readers: 1 });
  const lease = await other.acquire({ write: true });
  await lease.exec('BEGIN IMMEDIATE');
  return { release: async () => (await lease.exec('COMMIT'), await lease.release()) };
}

describe('stats().groupCommit', () => {
  it('counts a group only once it committed: not when its BEGIN IMMEDIATE failed', async () => {
    const db = await pools.fresh({ ...OPTIONS, busyTimeout: 0 }, SCHEMA);
    const queue = db.writeQueue({ capacity: GROUP });
    const lock = await holdLock(db);
    const failed = await Promise.allSettled(Array.from({ length: GROUP }, (_, i) => queue.enqueue(INSERT, [i])));
    for (const outcome of failed) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as InstanceType<typeof SqliteError>;
      expect(error).toBeInstanceOf(SqliteError);
      expect(error.message).toContain("the group's BEGIN IMMEDIATE failed");
    }
    expect(db.stats().groupCommit).toEqual({ groups: 0, writes: 0 });

    await lock.release();
    const committed = await Promise.all(Array.from({ length: GROUP }, (_, i) => queue.enqueue(INSERT, [GROUP + i])));
    expect(committed.map((result) => (result as RunResult).changes)).toEqual(Array(GROUP).fill(1));
    expect(db.stats().groupCommit).toEqual({ groups: 1, writes: GROUP });
    expect(queue.stats()).toMatchObject({ failed: GROUP, completed: GROUP, batches: 1 });
    await queue.shutdown();
  });

  it('does not count a group whose COMMIT failed (its writes ran again one by one)', async () => {
    const db = await pools.fresh(
      { ...OPTIONS, foreignKeys: true },
      'CREATE TABLE p (id INTEGER PRIMARY KEY); INSERT INTO p (id) VALUES (1);' +
        'CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)',
    );
    const queue = db.writeQueue({ capacity: GROUP });
    // The fourth refers to a parent that does not exist: only COMMIT finds out.
    const outcomes = await Promise.allSettled(
      Array.from({ length: GROUP }, (_, i) => queue.enqueue('INSERT INTO c (pid) VALUES (?)', [i === 3 ? 99 : 1])),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array.from({ length: GROUP }, (_, i) => (i === 3 ? 'rejected' : 'fulfilled')));
    expect(((outcomes[3] as PromiseRejectedResult).reason as InstanceType<typeof SqliteError>).code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    expect(await db.get('SELECT count(*) AS n FROM c')).toEqual({ n: GROUP - 1 });
    expect(db.stats().groupCommit).toEqual({ groups: 0, writes: 0 });
    // Each write that committed did so alone, once the group had rolled back: one commit each.
    expect(queue.stats().batches).toBe(GROUP - 1);

    // The next group commits, under a number of its own: the queue counts it as one more commit.
    const batches = queue.stats().batches;
    await Promise.all(Array.from({ length: GROUP }, () => queue.enqueue('INSERT INTO c (pid) VALUES (1)')));
    expect(db.stats().groupCommit).toEqual({ groups: 1, writes: GROUP });
    expect(queue.stats().batches).toBe(batches + 1);
    await queue.shutdown();
  });
});
