// Covers what stats().groupCommit counts: only groups that committed. A group whose BEGIN
// IMMEDIATE fails (another pool's write lease holds the write lock on the same file) and a group
// whose COMMIT fails (a deferred foreign key left unresolved: its writes then run again one by
// one) add nothing, and the writes of the latter report no group (a write queue counts one commit
// for each of them); a group that commits adds one group and its writes, under a group number of
// its own (a write queue counts its commits by these numbers). Within a group that committed,
// only the members that committed count: one that failed (a constraint: its savepoint rolled
// back) or was cancelled is left out of the counts and reports no groupSize to observers, the
// committed ones report how many committed; a group in which only one write committed counts
// nothing, and that write reports no group (the write queue counts it as a commit of its own).
import { describe, expect, it } from 'vitest';
import { SqliteError, type Pool, type QueryEvent, type RunResult } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { sleep } from './helpers/waits.ts';

const pools = tempPools('group-stats');
const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)';
const INSERT = 'INSERT INTO t (seq) VALUES (?)';
/** Entries of the group: the writer waits (up to maxDelayMs) until all of them joined it. */
const GROUP = 8;
// No WAL monitor: its look at the WAL is a request on the writer, and one arriving while a group
// gathers closes the group early (a request that cannot join it), splitting the counts.
const OPTIONS = { readers: 1, walMonitor: false, groupCommit: { maxBatch: GROUP, maxDelayMs: 1000 } };
/** A table whose writes can fail inside a group: -1 is taken (UNIQUE), 1000 is out of range (CHECK). */
const SCHEMA_U = 'CREATE TABLE u (id INTEGER PRIMARY KEY, v INTEGER UNIQUE CHECK (v < 1000)); INSERT INTO u (v) VALUES (-1)';
const INSERT_U = 'INSERT INTO u (v) VALUES (?)';

/** A pool with the table u, observed from then on: the onQuery events of its writes into u. */
async function observedU(options: Parameters<typeof pools.fresh>[0]): Promise<{ db: Pool; events: QueryEvent[] }> {
  const db = await pools.fresh(options, SCHEMA_U);
  const events: QueryEvent[] = [];
  db.observe({ onQuery: (e) => void (e.sql === INSERT_U && events.push(e)) });
  return { db, events };
}

/** The error code of each outcome (an AbortError: its name; undefined: fulfilled). */
const codes = (outcomes: PromiseSettledResult<unknown>[]): (string | undefined)[] =>
  outcomes.map((outcome) => {
    if (outcome.status === 'fulfilled') return undefined;
    const reason = outcome.reason as { code?: unknown; name: string };
    return typeof reason.code === 'string' ? reason.code : reason.name;
  });

/** The groupSize each event reported, failed ones first: [failed, committed]. */
const sizes = (events: QueryEvent[]): [(number | undefined)[], (number | undefined)[]] => [
  events.filter((event) => event.error !== undefined).map((event) => event.groupSize),
  events.filter((event) => event.error === undefined).map((event) => event.groupSize),
];

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

  it('counts only the members that committed: not one that failed on a constraint (its savepoint rolled back)', async () => {
    const { db, events } = await observedU(OPTIONS);
    const queue = db.writeQueue({ capacity: GROUP });
    // One group of 8: the third repeats -1 (UNIQUE), the sixth is 1000 (CHECK); the other 6 commit.
    const values = Array.from({ length: GROUP }, (_, i) => (i === 2 ? -1 : i === 5 ? 1000 : i));
    const outcomes = await Promise.allSettled(values.map((v) => queue.enqueue(INSERT_U, [v])));
    const failing = [2, 5];
    expect(codes(outcomes)).toEqual(values.map((_, i) => (i === 2 ? 'SQLITE_CONSTRAINT_UNIQUE' : i === 5 ? 'SQLITE_CONSTRAINT_CHECK' : undefined)));
    expect(await db.get('SELECT count(*) AS n FROM u')).toEqual({ n: 1 + GROUP - failing.length });
    expect(db.stats().groupCommit).toEqual({ groups: 1, writes: GROUP - failing.length });
    // Observers: the failed members report no group size, the committed ones how many committed.
    expect(sizes(events)).toEqual([Array(failing.length).fill(undefined), Array(GROUP - failing.length).fill(GROUP - failing.length)]);
    // The committed members share one commit: the queue counts one.
    expect(queue.stats()).toMatchObject({ completed: GROUP - failing.length, failed: failing.length, batches: 1 });

    // A group in which only one member commits is no group commit: it adds nothing, and that
    // member reports no group size (and counts as a commit of its own).
    events.length = 0;
    const lone = 4;
    const alone = await Promise.allSettled(Array.from({ length: GROUP }, (_, i) => queue.enqueue(INSERT_U, [i === lone ? 100 : -1])));
    expect(codes(alone)).toEqual(Array.from({ length: GROUP }, (_, i) => (i === lone ? undefined : 'SQLITE_CONSTRAINT_UNIQUE')));
    expect(db.stats().groupCommit).toEqual({ groups: 1, writes: GROUP - failing.length });
    expect(sizes(events)).toEqual([Array(GROUP - 1).fill(undefined), [undefined]]);
    expect(queue.stats()).toMatchObject({ completed: GROUP - failing.length + 1, failed: failing.length + GROUP - 1, batches: 2 });
    await queue.shutdown();
  });

  it('counts only the members that committed: not one cancelled while the group gathered', async () => {
    // The group waits (up to maxDelayMs) for a fourth write that never comes; meanwhile one of
    // the three it holds is aborted, and the group runs without it.
    const { db, events } = await observedU({ ...OPTIONS, groupCommit: { maxBatch: 4, maxDelayMs: 1000 } });
    const gather = async (count: number, cancelled: number): Promise<(string | undefined)[]> => {
      const controllers = Array.from({ length: count }, () => new AbortController());
      const writes = controllers.map((controller, i) => db.run(INSERT_U, [200 + i], { signal: controller.signal }));
      await sleep(50);
      controllers[cancelled]!.abort();
      return codes(await Promise.allSettled(writes));
    };
    expect(await gather(3, 1)).toEqual([undefined, 'AbortError', undefined]);
    expect(db.stats().groupCommit).toEqual({ groups: 1, writes: 2 });
    expect(sizes(events)).toEqual([[undefined], [2, 2]]);

    // Two writes, one of them cancelled: the one that committed was no group commit.
    events.length = 0;
    expect(await gather(2, 0)).toEqual(['AbortError', undefined]);
    expect(db.stats().groupCommit).toEqual({ groups: 1, writes: 2 });
    expect(sizes(events)).toEqual([[undefined], [undefined]]);
    expect(await db.get('SELECT count(*) AS n FROM u')).toEqual({ n: 4 });
  });
});
