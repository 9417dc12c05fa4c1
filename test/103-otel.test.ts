// Covers litepool/otel with the real OpenTelemetry SDK (in-memory span exporter and metric
// exporter): a CLIENT span per operation with the database client conventions' attributes and no
// parameter value anywhere, parented to the caller's active span (AsyncLocalStorage context
// manager); failures carry error.type and the SQLite status code; the duration and wait-time
// histograms and the connection gauges; spans for checkpoints and copies (backup, vacuumInto);
// stop() ends it.

import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LitepoolError } from '../lib/index.ts';
import { instrument } from '../lib/otel/index.ts';
import { tempPools } from './helpers/pools.ts';

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
    const durations = new Map<string, number>();
    for (const resource of p.metrics.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== 'db.client.operation.duration') continue;
          for (const point of metric.dataPoints) {
            const name = `${point.attributes['db.operation.name']}${point.attributes['error.type'] ? ' failed' : ''}`;
            durations.set(name, (point.value as { count: number }).count);
          }
        }
      }
    }
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
});
