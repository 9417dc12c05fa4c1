// Covers litepool/otel with the real OpenTelemetry SDK (in-memory span exporter and metric
// exporter): a CLIENT span per operation with the database client conventions' attributes and no
// parameter value anywhere, parented to the caller's active span (AsyncLocalStorage context
// manager); failures carry error.type and the SQLite status code; the duration and wait-time
// histograms and the connection gauges; spans for checkpoints and copies (backup, vacuumInto);
// stop() ends it, letting the operations in flight end their spans and then unsubscribing; a pool
// instrumented twice feeds both; attributes the pool settles late (the role of a rerouted
// statement) come from the end of the operation; a view of the pool (the Fastify decoration beside
// named instances) is instrumented as the pool.

import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { channel } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LitepoolError } from '../lib/index.ts';
import Fastify from 'fastify';
import litepoolPlugin from '../lib/integrations/fastify/index.ts';
import { instrument } from '../lib/otel/index.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection } from './helpers/waits.ts';

const pools = tempPools('otel');
const SECRET = 'hunter2-secret-value';

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

function providers() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { spans, tracerProvider, metrics, reader, meterProvider };
}

/** The data points' counts of the `db.client.operation.duration` histogram, by operation name (` failed` appended for failures). */
async function durationCounts(p: ReturnType<typeof providers>): Promise<Map<string, number>> {
  await p.reader.forceFlush();
  const counts = new Map<string, number>();
  for (const resource of p.metrics.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name !== 'db.client.operation.duration') continue;
        for (const point of metric.dataPoints) {
          const name = `${point.attributes['db.operation.name']}${point.attributes['error.type'] ? ' failed' : ''}`;
          counts.set(name, (point.value as { count: number }).count);
        }
      }
    }
  }
  return counts;
}

/** The litepool tracing-channel events someone still listens to (`litepool:query:start`, …). */
function listened(): string[] {
  const names = ['query', 'transaction', 'acquire', 'checkpoint', 'backup'].flatMap((name) =>
    ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) => `litepool:${name}:${event}`),
  );
  return names.filter((name) => channel(`tracing:${name}`).hasSubscribers);
}

describe('instrument()', () => {
  it('emits CLIENT spans with the database conventions and never a parameter value', async () => {
    const p = providers();
    const db = await pools.fresh({ readers: 2 });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    await db.run('INSERT INTO t (v) VALUES (?)', [SECRET]);
    await db.get('SELECT * FROM t WHERE v = :v', { v: SECRET });
    await db.all('SELECT id FROM t WHERE v = ?', [SECRET]);
    await expect(db.run('INSERT INTO t (id, v) VALUES (1, ?)', [SECRET])).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    await db.transaction((tx) => tx.get('SELECT count(*) AS n FROM t'));
    stop();
    await db.get('SELECT 42');
    const spans = p.spans.getFinishedSpans();
    const queries = spans.filter((s) => s.attributes['litepool.operation'] !== undefined);
    expect(queries.map((s) => s.name)).toEqual(['INSERT', 'SELECT', 'SELECT', 'INSERT', 'SELECT']);
    expect(spans.map((s) => s.name)).toContain('TRANSACTION');
    for (const span of spans) {
      expect(span.kind).toBe(2 /* SpanKind.CLIENT */);
      expect(span.attributes['db.system.name']).toBe('sqlite');
      expect(span.attributes['db.namespace']).toBe(db.path);
      expect(JSON.stringify(span.attributes)).not.toContain(SECRET);
      expect(JSON.stringify(span.events)).not.toContain(SECRET);
      expect(span.status.message ?? '').not.toContain(SECRET);
    }
    expect(queries[0]!.attributes).toMatchObject({ 'db.operation.name': 'INSERT', 'db.query.text': 'INSERT INTO t (v) VALUES (?)', 'litepool.role': 'writer' });
    expect(queries[1]!.attributes).toMatchObject({ 'db.response.returned_rows': 1, 'litepool.role': 'reader' });
    expect(typeof queries[1]!.attributes['litepool.queued_ms']).toBe('number');
    expect(typeof queries[1]!.attributes['litepool.exec_ms']).toBe('number');
    const failed = queries[3]!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.attributes['error.type']).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(failed.attributes['db.response.status_code']).toBe(String(1555));
    expect(spans.some((s) => s.attributes['db.query.text'] === 'SELECT 42')).toBe(false);
  });

  it("parents each span to the caller's active span", async () => {
    const p = providers();
    const db = await pools.fresh({ readers: 2 });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    const tracer = p.tracerProvider.getTracer('test');
    const parents: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        tracer.startActiveSpan(`request-${n}`, async (span) => {
          parents.push(span.spanContext().spanId);
          await db.get('SELECT ? AS n', [n]);
          await db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', [`${n}`]));
          span.end();
        }),
      ),
    );
    stop();
    const spans = p.spans.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: (typeof spans)[number]) => s.parentSpanContext?.spanId;
    const gets = spans.filter((s) => s.attributes['db.query.text'] === 'SELECT ? AS n');
    expect(gets).toHaveLength(3);
    expect(new Set(gets.map(parentOf))).toEqual(new Set(parents));
    const inserts = spans.filter((s) => s.attributes['db.query.text'] === 'INSERT INTO t (v) VALUES (?)');
    expect(inserts).toHaveLength(3);
    const transactions = spans.filter((s) => s.name === 'TRANSACTION');
    expect(transactions).toHaveLength(3);
    expect(new Set(transactions.map(parentOf))).toEqual(new Set(parents));
    // A statement inside a transaction is parented to the caller's span too, in the same trace.
    expect(new Set(inserts.map(parentOf))).toEqual(new Set(parents));
    for (const span of [...gets, ...inserts, ...transactions]) expect(span.spanContext().traceId).toBe(byId.get(parentOf(span)!)!.spanContext().traceId);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('spans checkpoints and copies, failed ones with error.type, and records their durations', async () => {
    const p = providers();
    const db = await pools.fresh({ readers: 1, walMonitor: false, replication: 'litestream' });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    await db.run("INSERT INTO t (v) VALUES ('a')");
    const done = await db.checkpoint('full');
    await expect(db.checkpoint('truncate')).rejects.toBeInstanceOf(RangeError);
    const copy = await db.backup(join(pools.dir, 'otel-copy.db'));
    await db.vacuumInto(join(pools.dir, 'otel-compact.db'));
    await p.reader.forceFlush();
    stop();
    await db.checkpoint('passive');
    const spans = p.spans.getFinishedSpans().filter((s) => s.attributes['litepool.operation'] === undefined);
    expect(spans.map((s) => s.name)).toEqual(['CHECKPOINT', 'CHECKPOINT', 'BACKUP', 'VACUUM INTO']);
    expect(spans[0]!.attributes).toMatchObject({
      'db.system.name': 'sqlite',
      'db.operation.name': 'CHECKPOINT',
      'litepool.checkpoint.mode': 'full',
      'litepool.checkpoint.source': 'manual',
      'litepool.checkpoint.busy': false,
      'litepool.checkpoint.frames': done.checkpointedFrames,
    });
    expect(spans[1]!.attributes).toMatchObject({ 'litepool.checkpoint.mode': 'truncate', 'error.type': 'LITEPOOL_OUT_OF_RANGE' });
    expect(spans[1]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[2]!.attributes).toMatchObject({ 'db.operation.name': 'BACKUP', 'litepool.backup.pages': copy.pages });
    const durations = await durationCounts(p);
    expect(durations.get('CHECKPOINT')).toBe(1);
    expect(durations.get('CHECKPOINT failed')).toBe(1);
    expect(durations.get('BACKUP')).toBe(1);
    expect(durations.get('VACUUM INTO')).toBe(1);
  });

  it('records the duration and wait-time histograms and the connection gauges', async () => {
    const p = providers();
    const db = await pools.fresh({ readers: 2 });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider, poolName: 'main' });
    for (let i = 0; i < 5; i++) await db.get('SELECT ?', [i]);
    await p.reader.forceFlush();
    stop();
    const names = new Map<string, { dataPoints: { attributes: Record<string, unknown>; value: unknown }[] }>();
    for (const resource of p.metrics.getMetrics()) {
      for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) names.set(metric.descriptor.name, metric as never);
    }
    const duration = names.get('db.client.operation.duration')!;
    expect(duration.dataPoints[0]!.attributes).toMatchObject({ 'db.system.name': 'sqlite', 'db.operation.name': 'SELECT' });
    expect((duration.dataPoints[0]!.value as { count: number }).count).toBe(5);
    expect((names.get('db.client.connection.wait_time')!.dataPoints[0]!.value as { count: number }).count).toBe(5);
    const states = names.get('db.client.connection.count')!.dataPoints.map((d) => d.attributes['db.client.connection.state']);
    expect(states.sort()).toEqual(['idle', 'used']);
    expect(names.get('db.client.connection.pending_requests')!.dataPoints[0]!.attributes).toMatchObject({ 'db.client.connection.pool.name': 'main' });
  });

  it('feeds every instrumentation of a pool all of its spans, and stops each on its own', async () => {
    const a = providers();
    const b = providers();
    const db = await pools.fresh({ readers: 2 });
    const stopA = instrument(db, { tracerProvider: a.tracerProvider, meterProvider: a.meterProvider });
    const stopB = instrument(db, { tracerProvider: b.tracerProvider, meterProvider: b.meterProvider });
    await db.get('SELECT 1');
    await db.run("INSERT INTO t (v) VALUES ('a')");
    await db.transaction((tx) => tx.get('SELECT count(*) AS n FROM t'));
    stopA();
    await db.get('SELECT 2');
    stopB();
    await db.get('SELECT 3');
    const names = (p: ReturnType<typeof providers>) => p.spans.getFinishedSpans().map((s) => s.name).sort();
    expect(names(a)).toEqual(['INSERT', 'SELECT', 'SELECT', 'TRANSACTION']);
    expect(names(b)).toEqual(['INSERT', 'SELECT', 'SELECT', 'SELECT', 'TRANSACTION']);
    expect(a.spans.getFinishedSpans().find((s) => s.attributes['db.query.text'] === 'SELECT 1')!.attributes).toMatchObject({ 'db.response.returned_rows': 1, 'litepool.role': 'reader' });
    const spanIds = (p: ReturnType<typeof providers>) => p.spans.getFinishedSpans().map((s) => s.spanContext().spanId);
    expect(spanIds(a).filter((id) => spanIds(b).includes(id))).toEqual([]);
    expect(await durationCounts(a)).toEqual(new Map([['SELECT', 2], ['INSERT', 1], ['TRANSACTION', 1]]));
    expect(await durationCounts(b)).toEqual(new Map([['SELECT', 3], ['INSERT', 1], ['TRANSACTION', 1]]));
    expect(listened()).toEqual([]);
  });

  it('stop() starts no span but lets the operations in flight end theirs with their outcome, then unsubscribes', async () => {
    const p = providers();
    const db = await pools.fresh({ readers: 2 });
    await db.run("INSERT INTO t (id, v) VALUES (1, 'a')");
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    const gate = latch();
    const held = db.transaction(() => gate.promise);
    const read = db.get('SELECT v FROM t WHERE id = 1');
    const failing = rejection(db.run("INSERT INTO t (id, v) VALUES (1, 'b')")); // waits for the writer
    stop();
    stop();
    expect(listened().filter((name) => name.endsWith(':start'))).toEqual([]);
    expect(await db.get('SELECT 2 AS two')).toEqual({ two: 2 }); // after stop(): no span
    expect(p.spans.getFinishedSpans().map((s) => s.name)).not.toContain('TRANSACTION');
    gate.open();
    await held;
    expect(await read).toEqual({ v: 'a' });
    expect(await failing).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    await new Promise((resolve) => setImmediate(resolve));
    const spans = p.spans.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['INSERT', 'SELECT', 'TRANSACTION']);
    expect(spans.find((s) => s.name === 'SELECT')!.attributes).toMatchObject({ 'db.query.text': 'SELECT v FROM t WHERE id = 1', 'db.response.returned_rows': 1 });
    const insert = spans.find((s) => s.name === 'INSERT')!;
    expect(insert.status.code).toBe(SpanStatusCode.ERROR);
    expect(insert.attributes).toMatchObject({ 'error.type': 'SQLITE_CONSTRAINT_PRIMARYKEY', 'litepool.role': 'writer' });
    expect(await durationCounts(p)).toEqual(new Map([['TRANSACTION', 1], ['SELECT', 1], ['INSERT failed', 1]]));
    expect(listened()).toEqual([]);
    await db.transaction((tx) => tx.get('SELECT 3'));
    expect(p.spans.getFinishedSpans()).toHaveLength(3);
  });

  it('takes the role and connection of a statement from where it ran (a write through get() goes to the writer)', async () => {
    const p = providers();
    const db = await pools.fresh({ readers: 2 });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    expect(await db.get("INSERT INTO t (v) VALUES ('a') RETURNING id")).toEqual({ id: 1 });
    await db.get('SELECT id FROM t');
    stop();
    const [insert, select] = p.spans.getFinishedSpans();
    expect(insert!.attributes).toMatchObject({ 'db.operation.name': 'INSERT', 'litepool.operation': 'get', 'litepool.role': 'writer', 'litepool.connection_id': -1 });
    expect(select!.attributes).toMatchObject({ 'db.operation.name': 'SELECT', 'litepool.role': 'reader' });
    expect(select!.attributes['litepool.connection_id']).toBeGreaterThanOrEqual(0);
  });

  it('refuses what is not a pool and bad options with typed errors', async () => {
    const db = await pools.fresh({ readers: 1 });
    const invalid = expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(() => instrument({} as never)).toThrow(invalid);
    expect(() => instrument({} as never)).toThrow(LitepoolError);
    expect(() => instrument(db, { poolname: 'x' } as never)).toThrow(invalid);
    expect(() => instrument(db, { poolName: 5 } as never)).toThrow(invalid);
    expect(() => instrument(db, { captureQueryText: 'no' } as never)).toThrow(invalid);
    expect(() => instrument(db, { tracerProvider: {} } as never)).toThrow(invalid);
    expect(() => instrument(db, { meterProvider: 'global' } as never)).toThrow(invalid);
    expect(() => instrument(db, null as never)).toThrow(invalid);
  });

  it('instruments the pool behind a view of it (app.litepool beside named Fastify instances)', async () => {
    const p = providers();
    const main = await pools.fresh({ readers: 1 });
    const audit = await pools.fresh({ readers: 1 });
    const app = Fastify();
    await app.register(litepoolPlugin, { pool: main });
    await app.register(litepoolPlugin, { name: 'audit', pool: audit });
    await app.ready();
    expect(app.litepool).not.toBe(main); // a view of it, serving app.litepool.audit
    const stop = instrument(app.litepool, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    await app.litepool.get('SELECT 1 AS one');
    await audit.get('SELECT 2 AS two');
    stop();
    expect(p.spans.getFinishedSpans().map((span) => span.attributes['db.query.text'])).toEqual(['SELECT 1 AS one']);
    await app.close();
  });
});

