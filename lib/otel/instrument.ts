// Owns the 'litepool/otel' entry point: spans and metrics for a pool per the OpenTelemetry
// database client semantic conventions, fed by litepool's diagnostics channels (so a span's parent
// is the caller's active span). `@opentelemetry/api` is an optional peer dependency. A tracer, span
// or histogram that throws never reaches the operation or the process (Node re-throws what a
// channel subscriber throws as an uncaught exception): it is reported once per instrument() call,
// as a LITEPOOL_OBSERVER process warning, and a span that failed to start is never ended.
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
import type { TracingChannel } from 'node:diagnostics_channel';
import { POOL_ITSELF } from '../api/pool-itself.ts';
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
import { whenClosed } from '../observers/hub.ts';
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

/** A span this instrumentation started and has not ended yet, with when it started. */
interface Live {
  span: Span;
  started: number;
}

/** `db.operation.name`: the SQL keyword of a single statement, or the litepool operation. */
function operationName(operation: string, sql: string): string {
  if (operation === 'batch') return 'BATCH';
  const keywords = statementKeywords(sql);
  if (keywords.length === 1) return keywords[0]!;
  return operation.toUpperCase();
}

/** The reason of a telemetry failure, for its warning (String() of a thrown value may throw too). */
function reasonOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable value';
  }
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
 * Returns a function that stops it: no span starts after it, the gauges stop at once, and the
 * operations already in flight still end their spans (and record their durations) when they
 * settle, after which nothing of this instrumentation stays subscribed. A pool that closes stops
 * it too (once closed, as stop() would). Each call is independent:
 * a pool may be instrumented more than once (e.g. into two providers).
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
  // The pool its events carry, also when `db` is a view of it (the Fastify decoration beside named instances).
  const pool: object = (db as { [POOL_ITSELF]?: object })[POOL_ITSELF] ?? db;
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

  // This call's spans in flight, by channel context: its own state, never stored on the context
  // (which every subscriber shares), so two instrumentations of one pool never see each other's.
  const live = new Map<object, Live>();
  let stopped = false;
  // What the tracer, a span or a histogram threw: never let through (a channel subscriber's throw
  // is an uncaught exception), reported once for this call.
  let reported = false;
  const failure = (what: string, error: unknown): void => {
    if (reported) return;
    reported = true;
    process.emitWarning(`litepool/otel: the OpenTelemetry ${what} threw (ignored; later failures of this instrumentation are not reported): ${reasonOf(error)}`, {
      code: 'LITEPOOL_OBSERVER',
    });
  };
  const startSpan = (name: string, attributes: Attributes, ctx: object): void => {
    if (stopped) return;
    const started = performance.now();
    try {
      // Only a span that started is kept, so one whose start threw is never ended.
      live.set(ctx, { started, span: tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: { ...base, ...attributes } }, otelContext.active()) });
    } catch (error) {
      failure('tracer (startSpan)', error);
    }
  };
  const endSpan = (ctx: { error?: unknown }, extra: Attributes, metricAttributes: Attributes | undefined, waitedMs?: number): void => {
    const entry = live.get(ctx);
    if (!entry) return;
    live.delete(ctx);
    const span = entry.span;
    const failed = ctx.error !== undefined;
    // Each step on its own: a span whose attributes throw is still ended, its duration still recorded.
    try {
      if (failed) {
        span.setAttribute('error.type', errorCode(ctx.error));
        const errno = (ctx.error as { errno?: unknown } | null)?.errno;
        if (typeof errno === 'number') span.setAttribute('db.response.status_code', String(errno));
        span.setStatus({ code: SpanStatusCode.ERROR, message: reasonOf(ctx.error) });
      }
      span.setAttributes(extra);
    } catch (error) {
      failure('span (setAttribute or setStatus)', error);
    }
    try {
      span.end();
    } catch (error) {
      failure('span (end)', error);
    }
    try {
      if (waitedMs !== undefined) waitTime.record(waitedMs / 1000, { ...base, 'db.client.connection.pool.name': poolName });
    } catch (error) {
      failure('histogram (record)', error);
    }
    try {
      if (metricAttributes) {
        const seconds = (performance.now() - entry.started) / 1000;
        duration.record(seconds, failed ? { ...metricAttributes, 'error.type': errorCode(ctx.error) } : metricAttributes);
      }
    } catch (error) {
      failure('histogram (record)', error);
    }
    // Detached after this publish, not during it: a Node that splices its subscriber list in
    // place (before nodejs/node#55116) would skip the next subscriber's asyncEnd.
    if (stopped && live.size === 0) queueMicrotask(detach);
  };

  const query = {
    start(message: unknown): void {
      const ctx = message as QueryChannelContext;
      if (ctx.pool !== pool) return;
      const name = operationName(ctx.operation, ctx.sql);
      const attributes: Attributes = { 'db.operation.name': name, 'litepool.operation': ctx.operation, 'litepool.role': ctx.role };
      if (captureText) attributes['db.query.text'] = ctx.sql;
      startSpan(name, attributes, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as QueryChannelContext;
      if (!live.has(ctx)) return;
      // The pool may reroute the operation (a reader refused a write: the writer runs it), so
      // what it learned by the end replaces what the span started with.
      const extra: Attributes = { 'litepool.role': ctx.role };
      if (ctx.rows !== undefined) extra['db.response.returned_rows'] = ctx.rows;
      if (ctx.changes !== undefined) extra['litepool.changes'] = ctx.changes;
      if (ctx.queuedMs !== undefined) extra['litepool.queued_ms'] = ctx.queuedMs;
      if (ctx.execMs !== undefined) extra['litepool.exec_ms'] = ctx.execMs;
      if (ctx.connectionId !== undefined) extra['litepool.connection_id'] = ctx.connectionId;
      endSpan(ctx, extra, { ...base, 'db.operation.name': operationName(ctx.operation, ctx.sql) }, ctx.queuedMs);
    },
  };
  const transaction = {
    start(message: unknown): void {
      const ctx = message as TransactionChannelContext;
      if (ctx.pool !== pool) return;
      startSpan('TRANSACTION', { 'db.operation.name': 'TRANSACTION', 'litepool.behavior': ctx.behavior }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as TransactionChannelContext;
      if (ctx.pool !== pool) return;
      endSpan(ctx, {}, { ...base, 'db.operation.name': 'TRANSACTION' });
    },
  };
  const acquire = {
    start(message: unknown): void {
      const ctx = message as AcquireChannelContext;
      if (ctx.pool !== pool) return;
      startSpan('ACQUIRE', { 'db.operation.name': 'ACQUIRE', 'litepool.write': ctx.write }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as AcquireChannelContext;
      if (ctx.pool !== pool) return;
      endSpan(ctx, ctx.waitedMs === undefined ? {} : { 'litepool.waited_ms': ctx.waitedMs }, undefined);
    },
  };
  const checkpoint = {
    start(message: unknown): void {
      const ctx = message as CheckpointChannelContext;
      if (ctx.pool !== pool) return;
      startSpan('CHECKPOINT', { 'db.operation.name': 'CHECKPOINT', 'litepool.checkpoint.mode': ctx.mode, 'litepool.checkpoint.source': ctx.source }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as CheckpointChannelContext;
      if (ctx.pool !== pool) return;
      const result = ctx.result as { busy?: boolean; checkpointedFrames?: number } | undefined;
      const extra: Attributes = result ? { 'litepool.checkpoint.busy': result.busy === true, 'litepool.checkpoint.frames': result.checkpointedFrames ?? 0 } : {};
      endSpan(ctx, extra, { ...base, 'db.operation.name': 'CHECKPOINT' });
    },
  };
  const copy = {
    start(message: unknown): void {
      const ctx = message as BackupChannelContext;
      if (ctx.pool !== pool) return;
      const name = ctx.operation === 'backup' ? 'BACKUP' : 'VACUUM INTO';
      startSpan(name, { 'db.operation.name': name }, ctx);
    },
    asyncEnd(message: unknown): void {
      const ctx = message as BackupChannelContext;
      if (ctx.pool !== pool) return;
      const pages = (ctx.result as { pages?: number } | undefined)?.pages;
      endSpan(ctx, pages === undefined ? {} : { 'litepool.backup.pages': pages }, { ...base, 'db.operation.name': ctx.operation === 'backup' ? 'BACKUP' : 'VACUUM INTO' });
    },
  };
  // Each handler pair is subscribed event by event: stop() drops the `start` listeners at once,
  // the `asyncEnd` ones once the last span in flight ended (detach()).
  type Handlers = { start(message: unknown): void; asyncEnd(message: unknown): void };
  const subscriptions: [TracingChannel<unknown, object>, Handlers][] = [
    [queryChannel, query],
    [transactionChannel, transaction],
    [acquireChannel, acquire],
    [checkpointChannel, checkpoint],
    [backupChannel, copy],
  ];
  for (const [channel, handlers] of subscriptions) {
    channel.start.subscribe(handlers.start);
    channel.asyncEnd.subscribe(handlers.asyncEnd);
  }
  let detached = false;
  const detach = (): void => {
    if (detached) return;
    detached = true;
    for (const [channel, handlers] of subscriptions) channel.asyncEnd.unsubscribe(handlers.asyncEnd);
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    forget();
    for (const [channel, handlers] of subscriptions) channel.start.unsubscribe(handlers.start);
    connectionCount.removeCallback(countCallback);
    pending.removeCallback(pendingCallback);
    if (live.size === 0) detach();
  };
  // A pool closed without stop() stops it: its operations have all settled by then.
  let forget: () => void = () => {};
  forget = whenClosed(pool, stop);
  return stop;
}
