// Covers cancellation of single operations: a per-operation timeout interrupts a runaway query
// (OperationTimeoutError) and the same reader serves the next request correctly; an AbortSignal
// aborted while the query runs rejects with signal.reason; an already-aborted signal rejects at
// once and nothing reaches SQLite; the pool-wide queryTimeout applies to every operation
// (including those on leases, inside transactions and db.iterate()); 1,000 operations aborted at
// random moments among 1,000 normal ones each settle with their own outcome; a write queued
// behind a transaction is removed when cancelled; a write interrupted inside a transaction never
// leaves part of that transaction committed; stats().operations counts cancellations.
import { describe, expect, it } from 'vitest';
import { OperationTimeoutError, SqliteError } from '../lib/index.ts';
import { holdWriter, tempPools } from './helpers/pools.ts';
import { seeded } from './helpers/prng.ts';
import { sleep, track } from './helpers/waits.ts';

/** Never ends by itself. */
const INFINITE = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) AS n FROM c';
/** A write that never ends by itself. */
const INFINITE_INSERT = "INSERT INTO t (v) SELECT 'runaway-' || x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c)";
/** Takes some tens of milliseconds. */
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200000) SELECT count(*) AS n, ? AS tag FROM c';

const pools = tempPools('cancel');

const isTimeout = (error: unknown): boolean =>
  error instanceof OperationTimeoutError && (error as OperationTimeoutError).code === 'LITEPOOL_OPERATION_TIMEOUT';

/** Settles to the rejection reason, or to a marker when the promise resolves. */
const RESOLVED = Symbol('resolved');
function reasonOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => RESOLVED,
    (reason: unknown) => reason,
  );
}

describe('timeouts', () => {
  it('a runaway query with timeout: 100 rejects with OperationTimeoutError; the same reader then answers correctly', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('one'), ('two')");
    const before = db.stats().operations;
    await expect(db.get(INFINITE, [], { timeout: 100 })).rejects.toSatisfy(isTimeout);
    await expect(db.all(INFINITE, [], { timeout: 100 })).rejects.toSatisfy(isTimeout);
    expect(db.stats().operations.cancelled - before.cancelled).toBe(2);
    expect(await db.get('SELECT v FROM t WHERE id = ?', [2])).toEqual({ v: 'two' });
    expect(await db.get(SLOW, ['after'])).toEqual({ n: 200000, tag: 'after' });
    expect(db.stats().readers.busy).toBe(0);
  });

  it('a runaway write with a timeout is interrupted and rolled back; the writer is free afterwards', async () => {
    const db = await pools.fresh({ readers: 1 });
    await expect(db.run(INFINITE_INSERT, [], { timeout: 100 })).rejects.toSatisfy(isTimeout);
    await expect(db.exec(INFINITE_INSERT, { timeout: 100 })).rejects.toSatisfy(isTimeout);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'after' }]);
  });

  it('the pool-wide queryTimeout applies to get, all, run and exec', async () => {
    const db = await pools.fresh({ readers: 1, queryTimeout: 100 });
    await expect(db.get(INFINITE)).rejects.toSatisfy(isTimeout);
    await expect(db.all(INFINITE)).rejects.toSatisfy(isTimeout);
    await expect(db.run(INFINITE_INSERT)).rejects.toSatisfy(isTimeout);
    await expect(db.exec(INFINITE_INSERT)).rejects.toSatisfy(isTimeout);
    // A per-operation timeout overrides it.
    expect(await db.get(SLOW, ['own timeout'], { timeout: 10_000 })).toEqual({ n: 200000, tag: 'own timeout' });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('the pool-wide queryTimeout applies to operations on leases, inside transactions and in db.iterate()', async () => {
    const db = await pools.fresh({ readers: 2, queryTimeout: 100 });
    // A fallback signal ends each query after 3 s if the timeout does not: then the assertion
    // shows the fallback's TimeoutError instead of an OperationTimeoutError.
    const fallback = () => AbortSignal.timeout(3000);
    const lease = await db.acquire();
    const onLease = await reasonOf(lease.get(INFINITE, [], { signal: fallback() }));
    await lease.release();
    const inTransaction = await reasonOf(db.transaction((tx) => tx.get(INFINITE, [], { signal: fallback() })));
    const iterated = await reasonOf(
      (async () => {
        for await (const row of db.iterate(INFINITE, [], { signal: fallback() })) return row;
      })(),
    );
    expect({ onLease: isTimeout(onLease), inTransaction: isTimeout(inTransaction), iterated: isTimeout(iterated) }).toEqual({
      onLease: true,
      inTransaction: true,
      iterated: true,
    });
  });

  it('a per-operation timeout on a lease or inside a transaction interrupts the query; the scope carries on', async () => {
    const db = await pools.fresh({ readers: 2 });
    const lease = await db.acquire();
    await expect(lease.get(INFINITE, [], { timeout: 100 })).rejects.toSatisfy(isTimeout);
    expect(await lease.get('SELECT 5 AS n')).toEqual({ n: 5 });
    await lease.release();
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('before')");
      await expect(tx.get(INFINITE, [], { timeout: 100 })).rejects.toSatisfy(isTimeout);
      await tx.run("INSERT INTO t (v) VALUES ('after')");
    });
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'before' }, { v: 'after' }]);
  });
});

describe('abort signals', () => {
  it('a signal aborted while the query runs rejects with signal.reason (an AbortError); the reader answers next', async () => {
    const db = await pools.fresh({ readers: 1 });
    const controller = new AbortController();
    const query = db.get(INFINITE, [], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const reason = await reasonOf(query);
    expect(controller.signal.aborted).toBe(true);
    expect(reason).toBe(controller.signal.reason);
    expect((reason as Error).name).toBe('AbortError');
    expect(await db.get('SELECT ? AS x', [7])).toEqual({ x: 7 });
  });

  it('an already-aborted signal rejects at once, counts as cancelled, and nothing reaches SQLite', async () => {
    const db = await pools.fresh({ readers: 1 });
    const reason = new Error('aborted before the call');
    const signal = AbortSignal.abort(reason);
    const before = db.stats().operations;
    const attempts = [
      db.run("INSERT INTO t (v) VALUES ('never')", [], { signal }),
      // It would fail in SQLite (no such table) if it got there.
      db.run("INSERT INTO missing (v) VALUES ('never')", [], { signal }),
      db.exec("INSERT INTO t (v) VALUES ('never')", { signal }),
      db.get('SELECT * FROM missing', [], { signal }),
      db.all('SELECT * FROM t', [], { signal }),
    ];
    expect(db.stats().inFlight).toBe(0);
    const settledFirst = await Promise.race([
      Promise.allSettled(attempts).then(() => 'settled'),
      new Promise((resolve) => setImmediate(() => resolve('pending'))),
    ]);
    expect(settledFirst).toBe('settled');
    for (const attempt of attempts) await expect(attempt).rejects.toBe(reason);
    const after = db.stats().operations;
    expect(after.cancelled - before.cancelled).toBe(attempts.length);
    expect(after.failed - before.failed).toBe(0);
    expect(after.completed - before.completed).toBe(0);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('an aborted signal on a write interrupted while running rolls it back', async () => {
    const db = await pools.fresh({ readers: 1 });
    const controller = new AbortController();
    const reason = new Error('stop writing');
    const write = db.run(INFINITE_INSERT, [], { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(write).rejects.toBe(reason);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await db.run("INSERT INTO t (v) VALUES ('next')");
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
  });

  it('1,000 operations aborted at random moments among 1,000 normal ones: each settles with its own outcome', async () => {
    const db = await pools.fresh({ readers: 2 });
    await db.run(
      "INSERT INTO t (id, v) SELECT x, 'v' || x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x FROM c)",
    );
    const seed = 0x5eed1234;
    const random = seeded(seed);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

    type Plan = { normal: true; id: number } | { normal: false; k: number; query: 'point' | 'range' | 'slow'; when: 'before' | 'sync' | 'microtask' | 'timer'; delay: number; id: number };
    const plans: Plan[] = [];
    for (let i = 1; i <= 1000; i++) plans.push({ normal: true, id: i });
    for (let k = 0; k < 1000; k++) {
      plans.push({
        normal: false,
        k,
        query: pick(['point', 'range', 'slow'] as const),
        when: pick(['before', 'sync', 'microtask', 'timer', 'timer', 'timer'] as const),
        delay: Math.floor(random() * 40),
        id: 1 + Math.floor(random() * 991),
      });
    }
    for (let i = plans.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [plans[i], plans[j]] = [plans[j]!, plans[i]!];
    }

    const before = db.stats().operations;
    const normal: { id: number; result: Promise<unknown> }[] = [];
    const aborted: { plan: Extract<Plan, { normal: false }>; reason: Error; outcome: Promise<{ ok: boolean; value: unknown }> }[] = [];
    for (let index = 0; index < plans.length; index++) {
      const plan = plans[index]!;
      if (plan.normal) {
        normal.push({ id: plan.id, result: db.get('SELECT id, v FROM t WHERE id = ?', [plan.id]) });
      } else {
        const reason = new Error(`abort #${plan.k}`);
        const controller = new AbortController();
        if (plan.when === 'before') controller.abort(reason);
        const signal = controller.signal;
        const operation =
          plan.query === 'point'
            ? db.get('SELECT id, v FROM t WHERE id = ?', [plan.id], { signal })
            : plan.query === 'range'
              ? db.all('SELECT id, v FROM t WHERE id BETWEEN ? AND ? ORDER BY id', [plan.id, plan.id + 9], { signal })
              : db.get(SLOW, [plan.k], { signal });
        const outcome = operation.then(
          (value) => ({ ok: true, value }),
          (value: unknown) => ({ ok: false, value }),
        );
        if (plan.when === 'sync') controller.abort(reason);
        else if (plan.when === 'microtask') queueMicrotask(() => controller.abort(reason));
        else if (plan.when === 'timer') setTimeout(() => controller.abort(reason), plan.delay);
        aborted.push({ plan, reason, outcome });
      }
      // Spread the submissions over time, so aborts meet operations queued and running.
      if (index % 50 === 49) await sleep(Math.floor(random() * 4));
    }

    const normalResults = await Promise.all(normal.map(({ result }) => result));
    const wrongNormal = normal.filter(({ id }, i) => JSON.stringify(normalResults[i]) !== JSON.stringify({ id, v: `v${id}` }));
    expect(wrongNormal.map(({ id }) => id)).toEqual([]);

    const expected = (plan: Extract<Plan, { normal: false }>): unknown =>
      plan.query === 'point'
        ? { id: plan.id, v: `v${plan.id}` }
        : plan.query === 'range'
          ? Array.from({ length: 10 }, (_, i) => ({ id: plan.id + i, v: `v${plan.id + i}` }))
          : { n: 200000, tag: plan.k };
    let rejected = 0;
    let resolved = 0;
    const wrong: string[] = [];
    for (const { plan, reason, outcome } of aborted) {
      const { ok, value } = await outcome;
      if (ok) {
        resolved++;
        if (plan.when === 'before') wrong.push(`#${plan.k}: resolved though its signal was aborted before the call`);
        else if (JSON.stringify(value) !== JSON.stringify(expected(plan))) wrong.push(`#${plan.k}: resolved with ${JSON.stringify(value)}`);
      } else {
        rejected++;
        if (value !== reason) wrong.push(`#${plan.k}: rejected with ${String(value)} instead of its own reason`);
      }
    }
    expect(wrong, `seed ${seed}`).toEqual([]);
    expect(rejected + resolved).toBe(1000);
    expect(rejected).toBeGreaterThan(0);

    // A cancelled read settles at once; its native request (skipped, or interrupted) finishes on
    // its own a moment later.
    for (let waited = 0; db.stats().inFlight > 0 && waited < 5000; waited += 10) await sleep(10);
    const after = db.stats();
    expect(after.operations.started - before.started).toBe(2000);
    expect(after.operations.cancelled - before.cancelled).toBe(rejected);
    expect(after.operations.completed - before.completed).toBe(1000 + resolved);
    expect(after.operations.failed - before.failed).toBe(0);
    expect(after.inFlight).toBe(0);
    expect(after.queued).toBe(0);
    expect(after.readers.busy).toBe(0);
    // Still healthy.
    expect(await db.all('SELECT id FROM t WHERE id IN (1, 500, 1000) ORDER BY id')).toEqual([{ id: 1 }, { id: 500 }, { id: 1000 }]);
  });
});

describe('queued and transactional writes', () => {
  it('cancelling a write queued behind a long transaction removes it: the row never appears', async () => {
    const db = await pools.fresh({ readers: 1 });
    const transaction = await holdWriter(db, 'tx');
    const before = db.stats().operations;
    const controller = new AbortController();
    const reason = new Error('cancel the queued write');
    const write = track(db.run("INSERT INTO t (v) VALUES ('cancelled')", [], { signal: controller.signal }));
    await sleep(30);
    expect(write.settled()).toBe(false);
    expect(db.stats().writer.queued).toBe(1);
    controller.abort(reason);
    await expect(write.promise).rejects.toBe(reason);
    expect(db.stats().writer.queued).toBe(0);
    // A queued write that times out is removed the same way.
    await expect(db.run("INSERT INTO t (v) VALUES ('timed out')", [], { timeout: 50 })).rejects.toSatisfy(isTimeout);
    expect(db.stats().operations.cancelled - before.cancelled).toBe(2);
    transaction.release();
    await transaction.done;
    await db.run("INSERT INTO t (v) VALUES ('later')");
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'tx' }, { v: 'later' }]);
  });

  it('a write interrupted inside a transaction never leaves part of the transaction committed', async () => {
    const db = await pools.fresh({ readers: 1 });
    // Outcomes are recorded here, outside the callback, so a failed check cannot be swallowed
    // by the transaction's rollback.
    let interrupted: unknown = RESOLVED;
    let later: unknown = RESOLVED;
    const outcome = await reasonOf(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('before')");
        interrupted = await reasonOf(tx.run(INFINITE_INSERT, [], { timeout: 100 }));
        later = await reasonOf(tx.run("INSERT INTO t (v) VALUES ('after')"));
        if (later !== RESOLVED) throw later;
      }),
    );
    expect(interrupted).toBeInstanceOf(OperationTimeoutError);
    expect((interrupted as OperationTimeoutError).code).toBe('LITEPOOL_OPERATION_TIMEOUT');
    // SQLite rolled the whole transaction back: the next statement is refused with SQLITE_ABORT
    // and the transaction rejects with that error (docs/transactions.md).
    expect(later).toBeInstanceOf(SqliteError);
    expect((later as SqliteError).code).toBe('SQLITE_ABORT');
    expect(outcome).toBe(later);
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([]);
    // The writer is usable afterwards.
    await db.run("INSERT INTO t (v) VALUES ('next')");
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'next' }]);
  });
});
