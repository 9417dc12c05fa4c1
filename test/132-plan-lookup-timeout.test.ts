// Covers a write's `timeout` while it waits for its statement plan (an observer with
// wantsQueryPlan and beforeQuery: policies.denyFullScans, or one of its own). The plan is looked
// up on the writer, in the write's place in the writer's line, before the write is submitted. A
// write whose time runs out during that wait is never submitted (no beforeQuery, nothing reaches
// SQLite, nothing commits) and rejects with the pool's usual OperationTimeoutError
// (LITEPOOL_OPERATION_TIMEOUT) naming the caller's timeout, counted in stats().operations as
// started and cancelled like any timeout; later writes go on. Before, it was
// submitted anyway with a timeout of 1 ms: it timed out in the writer's queue ("did not finish
// within 1 ms"), or ran and committed after its caller's time was up. The wait itself
// (settledOrAborted) times out also when the plan arrives only after the time is up, with its
// timer not yet run. A pool read waiting for its plan on a reader (the lookup goes to the
// readers) is held to its timeout and signal the same way. Orderings and counts only: the writer is held by a transaction the test
// ends, so no plan can arrive in time, on any machine.
import { describe, expect, it } from 'vitest';
import { OperationTimeoutError, type Observer, type QueryEvent } from '../lib/index.ts';
import { settledOrAborted, timeLeft } from '../lib/request/abort-watch.ts';
import { holdWriter, tempPools } from './helpers/pools.ts';
import { rejection, track } from './helpers/waits.ts';

const pools = tempPools('plan-lookup-timeout');

/** An observer that asks for plans, and what it saw: the statements submitted (with their plans) and the events. */
function planWatcher(): { observer: Observer; submitted: { sql: string; plan: readonly string[] | undefined }[]; events: QueryEvent[] } {
  const submitted: { sql: string; plan: readonly string[] | undefined }[] = [];
  const events: QueryEvent[] = [];
  const observer: Observer = {
    wantsQueryPlan: true,
    beforeQuery: (q) => void submitted.push({ sql: q.sql, plan: q.plan }),
    onQuery: (e) => void events.push(e),
  };
  return { observer, submitted, events };
}

describe('a write whose timeout passes while its plan is looked up', () => {
  it('is never submitted, rejects with OperationTimeoutError(its timeout), commits nothing; later writes go on', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 1, observers: [watcher.observer] });
    const held = await holdWriter(db, 'held');
    // The plan lookup waits behind the transaction, which the test ends only afterwards.
    const late = "INSERT INTO t (v) VALUES ('late')";
    const before = db.stats().operations;
    const error = await rejection(db.run(late, [], { timeout: 20 })).finally(() => held.release());
    // Counted like any operation that timed out.
    const after = db.stats().operations;
    expect([after.started - before.started, after.cancelled - before.cancelled, after.completed - before.completed]).toEqual([1, 1, 0]);
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT', timeout: 20 });
    expect(error.message).toMatch(/^the operation did not finish within 20 ms/);
    expect(watcher.submitted.filter((q) => q.sql === late)).toEqual([]);
    // Observers hear of it like of any timeout.
    expect(watcher.events.filter((e) => e.sql === late).map((e) => e.error?.code)).toEqual(['LITEPOOL_OPERATION_TIMEOUT']);

    // A write made after it, without a timeout, commits once the writer is free (released above).
    await held.done;
    await db.run("INSERT INTO t (v) VALUES ('next')");
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'held' }, { v: 'next' }]);
    // Run again, the statement is submitted with its plan, and commits.
    await db.run(late);
    const again = watcher.submitted.filter((q) => q.sql === late);
    expect(again).toHaveLength(1);
    expect(Array.isArray(again[0]!.plan)).toBe(true);
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'held' }, { v: 'next' }, { v: 'late' }]);
  });

  it('several writes timing out behind the same transaction: none submitted, each rejects with its own timeout', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 1, observers: [watcher.observer] });
    const held = await holdWriter(db);
    const timeouts = [5, 10, 15, 30];
    const outcomes = await Promise.all(timeouts.map((timeout, i) => rejection(db.run(`INSERT INTO t (v) VALUES ('w${i}')`, [], { timeout })))).finally(() =>
      held.release(),
    );
    expect(outcomes.map((e: OperationTimeoutError) => [e.code, e.timeout])).toEqual(timeouts.map((t) => ['LITEPOOL_OPERATION_TIMEOUT', t]));
    expect(watcher.submitted.filter((q) => q.sql.startsWith('INSERT'))).toEqual([]);
    await held.done;
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('with time left after the lookup it is submitted with its plan and commits', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 1, observers: [watcher.observer] });
    const sql = "INSERT INTO t (v) VALUES ('in time')";
    await expect(db.run(sql, [], { timeout: 60_000 })).resolves.toMatchObject({ changes: 1 });
    const submitted = watcher.submitted.filter((q) => q.sql === sql);
    expect(submitted).toHaveLength(1);
    expect(Array.isArray(submitted[0]!.plan)).toBe(true);
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'in time' }]);
  });

  it('an abort while it waits for its plan: never submitted, rejects with the signal reason', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 1, observers: [watcher.observer] });
    const held = await holdWriter(db);
    const controller = new AbortController();
    const sql = "INSERT INTO t (v) VALUES ('aborted')";
    const write = track(db.run(sql, [], { signal: controller.signal, timeout: 60_000 }));
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await rejection(write.promise).finally(() => held.release())).toBe(reason);
    expect(watcher.submitted.filter((q) => q.sql === sql)).toEqual([]);
    await held.done;
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });
});

describe("a pool read whose timeout passes, or whose signal aborts, while its plan is looked up on a reader", () => {
  it('is never submitted and rejects with OperationTimeoutError(its timeout), or with the reason; later reads go on', async () => {
    const watcher = planWatcher();
    const db = await pools.fresh({ readers: 1, observers: [watcher.observer] });
    await db.run("INSERT INTO t (v) VALUES ('a')");
    // The only reader is leased: the plan lookup waits for it until the test releases the lease,
    // which it does once both reads settled (or after 2 s, when they would wait for it).
    const lease = await db.acquire();
    const sql = 'SELECT v FROM t WHERE id = 1';
    const controller = new AbortController();
    const reason = new Error('client went away');
    const timed = rejection(db.get(sql, [], { timeout: 20 }));
    const aborted = rejection(db.get(sql + ' AND 1', [], { signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 20);
    const both = Promise.all([timed, aborted]);
    const before = db.stats().operations;
    const fallback = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
    const first = await Promise.race([both.then(() => 'settled'), fallback.then(() => 'waited for the reader')]);
    await lease.release();
    expect(first).toBe('settled');
    const [timeout, abort] = await both;
    expect(timeout).toBeInstanceOf(OperationTimeoutError);
    expect(timeout).toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT', timeout: 20 });
    expect(abort).toBe(reason);
    const after = db.stats().operations;
    expect([after.started - before.started, after.cancelled - before.cancelled]).toEqual([2, 2]);
    expect(watcher.submitted.filter((q) => q.sql.startsWith('SELECT v'))).toEqual([]);
    // Without a timeout or signal, the same read waits for its plan and runs with it.
    await expect(db.get(sql)).resolves.toEqual({ v: 'a' });
    const again = watcher.submitted.filter((q) => q.sql === sql);
    expect(again).toHaveLength(1);
    expect(Array.isArray(again[0]!.plan)).toBe(true);
  });
});

describe('settledOrAborted (the wait for the plan)', () => {
  it('resolves when the promise settles in time, fulfilled or rejected', async () => {
    await expect(settledOrAborted(Promise.resolve(1), undefined, 60_000)).resolves.toBeUndefined();
    await expect(settledOrAborted(Promise.reject(new Error('x')), undefined, 60_000)).resolves.toBeUndefined();
    await expect(settledOrAborted(Promise.resolve(1), undefined)).resolves.toBeUndefined();
  });

  it('rejects with OperationTimeoutError(ms) when the time passes first', async () => {
    const never = new Promise<void>(() => {});
    const error = await rejection(settledOrAborted(never, undefined, 5));
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT', timeout: 5 });
  });

  it('rejects when the promise settles only after the time is up, before its timer ran', async () => {
    let resolve!: () => void;
    const late = new Promise<void>((r) => (resolve = r));
    const waited = track(settledOrAborted(late, undefined, 5));
    // No turn of the event loop until the time is up: the timer cannot run before the promise settles.
    const started = performance.now();
    while (performance.now() - started < 10);
    resolve();
    const error = await rejection(waited.promise);
    expect(error).toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT', timeout: 5 });
  });

  it('an abort ends the wait (resolves: the request then rejects with the reason), also one that came before', async () => {
    const controller = new AbortController();
    const waited = track(settledOrAborted(new Promise<void>(() => {}), controller.signal, 60_000));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waited.settled()).toBe(false);
    controller.abort();
    await expect(waited.promise).resolves.toBeUndefined();
    await expect(settledOrAborted(new Promise<void>(() => {}), AbortSignal.abort(), 5)).resolves.toBeUndefined();
  });
});

describe('timeLeft (the time a request has left when it is submitted after a wait)', () => {
  it('is the time left, rounded up to a whole millisecond, while some is left', () => {
    const left = timeLeft(60_000, performance.now());
    expect(Number.isInteger(left)).toBe(true);
    expect(left).toBeGreaterThanOrEqual(1);
    expect(left).toBeLessThanOrEqual(60_000);
  });

  it('throws OperationTimeoutError(timeout, sql) once none is left', () => {
    const began = performance.now() - 10;
    const error = (() => {
      try {
        return timeLeft(5, began, 'INSERT INTO t VALUES (1)');
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT', timeout: 5, message: 'the operation did not finish within 5 ms: INSERT INTO t VALUES (1)' });
    expect(() => timeLeft(10, began)).toThrow(OperationTimeoutError);
  });
});

const longSeries = (rows: number) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) SELECT count(*) AS c FROM n`;

describe('in call order behind another request waiting for its plan', () => {
  it("a transaction's write whose time runs out meanwhile is never submitted", async () => {
    const submitted: string[] = [];
    const observer: Observer = { wantsQueryPlan: true, beforeQuery: (q) => void submitted.push(q.sql) };
    const db = await pools.fresh({ readers: 1, observers: [observer] });
    const late = "INSERT INTO t (v) VALUES ('late')";
    // A statement that keeps the transaction's connection busy for at least 20 ms (its CPU time,
    // measured; the wall time is no shorter), and the plans of it and of the late write, known.
    let rows = 100_000;
    for (;;) {
      const before = process.cpuUsage();
      await db.transaction(async (tx) => {
        await tx.get(longSeries(rows));
        await tx.run(late);
        await tx.run('DELETE FROM t');
      });
      const used = process.cpuUsage(before);
      if (used.user + used.system >= 20_000) break;
      rows *= 2;
    }
    submitted.length = 0;
    let error: unknown;
    await db.transaction(async (tx) => {
      const long = tx.get(longSeries(rows));
      // Its plan is looked up on the transaction's connection, behind the long statement.
      const first = tx.run("INSERT INTO t (v) VALUES ('first')");
      // Called after it: submitted after it, once its plan is known, long after 1 ms.
      error = await rejection(tx.run(late, [], { timeout: 1 }));
      await Promise.all([long, first]);
    });
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT', timeout: 1 });
    expect(submitted).not.toContain(late);
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'first' }]);
  });
});
