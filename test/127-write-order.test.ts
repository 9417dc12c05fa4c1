// Covers the order of writes at the writer (lib/request/writer-place.ts, lib/api/submission-order.ts):
// - with an observer that asks for query plans, a write whose plan is looked up first keeps its
//   turn: plain writes, write-queue entries and transactions called after it come after it (also
//   on a pool without readers, where the lookup itself goes to the writer), and inside a
//   transaction its statements run in call order;
// - write-queue entries accepted before a transaction asked for the writer commit before it,
//   also those beyond the queue's inFlight bound;
// - a queue entry's queuedMs counts its wait in the queue (behind a transaction holding the writer);
// - a group commit whose COMMIT fails on a deferred foreign key fails only the write that left it;
// - the plan of a statement with placeholders is known (EXPLAIN runs without values), so a
//   policy sees it and it is looked up once.
import { describe, expect, it } from 'vitest';
import type { Observer, Pool, QueryEvent } from '../lib/index.ts';
import { QueryProfiler, policies } from '../lib/observers/index.ts';
import { holdWriter, tempPools } from './helpers/pools.ts';
import { latch, settleOrReport } from './helpers/waits.ts';

const pools = tempPools('write-order');
const LOG = 'CREATE TABLE log (id INTEGER PRIMARY KEY, who TEXT NOT NULL)';

/** Asks for every statement's plan (and lets everything run). */
const plansWanted = (): Observer => ({ wantsQueryPlan: true, beforeQuery() {} });

async function order(db: Pool): Promise<string[]> {
  return (await db.all<{ who: string }>('SELECT who FROM log ORDER BY id')).map((row) => row.who);
}

describe('writes whose plan is looked up first', () => {
  for (const readers of [2, 0]) {
    it(`keep their turn against later writes, queue entries and transactions (readers: ${readers})`, async () => {
      const db = await pools.fresh({ readers, observers: [plansWanted()] }, LOG);
      const cached = 'INSERT INTO log (who) VALUES (?)';
      await db.run(cached, ['warm']); // this statement's plan is known from now on
      await db.exec('DELETE FROM log');
      const queue = db.writeQueue();
      const calls = [
        db.run("INSERT INTO log (who) VALUES ('run:' || ?)", ['first']), // plan not known yet
        db.run(cached, ['second']),
        queue.enqueue("INSERT INTO log (who) VALUES ('queue:' || ?)", ['third']), // not known either
        queue.enqueue(cached, ['fourth']),
        db.transaction(async (tx) => void (await tx.run(cached, ['fifth']))),
        db.run(cached, ['sixth']),
      ];
      await Promise.all(calls);
      expect(await order(db)).toEqual(['run:first', 'second', 'queue:third', 'fourth', 'fifth', 'sixth']);
      await queue.shutdown();
    });
  }

  it('keep their order against a built-in policy that asks for plans (denyFullScans)', async () => {
    const db = await pools.fresh({ readers: 2, observers: [policies.denyFullScans({ allowTables: ['log'] })] }, LOG);
    await db.run('INSERT INTO log (who) VALUES (?)', ['warm']); // its plan is known from now on
    await db.exec('DELETE FROM log');
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      // Every other statement is new: its plan is looked up while the next one's is known.
      calls.push(db.run(i % 2 === 0 ? `INSERT INTO log (who) VALUES ('w' || ? || '${i}')` : 'INSERT INTO log (who) VALUES (?)', [`${i}`]));
    }
    await Promise.all(calls);
    const expected = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? `w${i}${i}` : `${i}`));
    expect(await order(db)).toEqual(expected);
  });

  it('run in call order inside a transaction', async () => {
    const db = await pools.fresh({ readers: 2, observers: [plansWanted()] }, LOG);
    await db.run('INSERT INTO log (who) VALUES (?)', ['warm']);
    await db.exec('DELETE FROM log');
    await db.transaction(async (tx) => {
      await Promise.all([
        tx.run("INSERT INTO log (who) VALUES ('a' || ?)", ['']),
        tx.run('INSERT INTO log (who) VALUES (?)', ['b']),
        tx.get<{ n: number }>('SELECT count(*) AS n FROM log').then((row) => tx.run('INSERT INTO log (who) VALUES (?)', [`seen ${row!.n}`])),
      ]);
    });
    expect(await order(db)).toEqual(['a', 'b', 'seen 2']);
  });

  it('that a policy vetoes give their place up: the writes after them run', async () => {
    const db = await pools.fresh(
      {
        readers: 0,
        observers: [
          {
            wantsQueryPlan: true,
            beforeQuery(q) {
              if (q.sql.includes('vetoed')) throw new Error('no');
            },
          },
        ],
      },
      LOG,
    );
    const outcomes = await Promise.allSettled([
      db.run("INSERT INTO log (who) VALUES ('vetoed')"),
      db.run("INSERT INTO log (who) VALUES ('after')"),
      db.transaction(async (tx) => void (await tx.run("INSERT INTO log (who) VALUES ('tx')"))),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(await order(db)).toEqual(['after', 'tx']);
    expect(db.stats().writer.queued).toBe(0);
  });
});

describe('a write waiting for its plan', () => {
  it('stops waiting when its signal aborts: later writes do not wait for its lookup', async () => {
    const db = await pools.fresh({ readers: 1, observers: [plansWanted()] }, LOG);
    const cached = 'INSERT INTO log (who) VALUES (?)';
    await db.run(cached, ['warm']);
    // The only reader is pinned: a lookup waits for it.
    const lease = await db.acquire();
    const controller = new AbortController();
    const reason = new Error('gone');
    const aborted = db.run("INSERT INTO log (who) VALUES ('aborted' || ?)", [''], { signal: controller.signal });
    const later = db.run(cached, ['later']);
    controller.abort(reason);
    const [first, second] = await settleOrReport([aborted, later]);
    expect(first).toEqual({ status: 'rejected', reason });
    expect(second).toMatchObject({ status: 'fulfilled' });
    await lease.release();
    expect(await order(db)).toEqual(['warm', 'later']);
    expect(db.stats().writer.queued).toBe(0);
  });

  it('counts in stats().writer.queued while it waits, with the write behind it and their lookups', async () => {
    const db = await pools.fresh({ readers: 2, observers: [plansWanted()] }, `${LOG}; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`);
    const held = await holdWriter(db);
    expect(db.stats().writer.queued).toBe(0);
    const calls = [
      db.run("INSERT INTO log (who) VALUES ('new' || ?)", ['']), // its plan is looked up first
      db.run("INSERT INTO log (who) VALUES ('behind' || ?)", ['']), // behind it, its own lookup too
    ];
    await Promise.resolve();
    let queued: number;
    try {
      queued = db.stats().writer.queued;
    } finally {
      held.release();
    }
    // Requests waiting for the writer: the two writes, and the two plan lookups (EXPLAIN) that
    // wait with their places in the writer's line.
    expect(queued).toBe(4);
    await Promise.all([held.done, ...calls]);
    expect(await order(db)).toEqual(['new', 'behind']);
    expect(db.stats().writer.queued).toBe(0);
  });

  it('is looked up on the writer: a pinned reader, or the only reader held by an iteration, holds nothing up', async () => {
    const db = await pools.fresh({ readers: 1, observers: [policies.denyFullScans({ allowTables: ['log', 'items'] })] }, LOG);
    await db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER)');
    await db.insertMany('items', Array.from({ length: 3000 }, (_, i) => ({ id: i + 1, n: 0 })));
    // An iteration holds the only reader while each of its rows is updated.
    const updated = (async () => {
      let rows = 0;
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM items')) {
        await db.run('UPDATE items SET n = n + 1 WHERE id = ?', [row.id]);
        if (++rows === 5) break;
      }
      return rows;
    })();
    const [iterated] = await settleOrReport([updated]);
    expect(iterated).toEqual({ status: 'fulfilled', value: 5 });
    // A read lease pins the only reader: writes, queue entries and transactions go on.
    const lease = await db.acquire();
    const queue = db.writeQueue({ inFlight: 1 });
    const outcomes = await settleOrReport([
      db.run("INSERT INTO log (who) VALUES ('run' || ?)", ['']),
      queue.enqueue("INSERT INTO log (who) VALUES ('queue' || ?)", ['']),
      db.transaction((tx) => tx.run("INSERT INTO log (who) VALUES ('tx')")),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    await lease.release();
    expect(await order(db)).toEqual(['run', 'queue', 'tx']);
    await queue.shutdown();
  });

  it('counts its wait for the plan in its timeout', async () => {
    const db = await pools.fresh({ readers: 0, observers: [plansWanted()] }, LOG);
    const held = await holdWriter(db);
    // The writer stays held past the timeout: the write waits for its plan (and its turn) meanwhile.
    const [write] = await settleOrReport([db.run("INSERT INTO log (who) VALUES ('late' || ?)", [''], { timeout: 100 })]);
    expect(write).toMatchObject({ status: 'rejected', reason: { code: 'LITEPOOL_OPERATION_TIMEOUT' } });
    held.release();
    await held.done;
    expect(await order(db)).toEqual([]);
  });

  it('of a write queue entry leaves the queue working once the queue gave its place up', async () => {
    const db = await pools.fresh({ readers: 2, observers: [plansWanted()] }, LOG);
    await db.run('INSERT INTO log (who) VALUES (?)', ['warm']);
    const queue = db.writeQueue({ inFlight: 1 });
    const first = queue.enqueue("INSERT INTO log (who) VALUES ('a' || ?)", ['']);
    // Waits (inFlight: 1): the queue takes a place, and gives it up while this entry's plan is looked up.
    const second = queue.enqueue("INSERT INTO log (who) VALUES ('b' || ?)", ['']);
    await first;
    // Something gets in line behind the place given up: the queue must not take it for its own.
    const run = db.run('INSERT INTO log (who) VALUES (?)', ['run']);
    await Promise.all([second, run]);
    const [third] = await settleOrReport([queue.enqueue('INSERT INTO log (who) VALUES (?)', ['c'])]);
    expect(third).toMatchObject({ status: 'fulfilled' });
    const [shutdown] = await settleOrReport([queue.shutdown()]);
    expect(shutdown).toMatchObject({ status: 'fulfilled' });
    expect(await order(db)).toEqual(['warm', 'a', 'b', 'run', 'c']);
  });
});

describe('the pool\'s own plan lookups without readers', () => {
  it('wait for the transaction, lease or snapshot holding the writer instead of rolling it back', async () => {
    for (const start of [() => pools.fresh({ readers: 0, observers: [policies.denyFullScans({ allowTables: ['log'] })] }, LOG), () => pools.open({ readers: 0, observers: [new QueryProfiler({ explainOverMs: 0 })] })]) {
      const db = await start();
      await db.exec('CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, who TEXT NOT NULL)');
      const hold = latch();
      const holding = latch();
      const tx = db.transaction(async (t) => {
        await t.run("INSERT INTO log (who) VALUES ('tx 1')");
        holding.open();
        await hold.promise;
        await t.run("INSERT INTO log (who) VALUES ('tx 2')");
      });
      await holding.promise;
      // A statement never seen: its plan is looked up (on the writer: there are no readers).
      const read = db.all('SELECT count(*) AS n FROM log WHERE id > 0');
      await new Promise((resolve) => setImmediate(resolve));
      hold.open();
      await tx;
      expect(await read).toEqual([{ n: 2 }]);
      const lease = await db.acquire({ write: true });
      await lease.exec('BEGIN');
      await lease.run("INSERT INTO log (who) VALUES ('lease')");
      const another = db.get('SELECT max(id) AS m FROM log WHERE id >= 0');
      await new Promise((resolve) => setImmediate(resolve));
      await lease.exec('COMMIT');
      await lease.release();
      expect(await another).toEqual({ m: 3 });
      expect(await order(db)).toEqual(['tx 1', 'tx 2', 'lease']);
      await db.close();
    }
  });
});

describe('plans of statements with placeholders', () => {
  it('are looked up once and seen by policies (denyFullScans refuses a parameterised full scan)', async () => {
    const plans: (readonly string[] | undefined)[] = [];
    const db = await pools.fresh(
      { readers: 2, observers: [{ wantsQueryPlan: true, beforeQuery: (q) => void (q.sql.includes('who = ?') && plans.push(q.plan)) }, policies.denyFullScans()] },
      `${LOG}; CREATE TABLE indexed (id INTEGER PRIMARY KEY, who TEXT)`,
    );
    await db.run('INSERT INTO log (who) VALUES (?)', ['x']);
    const refused = await db.get('SELECT id FROM log WHERE who = ?', ['x']).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'LITEPOOL_POLICY' });
    expect(await db.all('SELECT who FROM indexed WHERE id = ?', [1])).toEqual([]);
    await db.get('SELECT id FROM log WHERE who = ?', ['y']).catch(() => undefined);
    expect(plans).toHaveLength(2);
    expect(plans[0]).toEqual([expect.stringMatching(/^SCAN log/)]);
    // The same plan object both times: cached, not looked up again.
    expect(plans[1]).toBe(plans[0]);
  });
});

describe('retries (retry policy)', () => {
  it('a queue entry retried after SQLITE_BUSY goes back ahead of its own queue\'s place', async () => {
    const db = await pools.fresh({ readers: 1, busyTimeout: 20, retry: { attempts: 10, baseDelay: 20, maxDelay: 40 } }, LOG);
    const other = await pools.openAt(db.path, { readers: 1 });
    const lease = await other.acquire({ write: true });
    await lease.exec('BEGIN IMMEDIATE'); // another connection holds the write lock
    const queue = db.writeQueue({ inFlight: 1 });
    const entries = [queue.enqueue('INSERT INTO log (who) VALUES (?)', ['e0']), queue.enqueue('INSERT INTO log (who) VALUES (?)', ['e1'])];
    setTimeout(() => void lease.exec('COMMIT').then(() => lease.release()), 100);
    const outcomes = await settleOrReport(entries);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await order(db)).toEqual(['e0', 'e1']);
    expect(db.stats().writer.queued).toBe(0);
    await queue.shutdown();
  });
});

describe('write-queue entries and transactions', () => {
  for (const inFlight of [64, 1]) {
    it(`entries accepted before a transaction asked commit before it (inFlight: ${inFlight})`, async () => {
      const db = await pools.fresh({ readers: 2 }, LOG);
      const queue = db.writeQueue({ capacity: 1000, inFlight });
      const entries = Array.from({ length: 200 }, (_, i) => queue.enqueue('INSERT INTO log (who) VALUES (?)', [`q${i}`]));
      const seen = db.transaction(async (tx) => {
        const row = await tx.get<{ n: number }>('SELECT count(*) AS n FROM log');
        await tx.run("INSERT INTO log (who) VALUES ('tx')");
        return row!.n;
      });
      // Accepted after the transaction asked: they come after it.
      const later = Array.from({ length: 5 }, (_, i) => queue.enqueue('INSERT INTO log (who) VALUES (?)', [`later${i}`]));
      expect(await seen).toBe(200);
      await Promise.all([...entries, ...later]);
      const rows = await order(db);
      expect(rows.indexOf('tx')).toBe(200);
      expect(rows.slice(201)).toEqual(['later0', 'later1', 'later2', 'later3', 'later4']);
      expect(queue.stats()).toMatchObject({ depth: 0, running: 0, completed: 205 });
      await queue.shutdown();
    });
  }

  it('push() and enqueue() refuse a third argument (an entry takes no options)', async () => {
    const db = await pools.fresh({ readers: 1 }, LOG);
    const queue = db.writeQueue();
    const signal = AbortSignal.abort();
    expect(() => (queue.push as (...args: unknown[]) => boolean)("INSERT INTO log (who) VALUES ('p')", [], { signal })).toThrow(
      expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }),
    );
    await expect((queue.enqueue as (...args: unknown[]) => Promise<unknown>)("INSERT INTO log (who) VALUES ('e')", undefined, { signal })).rejects.toMatchObject({
      code: 'LITEPOOL_INVALID_ARGUMENT',
    });
    await queue.shutdown();
    expect(await order(db)).toEqual([]);
  });

  for (const inFlight of [64, 1]) {
    it(`entries, writes and transactions interleaved while the writer is held keep call order (inFlight: ${inFlight})`, async () => {
      const db = await pools.fresh({ readers: 2 }, LOG);
      const queue = db.writeQueue({ inFlight });
      const insert = 'INSERT INTO log (who) VALUES (?)';
      const hold = latch();
      const holding = latch();
      const calls: Promise<unknown>[] = [
        db.transaction(async (tx) => {
          await tx.run(insert, ['txA']);
          holding.open();
          await hold.promise;
        }),
      ];
      await holding.promise;
      calls.push(queue.enqueue(insert, ['q1']), queue.enqueue(insert, ['q2']));
      calls.push(db.transaction((tx) => tx.run(insert, ['txB'])));
      calls.push(queue.enqueue(insert, ['q3']));
      calls.push(db.run(insert, ['run']));
      calls.push(queue.enqueue(insert, ['q4']), queue.enqueue(insert, ['q5']));
      calls.push(db.transaction((tx) => tx.run(insert, ['txC'])));
      calls.push(queue.enqueue(insert, ['q6']));
      hold.open();
      await Promise.all(calls);
      expect(await order(db)).toEqual(['txA', 'q1', 'q2', 'txB', 'q3', 'run', 'q4', 'q5', 'txC', 'q6']);
      expect(queue.stats()).toMatchObject({ depth: 0, running: 0, completed: 6 });
      expect(db.stats().writer.queued).toBe(0);
      await queue.shutdown();
    });
  }

  it('a queue entry counts its wait in the queue as queued time', async () => {
    const events: QueryEvent[] = [];
    const db = await pools.fresh({ readers: 2, observers: [{ onQuery: (event) => void events.push(event) }] }, LOG);
    const queue = db.writeQueue();
    const held = await holdWriter(db);
    const started = performance.now();
    const entry = queue.enqueue("INSERT INTO log (who) VALUES ('queued')");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const waited = performance.now() - started;
    held.release();
    await Promise.all([held.done, entry]);
    const event = events.find((e) => e.sql.includes("'queued'"))!;
    // It waited at least as long as the transaction held the writer after it was accepted.
    expect(event.queuedMs).toBeGreaterThanOrEqual(waited - 1);
    expect(event.totalMs).toBeGreaterThanOrEqual(event.queuedMs);
    await queue.shutdown();
  });
});

describe('group commit', () => {
  it('a COMMIT failing on a deferred foreign key fails only the write that left it unresolved', async () => {
    const db = await pools.fresh(
      { readers: 1 },
      'CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED); INSERT INTO p (id) VALUES (1)',
    );
    const queue = db.writeQueue();
    // Held writer: the writes below queue up and run as groups once it is let go.
    const held = await holdWriter(db);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) writes.push(queue.enqueue('INSERT INTO c (pid) VALUES (?)', [i === 5 ? 99 : 1]));
    for (let i = 0; i < 10; i++) writes.push(db.run('INSERT INTO c (pid) VALUES (?)', [i === 5 ? 98 : 1]));
    held.release();
    await held.done;
    const outcomes = await Promise.allSettled(writes);
    const failed = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [[i, (outcome.reason as { code: string }).code]] : []));
    expect(failed).toEqual([
      [5, 'SQLITE_CONSTRAINT_FOREIGNKEY'],
      [15, 'SQLITE_CONSTRAINT_FOREIGNKEY'],
    ]);
    expect(await db.get('SELECT count(*) AS n, sum(pid) AS s FROM c')).toEqual({ n: 18, s: 18 });
    // (stats().groupCommit counts only groups that committed: a group that met a failing write
    // rolled back, and its other writes committed one by one.)
    await queue.shutdown();
  });
});
