// Covers observer fixes: a pool iteration the pool itself ends (close(), maxReadDuration) while
// its consumer no longer pulls is reported once, with what the consumer's next pull gets (onQuery,
// `litepool:query`, an OpenTelemetry span that ends and lets stop() unsubscribe), and never again
// when the consumer pulls later; iterate's queuedMs counts a wait for a connection once; the
// beforeQuery event is frozen (an observer cannot change what later observers and policies see);
// ObservedPool.all() refuses a statement that writes (SQLITE_READONLY) before it reaches the
// writer; MetricsCollector forgets a pool it was removed from, and its constant labels win on
// every series; a close() from an observer hook fails the running migration with MigrationError;
// an observer whose property reads throw is a TypeError (LITEPOOL_INVALID_ARGUMENT) and each hook
// is read once. Counts and orderings only: no wall-clock thresholds.

import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  MigrationError,
  PolicyError,
  PoolClosedError,
  ScopeEndedError,
  SqliteError,
  TransactionTimeoutError,
  type ObservedPool,
  type Observer,
  type Pool,
  type QueryEvent,
} from '../lib/index.ts';
import { MetricsCollector, policies } from '../lib/observers/index.ts';
import type { QueryChannelContext } from '../lib/observers/channels.ts';
import { instrument } from '../lib/otel/index.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection, settleOrReport, sleep } from './helpers/waits.ts';

const pools = tempPools('observer-fixes');

/** A pool with the table t holding `rows` rows. */
async function seeded(options: Parameters<typeof pools.fresh>[0], rows = 100): Promise<Pool> {
  const db = await pools.fresh(options);
  await db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${rows}) INSERT INTO t (v) SELECT 'v' || i FROM s`);
  return db;
}

/** Waits until `done()` holds, or a generous watchdog ran out (the assertions after it then fail). */
async function until(done: () => boolean, watchdogMs = 10_000): Promise<void> {
  for (const end = Date.now() + watchdogMs; !done() && Date.now() < end; ) await sleep(5);
}

/** Records `pool`'s iterate operations on `litepool:query`: 'start', then 'asyncEnd <code or ok>'. */
function iterateChannel(pool: Pool) {
  const seen: string[] = [];
  const mine = (ctx: unknown) => (ctx as QueryChannelContext).pool === pool && (ctx as QueryChannelContext).operation === 'iterate';
  const handlers = {
    start: (ctx: unknown) => void (mine(ctx) && seen.push('start')),
    end() {},
    asyncStart() {},
    error() {},
    asyncEnd: (ctx: unknown) => void (mine(ctx) && seen.push(`asyncEnd ${((ctx as { error?: { code?: string } }).error?.code) ?? 'ok'}`)),
  };
  tracingChannel('litepool:query').subscribe(handlers as never);
  return { seen, stop: () => tracingChannel('litepool:query').unsubscribe(handlers as never) };
}

/** An observer recording the iterate events it gets, as 'ok' or their error code. */
function iterateEvents() {
  const seen: string[] = [];
  const events: QueryEvent[] = [];
  const observer: Observer = {
    onQuery: (e) => {
      if (e.operation !== 'iterate') return;
      events.push(e);
      seen.push(e.error?.code ?? 'ok');
    },
  };
  return { seen, events, observer };
}

describe('a pool iteration the pool ends', () => {
  for (const readers of [2, 0]) {
    it(`close() reports an iteration its consumer stopped pulling, once (readers: ${readers})`, async () => {
      const db = await seeded({ readers });
      const r = iterateEvents();
      db.observe(r.observer);
      const ch = iterateChannel(db);
      try {
        const it = db.iterate('SELECT * FROM t ORDER BY id', [], { chunkSize: 10 });
        expect((await it.next()).done).toBe(false);
        // The consumer stops pulling, with rows left: close() ends the iteration.
        await db.close();
        expect(r.seen).toEqual(['LITEPOOL_POOL_CLOSED']);
        expect(ch.seen).toEqual(['start', 'asyncEnd LITEPOOL_POOL_CLOSED']);
        // It pulls again later: the rows fetched are handed out, then its pull rejects; no second report.
        let rows = 0;
        const error = await rejection((async () => {
          while (!(await it.next()).done) rows++;
        })());
        expect(error).toBeInstanceOf(PoolClosedError);
        expect(rows).toBeGreaterThan(0);
        expect(r.seen).toEqual(['LITEPOOL_POOL_CLOSED']);
        expect(ch.seen).toEqual(['start', 'asyncEnd LITEPOOL_POOL_CLOSED']);
      } finally {
        ch.stop();
      }
    });
  }

  it('maxReadDuration reports an iteration its consumer stopped pulling, once, with TransactionTimeoutError', async () => {
    const db = await seeded({ readers: 2, maxReadDuration: 100 });
    const r = iterateEvents();
    db.observe(r.observer);
    const ch = iterateChannel(db);
    try {
      const it = db.iterate('SELECT * FROM t ORDER BY id', [], { chunkSize: 10 });
      await it.next();
      await until(() => r.seen.length > 0);
      expect(r.seen).toEqual(['LITEPOOL_TRANSACTION_TIMEOUT']);
      expect(ch.seen).toEqual(['start', 'asyncEnd LITEPOOL_TRANSACTION_TIMEOUT']);
      expect(db.stats().readers.pinned).toBe(0);
      const error = await rejection((async () => {
        while (!(await it.next()).done);
      })());
      expect(error).toBeInstanceOf(TransactionTimeoutError);
      await it.return(undefined);
      expect(r.seen).toEqual(['LITEPOOL_TRANSACTION_TIMEOUT']);
      expect(ch.seen).toEqual(['start', 'asyncEnd LITEPOOL_TRANSACTION_TIMEOUT']);
    } finally {
      ch.stop();
    }
  });

  it('an iteration whose last chunk had arrived is reported as it ends for its consumer: ok, once', async () => {
    const db = await seeded({ readers: 2 }, 15);
    const r = iterateEvents();
    db.observe(r.observer);
    const it = db.iterate('SELECT * FROM t ORDER BY id', [], { chunkSize: 10 });
    await it.next(); // the next (last) chunk is fetched ahead
    await until(() => db.stats().readers.pinned === 0);
    await db.close();
    expect(r.seen).toEqual(['ok']);
    let rows = 1;
    while (!(await it.next()).done) rows++;
    expect(rows).toBe(15);
    expect(r.seen).toEqual(['ok']);
    expect(r.events[0]!.rows).toBe(15);
  });

  it("ends the OpenTelemetry span at close(), and stop() then unsubscribes", async () => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const db = await seeded({ readers: 2 });
    const stop = instrument(db, { tracerProvider });
    const it = db.iterate('SELECT * FROM t ORDER BY id', [], { chunkSize: 10 });
    await it.next();
    await db.close();
    stop();
    await sleep(0);
    const finished = spans.getFinishedSpans();
    expect(finished).toHaveLength(1);
    expect(finished[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(finished[0]!.attributes['error.type']).toBe('LITEPOOL_POOL_CLOSED');
    expect(channel('tracing:litepool:query:asyncEnd').hasSubscribers).toBe(false);
    await it.return(undefined);
    expect(spans.getFinishedSpans()).toHaveLength(1);
  });
});

describe("iterate's queuedMs", () => {
  for (const readers of [1, 0]) {
    it(`counts the wait for a connection once: never more than totalMs (readers: ${readers})`, async () => {
      const db = await seeded({ readers }, 10);
      const r = iterateEvents();
      db.observe(r.observer);
      // The only reader (or the writer) is held: the iteration waits for it.
      const lease = await db.acquire({ write: readers === 0 });
      const rows = (async () => {
        let n = 0;
        for await (const _ of db.iterate('SELECT * FROM t')) n++;
        return n;
      })();
      await sleep(30);
      await lease.release();
      expect(await rows).toBe(10);
      expect(r.events).toHaveLength(1);
      const e = r.events[0]!;
      expect(e.queuedMs).toBeGreaterThan(0);
      expect(e.queuedMs).toBeLessThanOrEqual(e.totalMs);
      expect(e.queuedMs + e.execMs).toBeLessThanOrEqual(e.totalMs);
    });
  }
});

describe('the beforeQuery event', () => {
  it('is frozen: an observer cannot change what later observers and policies see', async () => {
    const db = await pools.fresh({ readers: 1 });
    const tried: string[] = [];
    const later: unknown[] = [];
    db.observe({
      beforeQuery(q) {
        tried.push(`frozen ${Object.isFrozen(q)}`);
        const writable = q as { operation: string; sql: string; role: string; writes?: boolean };
        for (const change of [() => (writable.operation = 'get'), () => (writable.sql = 'SELECT 1'), () => (writable.role = 'reader'), () => (writable.writes = false)]) {
          try {
            change();
          } catch (error) {
            tried.push((error as Error).name);
          }
        }
      },
    });
    db.observe(policies.readOnly());
    db.observe({ beforeQuery: (q) => void later.push({ ...q }) });
    const error = await rejection(db.run("INSERT INTO t (v) VALUES ('x')"));
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).cause).toMatchObject({ message: expect.stringContaining('read-only') });
    expect(tried).toEqual(['frozen true', 'TypeError', 'TypeError', 'TypeError', 'TypeError']);
    expect(later).toEqual([]); // the policy vetoed before it
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    expect(later).toEqual([{ operation: 'get', sql: 'SELECT count(*) AS n FROM t', role: 'reader' }]);
  });

  it('keeps its plan for denyFullScans whatever an earlier observer does', async () => {
    const db = await pools.fresh({ readers: 1 });
    const seen: unknown[] = [];
    db.observe({
      beforeQuery(q) {
        try {
          (q as { plan?: readonly string[] }).plan = [];
        } catch {
          // strict mode: the event is frozen
        }
        seen.push(q.plan);
      },
    });
    db.observe(policies.denyFullScans());
    await expect(db.all('SELECT * FROM t')).rejects.toBeInstanceOf(PolicyError);
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toEqual([]);
  });
});

describe('ObservedPool.all()', () => {
  for (const readers of [1, 0]) {
    it(`refuses a statement that writes before it runs, with SQLITE_READONLY (readers: ${readers})`, async () => {
      const db = await pools.fresh({ readers });
      await db.run("INSERT INTO t (v) VALUES ('kept')");
      let view: ObservedPool | undefined;
      db.observe({ onAttach: (pool) => void (view = pool) });
      db.observe(policies.readOnly());
      expect(await view!.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
      for (const sql of ['DELETE FROM t RETURNING id', "INSERT INTO t (v) VALUES ('no') RETURNING id", 'PRAGMA user_version = 7']) {
        const error = await rejection(view!.all(sql));
        expect(error).toBeInstanceOf(SqliteError);
        expect(error).toMatchObject({ code: 'SQLITE_READONLY', sql });
      }
      expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
      expect(await db.get('PRAGMA user_version')).toEqual({ user_version: 0 });
      // Plan lookups (what QueryProfiler asks of it) still work.
      expect((await view!.all('EXPLAIN QUERY PLAN SELECT * FROM t')).length).toBeGreaterThan(0);
    });
  }

  it('without readers, refuses a PRAGMA given a value, ATTACH and DETACH before preparing them: the writer stays as it was', async () => {
    const db = await pools.fresh({ readers: 0 });
    let view: ObservedPool | undefined;
    db.observe({ onAttach: (pool) => void (view = pool) });
    for (const sql of ['PRAGMA query_only = ON', 'PRAGMA foreign_keys = OFF', 'pragma main.recursive_triggers=1', "ATTACH ':memory:' AS other", 'DETACH other']) {
      const error = await rejection(view!.all(sql));
      expect(error).toMatchObject({ code: 'SQLITE_READONLY', sql });
    }
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 0 });
    expect(await db.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
    expect(await db.get('PRAGMA recursive_triggers')).toEqual({ recursive_triggers: 0 });
    expect((await db.all('PRAGMA database_list')).length).toBe(1);
    await db.run("INSERT INTO t (v) VALUES ('still writable')");
    // Reading PRAGMAs through it still works.
    expect(await view!.all('PRAGMA query_only')).toEqual([{ query_only: 0 }]);
    expect((await view!.all('PRAGMA table_info(t)')).length).toBeGreaterThan(0);
  });

  it('refuses it without waiting for the writer (a transaction holds it)', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    let view: ObservedPool | undefined;
    db.observe({ onAttach: (pool) => void (view = pool) });
    const gate = latch();
    const held = db.transaction(() => gate.promise);
    try {
      const [outcome] = await settleOrReport([view!.all('DELETE FROM t RETURNING id')], 5_000);
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_READONLY' } });
    } finally {
      gate.open();
      await held;
    }
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
  });
});

describe('MetricsCollector', () => {
  it('forgets a pool it was removed from, and reports it again once attached again', async () => {
    const db = await pools.fresh({ readers: 1 });
    const metrics = new MetricsCollector();
    const stop = db.observe(metrics);
    await db.get('SELECT 1');
    expect(metrics.snapshot().pools.map((p) => p.path)).toEqual([db.path]);
    stop();
    expect(metrics.snapshot().pools).toEqual([]);
    expect(metrics.toPrometheus()).not.toContain('litepool_readers');
    expect(metrics.snapshot().operations.get!.count).toBe(1); // what it counted stays
    const again = db.observe(metrics);
    expect(metrics.snapshot().pools.map((p) => p.path)).toEqual([db.path]);
    again();
    expect(metrics.snapshot().pools).toEqual([]);
  });

  it('keeps a pool attached twice until both disposers ran', async () => {
    const db = await pools.fresh({ readers: 1 });
    const metrics = new MetricsCollector();
    const first = db.observe(metrics);
    const second = db.observe(metrics);
    first();
    expect(metrics.snapshot().pools).toHaveLength(1);
    second();
    expect(metrics.snapshot().pools).toHaveLength(0);
  });

  it('constant labels win on every series, the pool gauges included', async () => {
    const db = await pools.fresh({ readers: 1 });
    const metrics = new MetricsCollector({ labels: { database: 'main', service: 'api' } });
    db.observe(metrics);
    await db.get('SELECT 1');
    const lines = metrics.toPrometheus().split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    const gauges = lines.filter((line) => line.startsWith('litepool_readers{'));
    expect(gauges).toHaveLength(3);
    for (const line of lines) {
      expect(line).toMatch(/^[a-z_]+\{database="main",service="api"/);
      expect(line).not.toContain(db.path);
    }
  });
});

describe('migrations', () => {
  it('a close() from an observer hook fails the running migration with MigrationError', async () => {
    const db = await pools.fresh({ readers: 1 });
    const phases: string[] = [];
    let closing: Promise<void> | undefined;
    db.observe({
      onMigration(e) {
        phases.push(`${e.phase} ${e.version}`);
        if (e.phase === 'start' && e.version === '1.1.0') closing = db.close();
      },
    });
    const migrations = [
      { version: '1.0.0', name: 'a', up: 'CREATE TABLE a (x)' },
      { version: '1.1.0', name: 'b', up: 'CREATE TABLE b (x)' },
      { version: '1.2.0', name: 'c', up: 'CREATE TABLE c (x)' },
    ];
    const error = await rejection(db.migrate({ migrations }));
    await closing;
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', version: '1.1.0' });
    expect((error as MigrationError).file).toContain('1.1.0');
    expect((error as MigrationError).cause).toBeInstanceOf(ScopeEndedError);
    expect(phases).toEqual(['start 1.0.0', 'applied 1.0.0', 'start 1.1.0', 'failed 1.1.0']);
  });

  it("a close() from an 'applied' event, between two migrations, stops the run with PoolClosedError; what was applied stays", async () => {
    const path = pools.file();
    const db = await pools.openAt(path, { readers: 1 });
    let closing: Promise<void> | undefined;
    db.observe({
      onMigration(e) {
        if (e.phase === 'applied' && e.version === '1.0.0') closing = db.close();
      },
    });
    const migrations = [
      { version: '1.0.0', name: 'a', up: 'CREATE TABLE a (x)' },
      { version: '1.1.0', name: 'b', up: 'CREATE TABLE b (x)' },
    ];
    const error = await rejection(db.migrate({ migrations }));
    await closing;
    expect(error).toBeInstanceOf(PoolClosedError);
    const again = await pools.openAt(path, { readers: 1 });
    expect(await again.all("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('a', 'b') ORDER BY name")).toEqual([{ name: 'a' }]);
  });

  it("an abort from an observer hook still rejects with the signal's reason", async () => {
    const db = await pools.fresh({ readers: 1 });
    const controller = new AbortController();
    const reason = new Error('stop the run');
    db.observe({ onMigration: (e) => void (e.phase === 'start' && e.version === '1.1.0' && controller.abort(reason)) });
    const migrations = [
      { version: '1.0.0', name: 'a', up: 'CREATE TABLE a (x)' },
      { version: '1.1.0', name: 'b', up: 'CREATE TABLE b (x)' },
    ];
    expect(await rejection(db.migrate({ migrations, signal: controller.signal }))).toBe(reason);
  });
});

describe('observer checks', () => {
  const throwing = {
    revoked: () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    },
    trap: () => new Proxy({}, { get: () => { throw new Error('trap'); } }),
    getter: () => ({ get onQuery(): never { throw new Error('getter'); } }),
  };

  for (const [name, make] of Object.entries(throwing)) {
    it(`an observer whose reads throw (${name}) is a TypeError with what it threw as the cause`, async () => {
      const db = await pools.fresh({ readers: 1 });
      const fromObserve = (() => {
        try {
          db.observe(make() as Observer);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(fromObserve).toBeInstanceOf(TypeError);
      expect(fromObserve).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
      expect((fromObserve as Error).cause).toBeInstanceOf(Error);
      const fromOpen = await rejection(pools.open({ observers: [make() as Observer] }));
      expect(fromOpen).toBeInstanceOf(TypeError);
      expect(fromOpen).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT', message: expect.stringContaining('observers[0]') });
      expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
    });
  }

  it('an open() that failed after checking its observers leaves nothing behind: a later observe() reads the hooks afresh', async () => {
    const observer: Observer = { onQuery: () => undefined };
    await expect(pools.fresh({ readers: 1, observers: [observer], cacheSize: -5 } as never)).rejects.toThrow();
    const seen: string[] = [];
    observer.onQuery = (e) => void seen.push(e.sql);
    const db = await pools.fresh({ readers: 1 });
    db.observe(observer);
    await db.get('SELECT 42');
    expect(seen).toContain('SELECT 42');
  });

  it('reads each hook and flag once, through open() and observe()', async () => {
    const reads = new Map<string, number>();
    const queries: string[] = [];
    const counting = () =>
      new Proxy(
        { onQuery: (e: QueryEvent) => void queries.push(e.sql), wantsParams: true },
        {
          get(target, key, receiver) {
            reads.set(String(key), (reads.get(String(key)) ?? 0) + 1);
            return Reflect.get(target, key, receiver) as unknown;
          },
        },
      );
    const db = await pools.fresh({ readers: 1, observers: [counting()] });
    expect(reads.get('onQuery')).toBe(1);
    expect(reads.get('wantsParams')).toBe(1);
    await db.get('SELECT 1');
    await db.get('SELECT 2');
    expect(reads.get('onQuery')).toBe(1);
    reads.clear();
    db.observe(counting());
    await db.get('SELECT 3');
    expect(reads.get('onQuery')).toBe(1);
    expect(reads.get('beforeQuery')).toBe(1);
    expect(queries.filter((sql) => sql.startsWith('SELECT'))).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 3']);
  });
});
