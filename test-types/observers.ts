// Owns the type tests of the observer API: open({ observers }), db.observe() and its disposer,
// the events each hook receives, the built-ins of litepool/observers, the channel contexts and
// litepool/otel. Compiled only, never run.

import { tracingChannel } from 'node:diagnostics_channel';
import {
  open,
  PolicyError,
  type BeforeQueryEvent,
  type CheckpointEvent,
  type CheckpointSource,
  type Observer,
  type Pool,
  type QueryEvent,
  type TransactionEvent,
  type WalEvent,
} from '../lib/index.ts';
import type { BackupChannelContext, CheckpointChannelContext, QueryChannelContext } from '../lib/observers/channels.ts';
import { MetricsCollector, QueryLogger, QueryProfiler, policies, type MetricsSnapshot, type StatementProfile } from '../lib/observers/index.ts';
import { instrument } from '../lib/otel/index.ts';

declare const db: Pool;

export async function observers(): Promise<void> {
  const metrics = new MetricsCollector({ labels: { database: 'main' } });
  const pool = await open('app.db', {
    observers: [metrics, new QueryLogger({ logger: console, slowMs: 50 }), policies.denyDdl(), { onQuery: (e) => void e.execMs }],
  });
  const stop: () => void = pool.observe({
    beforeQuery(q: BeforeQueryEvent) {
      const role: 'reader' | 'writer' = q.role;
      const plan: readonly string[] | undefined = q.plan;
      if (q.writes === true && q.operation === 'get') throw new Error(`${role} ${plan?.length}`);
    },
    onQuery(e: QueryEvent) {
      const split: number = e.queuedMs + e.execMs + e.totalMs + e.rows + e.changes + e.connectionId;
      const code: string | undefined = e.error?.code;
      const group: number | undefined = e.groupSize;
      const scans: number | undefined = e.counters?.fullScanSteps;
      void [split, code, group, scans, e.inTransaction];
    },
    onTransaction: (e: TransactionEvent) => void (e.phase === 'rollback' && e.error),
    onAcquire: (e) => void (e.write && e.waitedMs),
    onConnection: (e) => void (e.event === 'replace' && e.reason),
    onQueue: (e) => void (e.kind === 'dropped' && e.depth),
    onMigration: (e) => void (e.phase === 'applied' && e.durationMs),
    onCheckpoint(e: CheckpointEvent) {
      const source: CheckpointSource = e.source;
      const figures: number = e.walFrames + e.checkpointedFrames + e.durationMs;
      void [source, figures, e.busy, e.mode === 'truncate'];
    },
    onWal(e: WalEvent) {
      const held: string | undefined = e.heldBy;
      void [held, e.heldMs, e.walBytes, e.kind === 'pinned'];
    },
    onAttach: (p) => void p.stats().readers.busy,
    wantsParams: true,
    wantsStatementCounters: true,
    wantsQueryPlan: true,
  });
  stop();
  const snapshot: MetricsSnapshot = metrics.snapshot();
  const text: string = metrics.toPrometheus();
  void [snapshot, text];
  const profiler = new QueryProfiler({ explainOverMs: 20 });
  db.observe(profiler);
  const top: StatementProfile[] = profiler.top(5);
  void top;
  const refused = await db.run('DROP TABLE t').catch((e: unknown) => e);
  if (refused instanceof PolicyError) {
    const code: string = refused.code;
    const sql: string = refused.sql;
    void [code, sql];
  }

  // @ts-expect-error observers is an array of observers
  await open('app.db', { observers: metrics });
  // @ts-expect-error onQuery takes a QueryEvent, not a string
  db.observe({ onQuery: (e: string) => void e });
  // @ts-expect-error wantsParams is a boolean
  db.observe({ wantsParams: 'yes' });
  // @ts-expect-error a QueryEvent has no 'duration' (it has queuedMs, execMs, totalMs)
  db.observe({ onQuery: (e) => void e.duration });
  // @ts-expect-error TransactionEvent.phase is 'begin' | 'commit' | 'rollback'
  db.observe({ onTransaction: (e) => void (e.phase === 'started') });
  // @ts-expect-error a checkpoint's source is 'manual' | 'monitor' | 'vacuum' | 'close'
  db.observe({ onCheckpoint: (e) => void (e.source === 'timer') });
  // @ts-expect-error WalEvent.kind is 'warn' | 'pinned'
  db.observe({ onWal: (e) => void (e.kind === 'checkpoint') });
  const bySource: Record<CheckpointSource, number> = metrics.snapshot().checkpoints.bySource;
  void bySource;
  // @ts-expect-error observe() returns the disposer, not a promise
  await db.observe({}).then(() => undefined);
}

export function channels(): void {
  tracingChannel<unknown, QueryChannelContext>('litepool:query').subscribe({
    start() {},
    end() {},
    asyncStart() {},
    error() {},
    asyncEnd(ctx) {
      const queued: number | undefined = ctx.queuedMs;
      const database: string = ctx.database;
      void [queued, database, ctx.rows, ctx.connectionId];
    },
  });
  tracingChannel<unknown, CheckpointChannelContext>('litepool:checkpoint').subscribe({
    start(ctx) {
      const source: CheckpointSource = ctx.source;
      void [source, ctx.mode, ctx.pool];
    },
    end() {},
    asyncStart() {},
    error(ctx) {
      void ctx.error;
    },
    asyncEnd(ctx) {
      const duration: number | undefined = ctx.durationMs;
      void [duration, ctx.result];
    },
  });
  tracingChannel<unknown, BackupChannelContext>('litepool:backup').subscribe({
    start(ctx) {
      const operation: 'backup' | 'vacuumInto' = ctx.operation;
      const destination: string = ctx.destination;
      void [operation, destination];
    },
    end() {},
    asyncStart() {},
    error() {},
    asyncEnd: (ctx) => void ctx.durationMs,
  });
}

export function otel(): void {
  const stop: () => void = instrument(db, { captureQueryText: true, poolName: 'main' });
  stop();
  // @ts-expect-error instrument() takes a pool
  instrument({});
}
