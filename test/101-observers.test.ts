// Covers observers on a real pool: every hook fires with the right fields (onQuery for every
// operation on the pool and in every scope, onTransaction, onAcquire, onConnection, onQueue,
// onAttach); queue wait against execution clocked natively (reads queued behind a slow query
// count its whole run as queue time, not execution); vetoes (beforeQuery, the built-in policies
// end to end); a throwing observer; the disposer; option checks; the profiler's statement
// counters. Counts, orderings and bounds only: no wall-clock thresholds.

import { describe, expect, it } from 'vitest';
import { PolicyError, type Observer, type Pool, type QueryEvent } from '../lib/index.ts';
import { QueryProfiler, policies } from '../lib/observers/index.ts';
import { TABLE_T, tempPools } from './helpers/pools.ts';
import { sleep } from './helpers/waits.ts';

const pools = tempPools('observers');

/** An observer that records every event, by hook. */
function recorder(extra: Partial<Observer> = {}) {
  const events: { hook: string; event: unknown }[] = [];
  const queries: QueryEvent[] = [];
  const observer: Observer = {
    onQuery: (e) => void queries.push(e),
    onTransaction: (e) => void events.push({ hook: 'onTransaction', event: e }),
    onAcquire: (e) => void events.push({ hook: 'onAcquire', event: e }),
    onConnection: (e) => void events.push({ hook: 'onConnection', event: e }),
    onQueue: (e) => void events.push({ hook: 'onQueue', event: e }),
    ...extra,
  };
  const of = (hook: string) => events.filter((e) => e.hook === hook).map((e) => e.event as Record<string, unknown>);
  return { observer, events, queries, of };
}

/** A read that keeps its reader busy for a while (counting to a few million). */
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c';

/** A pool with the table t, then `observers` attached (so the schema is not observed). */
async function observed(options: Parameters<typeof pools.fresh>[0], ...observers: Observer[]): Promise<Pool> {
  const db = await pools.fresh(options);
  for (const observer of observers) db.observe(observer);
  return db;
}

async function seeded(options: Parameters<typeof pools.fresh>[0] = {}): Promise<Pool> {
  const db = await pools.fresh(options);
  await db.exec("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200) INSERT INTO t (v) SELECT 'v' || i FROM s");
  return db;
}

describe('onQuery', () => {
  it('reports every operation on the pool with its fields', async () => {
    const r = recorder();
    const db = await observed({ readers: 2 }, r.observer);
    await db.run('INSERT INTO t (v) VALUES (?)', ['a']);
    await db.get('SELECT * FROM t WHERE id = ?', [1]);
    await db.all('SELECT * FROM t');
    await db.exec("UPDATE t SET v = 'b'");
    await db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: ['c'] }, { sql: 'INSERT INTO t (v) VALUES (?)', params: ['d'] }]);
    const seen: unknown[] = [];
    for await (const row of db.iterate('SELECT v FROM t ORDER BY id', [], { chunkSize: 2 })) seen.push(row);
    expect(seen).toHaveLength(3);
    await expect(db.get('SELECT * FROM missing')).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
    const ops = r.queries.map((q) => q.operation);
    expect(ops).toEqual(['run', 'get', 'all', 'exec', 'batch', 'iterate', 'get']);
    const [run, get, all, exec, batch, iterate, failed] = r.queries as [QueryEvent, QueryEvent, QueryEvent, QueryEvent, QueryEvent, QueryEvent, QueryEvent];
    expect(run).toMatchObject({ sql: 'INSERT INTO t (v) VALUES (?)', role: 'writer', connectionId: -1, changes: 1, rows: 0, inTransaction: false });
    expect(get).toMatchObject({ role: 'reader', rows: 1, changes: 0 });
    expect(get.connectionId).toBeGreaterThanOrEqual(0);
    expect(get.connectionId).toBeLessThan(2);
    expect(all).toMatchObject({ role: 'reader', rows: 1 });
    expect(exec).toMatchObject({ role: 'writer', connectionId: -1 });
    expect(batch).toMatchObject({ role: 'writer', sql: 'INSERT INTO t (v) VALUES (?);\nINSERT INTO t (v) VALUES (?)' });
    expect(iterate).toMatchObject({ role: 'reader', rows: 3, inTransaction: false });
    expect(failed.error).toMatchObject({ code: 'SQLITE_ERROR' });
    expect(failed.error!.message).toMatch(/no such table/);
    for (const q of r.queries) {
      expect(q.params).toBeUndefined();
      expect(q.counters).toBeUndefined();
      for (const key of ['queuedMs', 'execMs', 'totalMs'] as const) {
        expect(Number.isFinite(q[key]), `${q.operation} ${key}`).toBe(true);
        expect(q[key]).toBeGreaterThanOrEqual(0);
      }
      expect(q.totalMs).toBeGreaterThanOrEqual(q.execMs);
    }
    expect(run.execMs + get.execMs + exec.execMs).toBeGreaterThan(0);
  });

  it('reports operations in transactions, snapshots and leases as inTransaction', async () => {
    const r = recorder();
    const db = await observed({ readers: 2 }, r.observer);
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['x']);
      await tx.get('SELECT count(*) AS n FROM t');
    });
    await db.read(async (conn) => {
      await conn.all('SELECT * FROM t');
      for await (const _ of conn.iterate('SELECT * FROM t')) void _;
    });
    {
      await using lease = await db.acquire({ write: true });
      await lease.exec('DELETE FROM t');
      await lease.batch([{ sql: 'INSERT INTO t (v) VALUES (1)' }]);
    }
    expect(r.queries.map((q) => [q.operation, q.role, q.inTransaction])).toEqual([
      ['run', 'writer', true],
      ['get', 'writer', true],
      ['all', 'reader', true],
      ['iterate', 'reader', true],
      ['exec', 'writer', true],
      ['batch', 'writer', true],
    ]);
  });

  it('includes aborted and timed-out operations with their codes, and write-queue entries', async () => {
    const r = recorder();
    const db = await observed({ readers: 1 }, r.observer);
    const controller = new AbortController();
    const slow = db.get(SLOW);
    const aborted = db.get('SELECT 1', [], { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await expect(db.get(SLOW, [], { timeout: 5 })).rejects.toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT' });
    await slow;
    const queue = db.writeQueue();
    await queue.enqueue('INSERT INTO t (v) VALUES (?)', ['q']);
    const codes = r.queries.map((q) => q.error?.code);
    expect(codes).toContain('ABORT_ERR');
    expect(codes).toContain('LITEPOOL_OPERATION_TIMEOUT');
    expect(r.queries.at(-1)).toMatchObject({ operation: 'run', sql: 'INSERT INTO t (v) VALUES (?)', changes: 1, inTransaction: false });
    expect(r.queries).toHaveLength(4);
  });

  it('gives parameter values only to observers that ask for them', async () => {
    const plain = recorder();
    const wanting = recorder();
    const db = await observed({}, plain.observer, { ...wanting.observer, wantsParams: true });
    await db.run('INSERT INTO t (v) VALUES (?)', ['secret']);
    await db.get('SELECT * FROM t WHERE v = :v', { v: 'secret' });
    expect(plain.queries.map((q) => q.params)).toEqual([undefined, undefined]);
    expect(wanting.queries.map((q) => q.params)).toEqual([['secret'], ['secret']]);
  });

  it('reports the group size of writes committed together', async () => {
    const r = recorder();
    const db = await observed({}, r.observer);
    const held = db.transaction(() => sleep(50));
    await sleep(5);
    const writes = Array.from({ length: 20 }, (_, i) => db.run('INSERT INTO t (v) VALUES (?)', [`g${i}`]));
    await Promise.all([held, ...writes]);
    const sizes = r.queries.filter((q) => q.operation === 'run').map((q) => q.groupSize ?? 1);
    expect(sizes).toHaveLength(20);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(20);
  });
});

describe('queue wait and execution, clocked natively', () => {
  it('200 point reads queued behind a slow query on a leased reader: the wait is queuedMs, not execMs', async () => {
    const r = recorder();
    const db = await seeded({ readers: 1 });
    // The one reader is leased: the reads wait until it is let go, and the slow query, submitted
    // after them on the lease, runs while they wait.
    const lease = await db.acquire();
    db.observe(r.observer);
    const sql = 'SELECT * FROM t WHERE id = ?';
    const burst = Promise.all(Array.from({ length: 200 }, (_, i) => db.get(sql, [i + 1])));
    expect(await lease.get(SLOW)).toEqual({ n: 3_000_000 });
    await lease.release();
    expect((await burst).map((row) => (row as { id: number }).id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const reads = r.queries.filter((q) => q.sql === sql);
    const slow = r.queries.find((q) => q.sql === SLOW)!;
    expect(reads).toHaveLength(200);
    expect(slow).toMatchObject({ connectionId: 0, rows: 1 });
    expect(slow.execMs).toBeGreaterThan(0);
    // One clock (monotonic) on both sides; 1 ms covers rounding where the JS-side and native waits meet.
    expect(slow.queuedMs + slow.execMs).toBeLessThanOrEqual(slow.totalMs + 1);
    for (const q of reads) {
      expect(q).toMatchObject({ connectionId: 0, rows: 1 });
      // Submitted before the slow query and started after it ended: its whole run is queue time.
      expect(q.queuedMs).toBeGreaterThanOrEqual(slow.execMs);
      // Queue wait and execution are disjoint parts of the call: the wait is not execution too.
      expect(q.execMs).toBeGreaterThan(0);
      expect(q.queuedMs + q.execMs).toBeLessThanOrEqual(q.totalMs + 1);
    }
  });
});

describe('vetoes', () => {
  it('a beforeQuery that throws refuses an INSERT with PolicyError and leaves the table unchanged', async () => {
    const seen: unknown[] = [];
    const db = await observed(
      {},
      {
        beforeQuery(q) {
          seen.push(q);
          if (/^\s*INSERT/i.test(q.sql)) throw new Error('no inserts today');
        },
      },
    );
    const refused = await db.run('INSERT INTO t (v) VALUES (?)', ['x']).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PolicyError);
    expect(refused).toMatchObject({ code: 'LITEPOOL_POLICY', sql: 'INSERT INTO t (v) VALUES (?)' });
    expect((refused as Error).cause).toMatchObject({ message: 'no inserts today' });
    await expect(db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('y')"))).rejects.toBeInstanceOf(PolicyError);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    expect(seen[0]).toEqual({ operation: 'run', sql: 'INSERT INTO t (v) VALUES (?)', role: 'writer' });
    expect(db.stats().operations.failed).toBeGreaterThanOrEqual(2);
  });

  it('readOnly() refuses get(INSERT … RETURNING …) before the writer runs it, every time', async () => {
    const db = await observed({ readers: 2 }, policies.readOnly());
    for (let i = 0; i < 2; i++) {
      const refused = await db.get("INSERT INTO t (v) VALUES ('r') RETURNING id").catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PolicyError);
    }
    await expect(db.run("INSERT INTO t (v) VALUES ('r')")).rejects.toBeInstanceOf(PolicyError);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('denyFullScans() refuses a scan and lets an indexed lookup through', async () => {
    const db = await seeded({ readers: 2 });
    const stop = db.observe(policies.denyFullScans());
    await expect(db.all("SELECT * FROM t WHERE v = 'v3'")).rejects.toMatchObject({ code: 'LITEPOOL_POLICY' });
    expect(await db.get('SELECT v FROM t WHERE id = ?', [3])).toEqual({ v: 'v3' });
    await db.transaction(async (tx) => {
      await expect(tx.all("SELECT * FROM t WHERE v = 'v3'")).rejects.toBeInstanceOf(PolicyError);
      expect(await tx.get('SELECT v FROM t WHERE id = 4')).toEqual({ v: 'v4' });
    });
    stop();
    expect(await db.all("SELECT * FROM t WHERE v = 'v3'")).toHaveLength(1);
  });
});

describe('robustness', () => {
  it('a throwing observer breaks nothing and is warned about once', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => void ((w as { code?: string }).code === 'LITEPOOL_OBSERVER' && warnings.push(w));
    process.on('warning', onWarning);
    try {
      const thrower: Observer = {
        onQuery: () => {
          throw new Error('observer bug');
        },
        onTransaction: () => {
          throw new Error('observer bug');
        },
      };
      const good = recorder();
      const db = await pools.open({ observers: [thrower, good.observer] });
      await db.exec(TABLE_T);
      for (let i = 0; i < 20; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`${i}`]);
      expect(await db.transaction((tx) => tx.get('SELECT count(*) AS n FROM t'))).toEqual({ n: 20 });
      await sleep(10);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(/observer bug/);
      expect(good.queries).toHaveLength(22);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it("observe()'s disposer stops delivery; onAttach runs once per pool", async () => {
    const attached: string[] = [];
    const r = recorder({ onAttach: (pool) => void attached.push(pool.path) });
    const db = await pools.fresh();
    const stop = db.observe(r.observer);
    const again = db.observe(r.observer);
    await db.get('SELECT 1');
    again();
    again();
    await db.get('SELECT 2');
    stop();
    await db.get('SELECT 3');
    expect(r.queries.map((q) => q.sql)).toEqual(['SELECT 1', 'SELECT 2']);
    expect(attached).toEqual([db.path]);
    const other = await pools.fresh({ observers: [r.observer] });
    expect(attached).toEqual([db.path, other.path]);
  });

  it('checks observers: an array of objects whose hooks are functions', async () => {
    await expect(pools.open({ observers: {} as never })).rejects.toThrow(/observers must be an array/);
    await expect(pools.open({ observers: [null] as never })).rejects.toThrow(/observers\[0\] must be an object/);
    await expect(pools.open({ observers: [{ onQuery: 1 }] as never })).rejects.toThrow(/observers\[0\]\.onQuery must be a function/);
    const db = await pools.fresh();
    expect(() => db.observe('x' as never)).toThrow(TypeError);
  });
});

describe('other hooks', () => {
  it('onTransaction, onAcquire and onConnection fire with their fields', async () => {
    const r = recorder();
    const db = await pools.open({ readers: 2, observers: [r.observer] });
    await db.exec(TABLE_T);
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('a')"));
    await expect(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('b')");
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await db.read((conn) => conn.get('SELECT 1'));
    await (await db.acquire()).release();
    const tx = r.of('onTransaction');
    expect(tx.map((e) => e['phase'])).toEqual(['begin', 'commit', 'begin', 'rollback']);
    expect((tx[3]!['error'] as Error).message).toBe('undo');
    for (let i = 1; i < tx.length; i++) expect(tx[i]!['durationMs']).toBeGreaterThanOrEqual(0);
    expect(tx[1]!['durationMs']).toBeGreaterThanOrEqual(tx[0]!['durationMs'] as number);
    expect(r.of('onAcquire').map((e) => e['write'])).toEqual([true, true, false, false]);
    for (const e of r.of('onAcquire')) expect(e['waitedMs']).toBeGreaterThanOrEqual(0);
    await db.close();
    expect(r.of('onConnection')).toEqual([
      { event: 'open', role: 'writer', id: -1 },
      { event: 'open', role: 'reader', id: 0 },
      { event: 'open', role: 'reader', id: 1 },
      { event: 'close', role: 'reader', id: 0 },
      { event: 'close', role: 'reader', id: 1 },
      { event: 'close', role: 'writer', id: -1 },
    ]);
  });

  it('onConnection reports an idle connection replaced', async () => {
    const r = recorder();
    const db = await observed({ readers: 1, idleTimeout: 1000 }, r.observer);
    for (let i = 0; i < 60 && !r.of('onConnection').some((e) => e['event'] === 'replace'); i++) await sleep(100);
    const replaced = r.of('onConnection').filter((e) => e['event'] === 'replace');
    expect(replaced.length).toBeGreaterThan(0);
    expect(replaced[0]).toMatchObject({ reason: 'idle' });
    expect(['reader', 'writer']).toContain(replaced[0]!['role']);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('onQueue reports a full queue, a dropped entry and a blocked entry that timed out', async () => {
    const r = recorder();
    const db = await observed({}, r.observer);
    const held = db.transaction(() => sleep(100));
    await sleep(5);
    // One entry running (held at the writer), one waiting: the third finds each queue full.
    const rejecting = db.writeQueue({ capacity: 2, inFlight: 1, overflow: 'reject' });
    const dropping = db.writeQueue({ capacity: 2, inFlight: 1, overflow: 'drop-oldest' });
    const blocking = db.writeQueue({ capacity: 2, inFlight: 1, overflow: { blockTimeout: 10 } });
    for (const q of [rejecting, dropping, blocking]) for (let i = 0; i < 3; i++) q.push('INSERT INTO t (v) VALUES (?)', [`${i}`]);
    await sleep(40);
    await held;
    await Promise.all([rejecting.shutdown(), dropping.shutdown(), blocking.shutdown()]);
    const kinds = r.of('onQueue').map((e) => e['kind']);
    expect(kinds).toContain('full');
    expect(kinds).toContain('dropped');
    expect(kinds).toContain('timeout');
    for (const e of r.of('onQueue')) expect(e['depth']).toBe(2);
  });
});

describe('QueryProfiler end to end', () => {
  it('statement counters: full-scan steps for a scan, none for a rowid lookup', async () => {
    const db = await seeded({ readers: 1 });
    const profiler = new QueryProfiler({ explainOverMs: 1e9 });
    db.observe(profiler);
    const scan = "SELECT * FROM t WHERE v = 'v9'";
    const lookup = 'SELECT * FROM t WHERE id = ?';
    for (let i = 0; i < 3; i++) {
      await db.all(scan);
      await db.get(lookup, [i + 1]);
    }
    const byText = new Map(profiler.top(10).map((s) => [s.sql, s]));
    expect(byText.get(scan)).toMatchObject({ calls: 3, rows: 3 });
    expect(byText.get(scan)!.fullScanSteps).toBeGreaterThan(0);
    expect(byText.get(scan)!.vmSteps).toBeGreaterThan(0);
    expect(byText.get(lookup)).toMatchObject({ calls: 3, rows: 3, fullScanSteps: 0 });
    expect(byText.get(lookup)!.vmSteps).toBeGreaterThan(0);
  });

  it('counters are collected only while such an observer is attached', async () => {
    const r = recorder();
    const plain = recorder();
    const db = await seeded({ readers: 1 });
    db.observe(plain.observer);
    await db.all('SELECT * FROM t');
    const stop = db.observe({ ...r.observer, wantsStatementCounters: true });
    await db.all('SELECT * FROM t');
    stop();
    await db.all('SELECT * FROM t');
    expect(plain.queries.map((q) => q.counters)).toEqual([undefined, undefined, undefined]);
    expect(r.queries).toHaveLength(1);
    expect(r.queries[0]!.counters!.fullScanSteps).toBeGreaterThan(0);
  });
});
