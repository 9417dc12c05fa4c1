// Owns MetricsCollector: an observer that counts operations and errors, keeps queue-wait and
// execution latency histograms per operation and per statement, follows transactions, leases,
// connections, checkpoints, the WAL, write queues and migrations, and reads the pool's gauges.
// `snapshot()` returns plain data; `toPrometheus()` the Prometheus text format.
// Runs on the JS thread (the pool calls its hooks there).

import { checkAtLeast, checkKeys } from '../input/validate.ts';
import type { PoolStats } from '../types.ts';
import { BucketHistogram, DEFAULT_BUCKETS_SECONDS, bucketOf, checkBuckets } from './histogram.ts';
import { followAttachments } from './hub.ts';
import { PrometheusWriter, checkLabels, checkPrefix, type Labels } from './prometheus.ts';
import { Series, summary, type LatencySummary, type SeriesSnapshot } from './series.ts';
import type {
  AcquireEvent,
  CheckpointEvent,
  CheckpointSource,
  ConnectionEvent,
  MigrationEvent,
  ObservedPool,
  Observer,
  Operation,
  QueryEvent,
  QueueEvent,
  TransactionEvent,
  WalEvent,
} from './types.ts';

export type { LatencySummary, SeriesSnapshot } from './series.ts';

export interface MetricsCollectorOptions {
  /** Statements given their own series (default 200); the rest are counted under `other`. */
  maxStatements?: number;
  /** Statement texts longer than this are cut in labels and snapshots (default 200 characters). */
  maxSqlLength?: number;
  /** Histogram bucket bounds in seconds (default 50 µs to 10 s). */
  buckets?: readonly number[];
  /** Prefix of every metric name (default `litepool`). */
  prefix?: string;
  /** Labels added to every series, e.g. `{ database: 'main' }` (winning over a series' own label of that name). */
  labels?: Labels;
}

export interface MetricsSnapshot {
  operations: Partial<Record<Operation, SeriesSnapshot>>;
  /** Failures by error code. */
  errors: Record<string, number>;
  /** Per statement, most executed first. */
  statements: (SeriesSnapshot & { sql: string })[];
  transactions: { begun: number; committed: number; rolledBack: number; duration: LatencySummary };
  acquires: { read: LatencySummary; write: LatencySummary };
  connections: { opened: number; closed: number; replaced: number };
  /** `bySource`: db.checkpoint() ('manual'), the WAL monitor, vacuum(), close(). */
  checkpoints: { count: number; busy: number; checkpointedFrames: number; bySource: Record<CheckpointSource, number>; duration: LatencySummary };
  wal: { warnings: number; pinned: number; lastBytes: number };
  queue: { full: number; dropped: number; timeout: number };
  migrations: { started: number; applied: number; failed: number };
  /** The attached pools' own statistics at the time of the snapshot (not those closed or detached since). */
  pools: { path: string; stats: PoolStats }[];
}

/** The label of statements beyond `maxStatements`. */
const OTHER = 'other';

const METRICS_COLLECTOR_OPTIONS = ['maxStatements', 'maxSqlLength', 'buckets', 'prefix', 'labels'] as const;

/**
 * Collects metrics from every pool it observes.
 *
 * @example
 * const metrics = new MetricsCollector();
 * const db = await open('app.db', { observers: [metrics] });
 * http.createServer((req, res) => res.end(metrics.toPrometheus())).listen(9464);
 */
export class MetricsCollector implements Observer {
  readonly #buckets: readonly number[];
  /** The same bounds unboxed, for finding a value's bucket. */
  readonly #bounds: Float64Array;
  readonly #maxStatements: number;
  readonly #maxSqlLength: number;
  readonly #prefix: string;
  readonly #labels: Labels;
  readonly #operations = new Map<Operation, Series>();
  /** Finished operations by operation, then by role and outcome: [reader ok, reader error, writer ok, writer error]. */
  readonly #roles = new Map<Operation, Float64Array>();
  readonly #statements = new Map<string, Series>();
  /** The series of the last operation and SQL text seen (consecutive events mostly repeat them). */
  #lastOperation: Operation | undefined = undefined;
  #lastOperationSeries: Series | undefined = undefined;
  #lastRoles: Float64Array | undefined = undefined;
  #lastSql: string | undefined = undefined;
  #lastStatementSeries: Series | undefined = undefined;
  readonly #errors = new Map<string, number>();
  /** The pools it is attached to, until detached or closed (a closing one is left out of the gauges). */
  readonly #pools = new Set<ObservedPool>();
  #transactions = { begun: 0, committed: 0, rolledBack: 0 };
  readonly #transactionDuration: BucketHistogram;
  readonly #acquireRead: BucketHistogram;
  readonly #acquireWrite: BucketHistogram;
  #connections = { opened: 0, closed: 0, replaced: 0 };
  #checkpoints = { count: 0, busy: 0, checkpointedFrames: 0 };
  #checkpointSources: Record<CheckpointSource, number> = { manual: 0, monitor: 0, vacuum: 0, close: 0 };
  readonly #checkpointDuration: BucketHistogram;
  #wal = { warnings: 0, pinned: 0, lastBytes: 0 };
  #queue = { full: 0, dropped: 0, timeout: 0 };
  #migrations = { started: 0, applied: 0, failed: 0 };

  constructor(options: MetricsCollectorOptions = {}) {
    // Each option read once; a wrong type is a TypeError, an out-of-range value a RangeError.
    const given = checkKeys('options', options, METRICS_COLLECTOR_OPTIONS) as MetricsCollectorOptions;
    const buckets = checkBuckets(given.buckets ?? DEFAULT_BUCKETS_SECONDS);
    this.#buckets = Object.freeze([...buckets]);
    this.#bounds = Float64Array.from(buckets);
    this.#maxStatements = given.maxStatements === undefined ? 200 : checkAtLeast('maxStatements', given.maxStatements, 0, true);
    this.#maxSqlLength = given.maxSqlLength === undefined ? 200 : checkAtLeast('maxSqlLength', given.maxSqlLength, 1, true);
    this.#prefix = given.prefix === undefined ? 'litepool' : checkPrefix(given.prefix);
    this.#labels = checkLabels(given.labels);
    this.#transactionDuration = new BucketHistogram(this.#buckets);
    this.#acquireRead = new BucketHistogram(this.#buckets);
    this.#acquireWrite = new BucketHistogram(this.#buckets);
    this.#checkpointDuration = new BucketHistogram(this.#buckets);
    // Removed from a pool: it is no longer reported nor kept; attached again, it is again.
    followAttachments(this, {
      attached: (pool) => void this.#pools.add(pool),
      detached: (pool) => void this.#pools.delete(pool),
    });
  }

  /** @internal How many pools it holds (tests). */
  get trackedPools(): number {
    return this.#pools.size;
  }

  onAttach(pool: ObservedPool): void {
    // A pool closing or closed has no gauges to report (and would not be let go again).
    if (!pool.closed) this.#pools.add(pool);
  }

  onQuery(e: QueryEvent): void {
    const operation = e.operation;
    let series = this.#lastOperationSeries;
    let roles = this.#lastRoles;
    if (operation !== this.#lastOperation || series === undefined || roles === undefined) {
      series = this.#operations.get(operation);
      if (!series) this.#operations.set(operation, (series = new Series(this.#buckets)));
      roles = this.#roles.get(operation);
      if (!roles) this.#roles.set(operation, (roles = new Float64Array(4)));
      this.#lastOperation = operation;
      this.#lastOperationSeries = series;
      this.#lastRoles = roles;
    }
    // Every series shares the collector's bounds: each value's bucket is found once.
    const queuedBucket = bucketOf(this.#bounds, e.queuedMs);
    const execBucket = bucketOf(this.#bounds, e.execMs);
    series.record(e, queuedBucket, execBucket);
    const error = e.error;
    roles[(e.role === 'writer' ? 2 : 0) + (error ? 1 : 0)]!++;
    if (error) this.#errors.set(error.code, (this.#errors.get(error.code) ?? 0) + 1);
    const sql = e.sql;
    let statement = this.#lastStatementSeries;
    if (sql !== this.#lastSql || statement === undefined) {
      statement = this.#statementSeries(sql);
      this.#lastSql = sql;
      this.#lastStatementSeries = statement;
    }
    statement.record(e, queuedBucket, execBucket);
  }

  onTransaction(e: TransactionEvent): void {
    if (e.phase === 'begin') this.#transactions.begun++;
    else {
      if (e.phase === 'commit') this.#transactions.committed++;
      else this.#transactions.rolledBack++;
      this.#transactionDuration.record(e.durationMs);
    }
  }

  onAcquire(e: AcquireEvent): void {
    (e.write ? this.#acquireWrite : this.#acquireRead).record(e.waitedMs);
  }

  onConnection(e: ConnectionEvent): void {
    if (e.event === 'open') this.#connections.opened++;
    else if (e.event === 'close') this.#connections.closed++;
    else this.#connections.replaced++;
  }

  onCheckpoint(e: CheckpointEvent): void {
    this.#checkpoints.count++;
    if (e.busy) this.#checkpoints.busy++;
    this.#checkpoints.checkpointedFrames += e.checkpointedFrames;
    if (e.source in this.#checkpointSources) this.#checkpointSources[e.source]++;
    this.#checkpointDuration.record(e.durationMs);
  }

  onWal(e: WalEvent): void {
    if (e.kind === 'warn') this.#wal.warnings++;
    else this.#wal.pinned++;
    this.#wal.lastBytes = e.walBytes;
  }

  onQueue(e: QueueEvent): void {
    this.#queue[e.kind]++;
  }

  onMigration(e: MigrationEvent): void {
    if (e.phase === 'start') this.#migrations.started++;
    else if (e.phase === 'applied') this.#migrations.applied++;
    else this.#migrations.failed++;
  }

  /** Forgets everything counted so far (attached pools stay attached). */
  reset(): void {
    this.#operations.clear();
    this.#roles.clear();
    this.#statements.clear();
    this.#lastOperation = this.#lastOperationSeries = this.#lastRoles = undefined;
    this.#lastSql = this.#lastStatementSeries = undefined;
    this.#errors.clear();
    this.#transactions = { begun: 0, committed: 0, rolledBack: 0 };
    for (const h of [this.#transactionDuration, this.#acquireRead, this.#acquireWrite, this.#checkpointDuration]) {
      h.counts.fill(0);
      h.count = 0;
      h.sumMs = 0;
    }
    this.#connections = { opened: 0, closed: 0, replaced: 0 };
    this.#checkpoints = { count: 0, busy: 0, checkpointedFrames: 0 };
    this.#checkpointSources = { manual: 0, monitor: 0, vacuum: 0, close: 0 };
    this.#wal = { warnings: 0, pinned: 0, lastBytes: 0 };
    this.#queue = { full: 0, dropped: 0, timeout: 0 };
    this.#migrations = { started: 0, applied: 0, failed: 0 };
  }

  /** Everything collected so far, as plain data. */
  snapshot(): MetricsSnapshot {
    const operations: Partial<Record<Operation, SeriesSnapshot>> = {};
    for (const [operation, series] of this.#operations) operations[operation] = series.snapshot();
    const statements = [...this.#statements].map(([sql, series]) => ({ sql, ...series.snapshot() }));
    statements.sort((a, b) => b.count - a.count);
    return {
      operations,
      errors: Object.fromEntries(this.#errors),
      statements,
      transactions: { ...this.#transactions, duration: summary(this.#transactionDuration) },
      acquires: { read: summary(this.#acquireRead), write: summary(this.#acquireWrite) },
      connections: { ...this.#connections },
      checkpoints: { ...this.#checkpoints, bySource: { ...this.#checkpointSources }, duration: summary(this.#checkpointDuration) },
      wal: { ...this.#wal },
      queue: { ...this.#queue },
      migrations: { ...this.#migrations },
      pools: this.#poolStats(),
    };
  }

  /** Everything collected so far in the Prometheus text exposition format (0.0.4). */
  toPrometheus(): string {
    const out = new PrometheusWriter(this.#labels);
    const p = this.#prefix;
    for (const [operation, counts] of this.#roles) {
      counts.forEach((count, i) => {
        if (count === 0) return;
        const labels = { operation, role: i < 2 ? 'reader' : 'writer', outcome: i % 2 === 0 ? 'ok' : 'error' };
        out.counter(`${p}_queries_total`, 'Query-level operations finished, by operation, role and outcome.', labels, count);
      });
    }
    for (const [code, count] of this.#errors) out.counter(`${p}_query_errors_total`, 'Failed operations by error code.', { code }, count);
    for (const [operation, series] of this.#operations) {
      out.histogram(`${p}_query_queued_seconds`, 'Time between submission and the start of execution on a connection.', { operation }, series.queued);
      out.histogram(`${p}_query_exec_seconds`, 'Time a connection spent executing the operation.', { operation }, series.exec);
      out.counter(`${p}_query_rows_total`, 'Rows returned.', { operation }, series.rows);
      out.counter(`${p}_query_changes_total`, 'Rows changed.', { operation }, series.changes);
    }
    for (const [sql, series] of this.#statements) {
      out.histogram(`${p}_statement_exec_seconds`, 'Execution time per statement text.', { statement: sql }, series.exec);
      out.histogram(`${p}_statement_queued_seconds`, 'Queue wait per statement text.', { statement: sql }, series.queued);
    }
    out.counter(`${p}_transactions_total`, 'Transactions by how they ended.', { outcome: 'commit' }, this.#transactions.committed);
    out.counter(`${p}_transactions_total`, 'Transactions by how they ended.', { outcome: 'rollback' }, this.#transactions.rolledBack);
    out.histogram(`${p}_transaction_seconds`, 'Transaction duration from asking for the writer to commit or rollback.', {}, this.#transactionDuration);
    out.histogram(`${p}_acquire_wait_seconds`, 'Time waited for a lease, snapshot or transaction connection.', { write: 'false' }, this.#acquireRead);
    out.histogram(`${p}_acquire_wait_seconds`, 'Time waited for a lease, snapshot or transaction connection.', { write: 'true' }, this.#acquireWrite);
    for (const event of ['opened', 'closed', 'replaced'] as const) {
      out.counter(`${p}_connection_events_total`, 'Connections opened, closed and replaced.', { event }, this.#connections[event]);
    }
    for (const [source, count] of Object.entries(this.#checkpointSources)) {
      out.counter(`${p}_checkpoints_total`, 'WAL checkpoints run, by what ran them.', { source }, count);
    }
    out.histogram(`${p}_checkpoint_seconds`, 'Checkpoint duration, the wait for the writer included.', {}, this.#checkpointDuration);
    out.counter(`${p}_checkpoints_busy_total`, 'Checkpoints that could not finish.', {}, this.#checkpoints.busy);
    out.counter(`${p}_wal_events_total`, 'WAL monitor events.', { kind: 'warn' }, this.#wal.warnings);
    out.counter(`${p}_wal_events_total`, 'WAL monitor events.', { kind: 'pinned' }, this.#wal.pinned);
    for (const kind of ['full', 'dropped', 'timeout'] as const) {
      out.counter(`${p}_write_queue_events_total`, 'Write queue overflow events.', { kind }, this.#queue[kind]);
    }
    out.counter(`${p}_migrations_total`, 'Migrations by outcome.', { outcome: 'applied' }, this.#migrations.applied);
    out.counter(`${p}_migrations_total`, 'Migrations by outcome.', { outcome: 'failed' }, this.#migrations.failed);
    for (const { path, stats } of this.#poolStats()) {
      const db = { database: path };
      out.gauge(`${p}_readers`, 'Reader connections by state.', { ...db, state: 'busy' }, stats.readers.busy);
      out.gauge(`${p}_readers`, 'Reader connections by state.', { ...db, state: 'idle' }, stats.readers.idle);
      out.gauge(`${p}_readers`, 'Reader connections by state.', { ...db, state: 'pinned' }, stats.readers.pinned);
      out.gauge(`${p}_writer_busy`, '1 while the writer runs a request.', db, stats.writer.busy ? 1 : 0);
      out.gauge(`${p}_writer_held`, '1 while a transaction or write lease holds the writer.', db, stats.writer.held ? 1 : 0);
      out.gauge(`${p}_writer_queued`, 'Requests waiting for the writer.', db, stats.writer.queued);
      out.gauge(`${p}_leases_waiting`, 'Leases, transactions and snapshots waiting for a connection.', db, stats.leasesWaiting);
      out.gauge(`${p}_requests_queued`, 'Requests waiting on the JS side for a native slot.', db, stats.queued);
      out.gauge(`${p}_requests_in_flight`, 'Requests in native hands.', db, stats.inFlight);
      const wal = (stats as { wal?: { bytes?: number } }).wal;
      if (wal && typeof wal.bytes === 'number') out.gauge(`${p}_wal_bytes`, 'Size of the WAL file.', db, wal.bytes);
    }
    return out.toString();
  }

  #statementSeries(sql: string): Series {
    const key = sql.length > this.#maxSqlLength ? `${sql.slice(0, this.#maxSqlLength)}…` : sql;
    let series = this.#statements.get(key);
    if (series) return series;
    if (this.#statements.size >= this.#maxStatements) {
      series = this.#statements.get(OTHER);
      if (series) return series;
    }
    series = new Series(this.#buckets);
    this.#statements.set(this.#statements.size >= this.#maxStatements ? OTHER : key, series);
    return series;
  }

  #poolStats(): { path: string; stats: PoolStats }[] {
    const out: { path: string; stats: PoolStats }[] = [];
    for (const pool of this.#pools) {
      if (pool.closed) {
        this.#pools.delete(pool);
        continue;
      }
      out.push({ path: pool.path, stats: pool.stats() });
    }
    return out;
  }
}
