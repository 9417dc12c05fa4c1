// Owns the 'litepool/otel' entry point: spans and metrics for a pool per the OpenTelemetry
// database client semantic conventions, fed by litepool's diagnostics channels (so a span's parent
// is the caller's active span). `@opentelemetry/api` is an optional peer dependency.
// Runs on the JS thread.

import {
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  metrics as otelMetrics,
  trace as otelTrace,
  type Attributes,
  type Histogram,
  type MeterProvider,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import {
  acquireChannel,
  backupChannel,
  checkpointChannel,
  queryChannel,
  transactionChannel,
  type AcquireChannelContext,
  type BackupChannelContext,
  type CheckpointChannelContext,
  type QueryChannelContext,
  type TransactionChannelContext,
} from '../observers/channels.ts';
import { describeType, invalidArgument } from '../errors.ts';
import { checkKeys } from '../input/validate.ts';
import { statementKeywords } from '../observers/sql-keywords.ts';
import type { PoolStats } from '../types.ts';

/** What `instrument()` needs of a pool. */
export interface InstrumentedPool {
  readonly path: string;
  readonly closed: boolean;
  stats(): PoolStats;
}

export interface InstrumentOptions {
  /** Where spans go (default: the global tracer provider). */
  tracerProvider?: TracerProvider;
  /** Where metrics go (default: the global meter provider). */
  meterProvider?: MeterProvider;
  /** Put the parameterised SQL in `db.query.text` (default true; values are never recorded). */
  captureQueryText?: boolean;
  /** `db.client.connection.pool.name` (default: the database path). */
  poolName?: string;
}

const INSTRUMENT_OPTIONS = ['tracerProvider', 'meterProvider', 'captureQueryText', 'poolName'] as const;

/** instrument()'s options: known keys of the documented types, or a TypeError. */
function checkInstrumentOptions(options: unknown): void {
  const given = checkKeys('options', options, INSTRUMENT_OPTIONS);
  for (const name of ['tracerProvider', 'meterProvider'] as const) {
    const value = given[name];
    const getter = name === 'tracerProvider' ? 'getTracer' : 'getMeter';
    if (value !== undefined && typeof (value as Record<string, unknown> | null)?.[getter] !== 'function') {
      throw invalidArgument(`${name} must be an OpenTelemetry ${name === 'tracerProvider' ? 'TracerProvider' : 'MeterProvider'} (with ${getter}()), got ${describeType(value)}`);
    }
  }
  if (given.captureQueryText !== undefined && typeof given.captureQueryText !== 'boolean') {
    throw invalidArgument(`captureQueryText must be a boolean, got ${describeType(given.captureQueryText)}`);
  }
  if (given.poolName !== undefined && typeof given.poolName !== 'string') {
    throw invalidArgument(`poolName must be a string, got ${describeType(given.poolName)}`);
  }
}

const INSTRUMENTATION = 'litepool';
const SPAN = Symbol('litepool.otel.span');
const STARTED = Symbol('litepool.otel.started');

type Traced = { [SPAN]?: Span; [STARTED]?: number };

/** `db.operation.name`: the SQL keyword of a single statement, or the litepool operation. */
function operationName(operation: string, sql: string): string {
  if (operation === 'batch') return 'BATCH';
  const keywords = statementKeywords(sql);
  if (keywords.length === 1) return keywords[0]!;
  return operation.toUpperCase();
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : '_OTHER';
}

/**
 * Emits a CLIENT span per operation, transaction, lease acquisition, checkpoint and copy (backup,
 * vacuumInto), the
 * `db.client.operation.duration` histogram (seconds), `db.client.connection.count{state}`,
 * `db.client.connection.pending_requests` and the queue wait (`db.client.connection.wait_time`).
 * Returns a function that stops it.
 *
 * @example
 * import { instrument } from 'litepool/otel';
 * const stop = instrument(db);             // global providers, or { tracerProvider, meterProvider }
 */
export function instrument(db: InstrumentedPool, options: InstrumentOptions = {}): () => void {
  if (!db || typeof db.stats !== 'function' || typeof db.path !== 'string') {
    throw invalidArgument('instrument() takes a litepool Pool');
  }
  checkInstrumentOptions(options);
  const tracer = (options.tracerProvider ?? otelTrace.getTracerProvider()).getTracer(INSTRUMENTATION);
  const meter = (options.meterProvider ?? otelMetrics.getMeterProvider()).getMeter(INSTRUMENTATION);
  const captureText = options.captureQueryText ?? true;
  const poolName = options.poolName ?? db.path;
  const base: Attributes = { 'db.system.name': 'sqlite', 'db.namespace': db.path };

  const duration: Histogram = meter.createHistogram('db.client.operation.duration', {
    unit: 's',
    description: 'Duration of database client operations.',
    advice: { explicitBucketBoundaries: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] },
  });
  const waitTime: Histogram = meter.createHistogram('db.client.connection.wait_time', {
    unit: 's',
    description: 'Time an operation waited for a connection (queue wait, clocked natively).',
    advice: { explicitBucketBoundaries: [0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] },
  });
  const connectionCount = meter.createObservableUpDownCounter('db.client.connection.count', {
    unit: '{connection}',
    description: 'Connections by state.',
  });
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    unit: '{request}',
    description: 'Requests waiting for a connection.',
  });
  const observeGauges = (result: { observe(value: number, attributes?: Attributes): void }, which: 'count' | 'pending'): void => {
    if (db.closed) return;
    const stats = db.stats();
    const attributes = { 'db.client.connection.pool.name': poolName };
    if (which === 'count') {
      const used = stats.readers.busy + (stats.writer.busy || stats.writer.held ? 1 : 0);
      const total = stats.readers.size + 1;
      result.observe(used, { ...attributes, 'db.client.connection.state': 'used' });
      result.observe(total - used, { ...attributes, 'db.client.connection.state': 'idle' });
    } else {
      result.observe(stats.queued + stats.writer.queued + stats.leasesWaiting, attributes);
    }
  };
  const countCallback = (result: { observe(value: number, attributes?: Attributes): void }) => observeGauges(result, 'count');
  const pendingCallback = (result: { observe(value: number, attributes?: Attributes): void }) => observeGauges(result, 'pending');
  connectionCount.addCallback(countCallback);
  pending.addCallback(pendingCallback);

  const startSpan = (name: string, attributes: Attributes, ctx: Traced): void => {
    ctx[STARTED] = performance.now();
    ctx[SPAN] = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: { ...base, ...attributes } }, otelContext.active());
  };
  const endSpan = (ctx: Traced & { error?: unknown }, extra: Attributes, metricAttributes: Attributes | undefined): void => {
    const span = ctx[SPAN];
    if (!span) return;
    ctx[SPAN] = undefined;
    const failed = ctx.error !== undefined;
    if (failed) {
      const code = errorCode(ctx.error);
      span.setAttribute('error.type', code);
      const errno = (ctx.error as { errno?: unknown }).errno;
      if (typeof errno === 'number') span.setAttribute('db.response.status_code', String(errno));
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error instanceof Error ? ctx.error.message : String(ctx.error) });
    }
    span.setAttributes(extra);
    span.end();
    if (metricAttributes) {
      const seconds = (performance.now() - (ctx[STARTED] ?? performance.now())) / 1000;
      duration.record(seconds, failed ? { ...metricAttributes, 'error.type': errorCode(ctx.error) } : metricAttributes);
    }
  };

  const query = {
    start(message: unknown): void {
      const ctx = message as QueryChannelContext & Traced;
      if (ctx.pool !== db) return;
      const name = operationName(ctx.operation, ctx.sql);
      const attributes: Attributes = { 'db.operation.name': name, 'litepool.operation': ctx.operation, 'litepool.role': ctx.role };
      if (captureText) attributes['db.query.text'] = ctx.sql;
      startSpan(name, attributes, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as QueryChannelContext & Traced;
      if (ctx.pool !== db || !ctx[SPAN]) return;
      const extra: Attributes = {};
      if (ctx.rows !== undefined) extra['db.response.returned_rows'] = ctx.rows;
      if (ctx.changes !== undefined) extra['litepool.changes'] = ctx.changes;
      if (ctx.queuedMs !== undefined) {
        extra['litepool.queued_ms'] = ctx.queuedMs;
        waitTime.record(ctx.queuedMs / 1000, { ...base, 'db.client.connection.pool.name': poolName });
      }
      if (ctx.execMs !== undefined) extra['litepool.exec_ms'] = ctx.execMs;
      if (ctx.connectionId !== undefined) extra['litepool.connection_id'] = ctx.connectionId;
      endSpan(ctx, extra, { ...base, 'db.operation.name': operationName(ctx.operation, ctx.sql) });
    },
  };
  const transaction = {
    start(message: unknown): void {
      const ctx = message as TransactionChannelContext & Traced;
      if (ctx.pool !== db) return;
      startSpan('TRANSACTION', { 'db.operation.name': 'TRANSACTION', 'litepool.behavior': ctx.behavior }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as TransactionChannelContext & Traced;
      if (ctx.pool !== db) return;
      endSpan(ctx, {}, { ...base, 'db.operation.name': 'TRANSACTION' });
    },
  };
  const acquire = {
    start(message: unknown): void {
      const ctx = message as AcquireChannelContext & Traced;
      if (ctx.pool !== db) return;
      startSpan('ACQUIRE', { 'db.operation.name': 'ACQUIRE', 'litepool.write': ctx.write }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as AcquireChannelContext & Traced;
      if (ctx.pool !== db) return;
      endSpan(ctx, ctx.waitedMs === undefined ? {} : { 'litepool.waited_ms': ctx.waitedMs }, undefined);
    },
  };
  const checkpoint = {
    start(message: unknown): void {
      const ctx = message as CheckpointChannelContext & Traced;
      if (ctx.pool !== db) return;
      startSpan('CHECKPOINT', { 'db.operation.name': 'CHECKPOINT', 'litepool.checkpoint.mode': ctx.mode, 'litepool.checkpoint.source': ctx.source }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as CheckpointChannelContext & Traced;
      if (ctx.pool !== db) return;
      const result = ctx.result as { busy?: boolean; checkpointedFrames?: number } | undefined;
      const extra: Attributes = result ? { 'litepool.checkpoint.busy': result.busy === true, 'litepool.checkpoint.frames': result.checkpointedFrames ?? 0 } : {};
      endSpan(ctx, extra, { ...base, 'db.operation.name': 'CHECKPOINT' });
    },
  };
  const copy = {
    start(message: unknown): void {
      const ctx = message as BackupChannelContext & Traced;
      if (ctx.pool !== db) return;
      const name = ctx.operation === 'backup' ? 'BACKUP' : 'VACUUM INTO';
      startSpan(name, { 'db.operation.name': name }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as BackupChannelContext & Traced;
      if (ctx.pool !== db) return;
      const pages = (ctx.result as { pages?: number } | undefined)?.pages;
      endSpan(ctx, pages === undefined ? {} : { 'litepool.backup.pages': pages }, { ...base, 'db.operation.name': ctx.operation === 'backup' ? 'BACKUP' : 'VACUUM INTO' });
    },
  };
  queryChannel.subscribe(query as never);
  transactionChannel.subscribe(transaction as never);
  acquireChannel.subscribe(acquire as never);
  checkpointChannel.subscribe(checkpoint as never);
  backupChannel.subscribe(copy as never);

  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    queryChannel.unsubscribe(query as never);
    transactionChannel.unsubscribe(transaction as never);
    acquireChannel.unsubscribe(acquire as never);
    checkpointChannel.unsubscribe(checkpoint as never);
    backupChannel.unsubscribe(copy as never);
    connectionCount.removeCallback(countCallback);
    pending.removeCallback(pendingCallback);
  };
}
