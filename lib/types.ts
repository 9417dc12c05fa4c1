// Owns every public type users program against (options, results, statistics, the shape of the
// handles). Imports nothing: the classes implement these types, never the other way round.

/** A value that can be bound to a statement parameter. */
export type SqlValue = null | undefined | number | bigint | string | boolean | Uint8Array;

/** What comes back from a column: NULL, INTEGER, REAL, TEXT or BLOB. */
export type SqlOutputValue = null | number | bigint | string | Buffer;

/** Statement parameters: an array for `?` / `?NNN`, an object for `:name` / `@name` / `$name`. */
export type Params = readonly SqlValue[] | { readonly [name: string]: SqlValue };

/** A row in the default `rowMode: 'object'`. */
export type Row = Record<string, SqlOutputValue>;

/** What `run()` reports. */
export interface RunResult {
  /** Rows changed by the statement (0 for statements that change nothing). */
  changes: number;
  /** Rowid of the most recent successful INSERT on the writer connection. A bigint with
   * `safeIntegers`, or when it does not fit a JS number exactly. */
  lastInsertRowid: number | bigint;
}

/** Options every operation accepts. */
export interface OperationOptions {
  /** Cancels the operation: removed if still queued, interrupted if running. */
  signal?: AbortSignal;
  /** Milliseconds before the operation is cancelled with an OperationTimeoutError. */
  timeout?: number;
}

/** Options of operations that return rows. */
export interface QueryOptions extends OperationOptions {
  /** `'object'` (default): rows are objects keyed by column name; `'array'`: arrays of values. */
  rowMode?: 'object' | 'array';
}

export type ArrayQueryOptions = QueryOptions & { rowMode: 'array' };

/** Options of `iterate()`. */
export interface IterateOptions extends QueryOptions {
  /**
   * Rows per round trip, for every chunk (1 to 1,000,000). Without it the chunks grow: 256 rows,
   * 512, then 1,024. A chunk also ends at 1 MiB of row data. See docs/leases.md.
   */
  chunkSize?: number;
}

/** One statement of `db.batch()`. */
export interface BatchStatement {
  sql: string;
  params?: Params;
}

/** How BEGIN takes locks. */
export type TransactionBehavior = 'deferred' | 'immediate' | 'exclusive';

/** Options of `transaction()`. */
export interface TransactionOptions {
  /** How BEGIN takes locks (default 'immediate': the write lock up front, no upgrade deadlock). */
  behavior?: TransactionBehavior;
  /** Milliseconds before the transaction is rolled back with TransactionTimeoutError (default 30 000). */
  timeout?: number;
  /** Aborting rolls the transaction back and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** A lease on the writer (default false: a reader of your own). */
  write?: boolean;
  /** Milliseconds to wait for the connection (default: the pool's acquireTimeout). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Options of `read()`. */
export interface ReadOptions {
  /** Milliseconds to wait for a reader (default: the pool's acquireTimeout). */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * The operations of a handle bound to one connection: a Transaction, a Lease (also what `read()`
 * hands its callback) and a ConnectionHandle have them. Once the handle has ended, every call
 * rejects with ScopeEndedError.
 */
export interface ScopeOperations {
  /** True once the handle ended. */
  readonly ended: boolean;
  /** The first row of the result, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T | undefined>;
  get(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[] | undefined>;
  /** Every row of the result. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T[]>;
  all(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[][]>;
  /** Streams the rows of one read statement in chunks (256, 512, then 1,024 rows, or `chunkSize`). */
  iterate<T = Row>(sql: string, params?: Params, options?: IterateOptions & { rowMode?: 'object' }): AsyncGenerator<T, void, undefined>;
  iterate(sql: string, params: Params | undefined, options: IterateOptions & { rowMode: 'array' }): AsyncGenerator<SqlOutputValue[], void, undefined>;
  /** Runs one statement; reports the changes and the last inserted rowid. */
  run(sql: string, params?: Params, options?: OperationOptions): Promise<RunResult>;
  /** Runs one or more statements without parameters. */
  exec(sql: string, options?: OperationOptions): Promise<void>;
  /** Runs several statements atomically (a SAVEPOINT inside a transaction). */
  batch(statements: readonly BatchStatement[], options?: OperationOptions): Promise<RunResult[]>;
}

/** What `onConnection` receives (a ConnectionHandle): the new connection, for its setup statements. */
export interface NewConnection extends ScopeOperations {
  /** Which connection this is. */
  readonly role: 'reader' | 'writer';
}

/** A snapshot of the pool's activity (see `Pool.stats()`). */
export interface PoolStats {
  /** Reader threads: how many, how many running a request, idle, and pinned to leases. */
  readers: { size: number; busy: number; idle: number; pinned: number };
  /** The writer thread: running a request, requests queued for it (JS side and native ring;
   * also writes waiting for their plan lookup, and those lookups, when an observer asks for
   * plans), and whether a transaction or write lease holds it. */
  writer: { busy: boolean; queued: number; held: boolean };
  /** Leases, transactions and snapshots waiting for a connection. */
  leasesWaiting: number;
  /**
   * Group commit: groups in which two or more writes committed together, and the writes they
   * committed. A member that failed (rolled back to its savepoint) or was cancelled is not
   * counted, nor a group in which fewer than two committed, nor one whose BEGIN IMMEDIATE or
   * COMMIT failed or that a failure rolled back.
   */
  groupCommit: { groups: number; writes: number };
  /**
   * Times a native worker ran a whole `timeslice` without pausing and offered its CPU core to
   * other threads. Growing fast: the workers want more cores than the machine has free.
   */
  yields: number;
  /** Connections replaced (idle too long, or broken), and replacements that failed (retried). */
  connections: { replaced: number; failures: number };
  /** Requests waiting on the JS side for a free native slot. */
  queued: number;
  /** Requests handed to the native threads and not yet completed. */
  inFlight: number;
  /** Depth of each native ring right now. */
  rings: { readers: number; writer: number; completions: number };
  operations: { started: number; completed: number; failed: number; cancelled: number };
  /** The -wal file's size, its frames, checkpoints this pool ran and when the last ended (docs/operations.md). */
  wal: { bytes: number; frames: number; checkpoints: number; lastCheckpointAt: number | null };
}

// ---- Observers (docs/observability.md) ----
/** A query-level operation. */
export type Operation = 'get' | 'all' | 'run' | 'exec' | 'iterate' | 'batch';
/** Which connection ran (or was to run) an operation. */
export type Role = 'reader' | 'writer';
/** What `beforeQuery` sees: enough to decide whether the operation may run. */
export interface BeforeQueryEvent {
  readonly operation: Operation; readonly sql: string; readonly role: Role;
  /** True when SQLite reported that the statement writes (a read the pool sends to the writer). */
  readonly writes?: boolean;
  /** `EXPLAIN QUERY PLAN` details, only when an attached observer sets `wantsQueryPlan`. */
  readonly plan?: readonly string[];
}
/** SQLite's per-statement counters (`sqlite3_stmt_status`): FULLSCAN_STEP, SORT, AUTOINDEX, VM_STEP. */
export interface StatementCounters { fullScanSteps: number; sorts: number; autoIndexes: number; vmSteps: number }

/** One settled query-level operation; `queuedMs` and `execMs` are clocked natively. */
export interface QueryEvent {
  operation: Operation; sql: string; role: Role;
  /** The reader's index (0, 1, ...), or -1 for the writer (also when it never reached a connection). */
  connectionId: number;
  /** Milliseconds: from the call until a connection started it, running on it, from the call to the result. */
  queuedMs: number; execMs: number; totalMs: number;
  /** Rows returned, rows changed. */
  rows: number; changes: number;
  /** It ran inside a transaction, snapshot or lease. */
  inTransaction: boolean;
  /**
   * Writes committed together by group commit, this one included (absent unless it committed in
   * a group with another write: when it ran alone, failed or was cancelled).
   */
  groupSize?: number;
  /** When it failed: its stable code (e.g. `SQLITE_CONSTRAINT_UNIQUE`, `ABORT_ERR`). */
  error?: { code: string; message: string };
  /** The parameter values; only for observers that set `wantsParams`. */
  params?: readonly unknown[];
  /** Only for observers that set `wantsStatementCounters`. */
  counters?: StatementCounters;
}
/** `durationMs`: since the transaction asked for the writer. */
export interface TransactionEvent { phase: 'begin' | 'commit' | 'rollback'; durationMs: number; error?: unknown }
export interface AcquireEvent { write: boolean; waitedMs: number }
export interface ConnectionEvent { event: 'open' | 'close' | 'replace'; role: Role; id: number; reason?: string }
/** How a checkpoint treats readers and writers (see SQLite's sqlite3_wal_checkpoint_v2). */
export type CheckpointMode = 'passive' | 'full' | 'restart' | 'truncate';
/** What a checkpoint reports (`db.checkpoint()`, onCheckpoint). */
export interface CheckpointResult {
  /** A FULL, RESTART or TRUNCATE checkpoint could not finish: a reader or writer kept it busy. */
  busy: boolean;
  /** Frames in the WAL when the checkpoint ended (0 after a complete RESTART or TRUNCATE). */
  walFrames: number;
  /** Frames of the WAL copied into the database (all of them when it completed). */
  checkpointedFrames: number;
}
/** What ran a checkpoint: `db.checkpoint()`, the WAL monitor, the end of `vacuum()`, or `close()` (checkpointOnClose). */
export type CheckpointSource = 'manual' | 'monitor' | 'vacuum' | 'close';
/**
 * A checkpoint the pool ran. `durationMs`: from the request until its result (the wait for the
 * writer included); for `source: 'close'`, the checkpoint alone, clocked natively.
 */
export type CheckpointEvent = CheckpointResult & { mode: CheckpointMode; durationMs: number; source: CheckpointSource };
/**
 * The WAL monitor: the -wal file passed `warnBytes` ('warn'), or checkpoints cannot progress
 * ('pinned'). `heldBy`, `heldMs`: what of this pool holds the oldest snapshot, and for how long.
 */
export interface WalEvent { kind: 'warn' | 'pinned'; walBytes: number; heldBy?: string; heldMs?: number }
export interface QueueEvent { kind: 'full' | 'dropped' | 'timeout'; depth: number }
export interface MigrationEvent { phase: 'start' | 'applied' | 'failed'; version: string; name: string; durationMs?: number }
/** What an observer learns about the pool it is attached to. */
export interface ObservedPool {
  /** `closed`: true once the pool is closing or closed. */
  readonly path: string; readonly closed: boolean; stats(): PoolStats;
  /** A read on a reader that no observer sees (plan lookups). */
  all(sql: string): Promise<Record<string, unknown>[]>;
}

/**
 * Hooks the pool calls on the JS thread after the fact; every one optional. A throwing observer
 * (or an async hook whose promise rejects) never changes an outcome (the first throw is warned
 * once, code LITEPOOL_OBSERVER), except `beforeQuery`, which throws to veto: the operation
 * rejects with PolicyError. `beforeQuery` decides synchronously: an async one is refused when
 * attached, and one that returns a promise vetoes.
 *
 * @example
 * const db = await open('app.db', { observers: [{ onQuery: (e) => e.execMs > 50 && console.warn(e.sql) }] });
 */
export interface Observer {
  beforeQuery?(q: BeforeQueryEvent): void;
  onQuery?(e: QueryEvent): void;
  onTransaction?(e: TransactionEvent): void;
  onAcquire?(e: AcquireEvent): void;
  onConnection?(e: ConnectionEvent): void;
  onCheckpoint?(e: CheckpointEvent): void;
  onWal?(e: WalEvent): void;
  onQueue?(e: QueueEvent): void;
  onMigration?(e: MigrationEvent): void;
  /** Called once per pool the observer is attached to. */
  onAttach?(pool: ObservedPool): void;
  /** Ask for `QueryEvent.params` (parameter values may be secrets). */
  readonly wantsParams?: boolean;
  /** Ask for `QueryEvent.counters` (a few native calls per statement). */
  readonly wantsStatementCounters?: boolean;
  /** Ask for `BeforeQueryEvent.plan` (looked up once per SQL text). */
  readonly wantsQueryPlan?: boolean;
}

// ---- Migrations (the types open() takes; reports and status live in migrations/types.ts) ----

/**
 * What a JS migration's `up(tx)` / `down(tx)` receives: the writer, inside the migration's
 * transaction (BEGIN IMMEDIATE ... COMMIT, with its ledger row). Do not issue BEGIN, COMMIT or
 * ROLLBACK through it: the runner owns the transaction.
 */
export type MigrationTransaction = Pick<ScopeOperations, 'get' | 'all' | 'run' | 'exec' | 'iterate' | 'batch'>;

/** A JS migration step. */
export type MigrationFunction = (tx: MigrationTransaction) => unknown;

/**
 * One entry of a programmatic migration list (for bundlers, where a directory does not exist at
 * run time). `up` and `down` are SQL text or functions.
 *
 * @example
 * await db.migrate({ migrations: [
 *   { version: '1.0.0', name: 'users', up: 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)' },
 *   { version: '1.1.0', name: 'seed', up: async (tx) => { await tx.run('INSERT INTO users (name) VALUES (?)', ['Ada']) } },
 * ] });
 */
export interface MigrationDefinition {
  /** `MAJOR.MINOR.PATCH[-prerelease]`; unique in the list. */
  version: string;
  /** A short name (letters, digits, `_`, `-`, `.`). */
  name: string;
  up: string | MigrationFunction;
  down?: string | MigrationFunction;
}

/** Where the migrations come from: a directory, or a list (exactly one of the two). */
export type MigrationSource =
  | {
      /** Directory of `<semver>__<name>.sql|.js|.mjs|.ts` files and an optional `baseline__<semver>.sql`. */
      dir: string;
      migrations?: never;
    }
  | {
      /** The migrations themselves, instead of a directory. */
      migrations: readonly MigrationDefinition[];
      dir?: never;
    };

/** The options of a migrate run shared by `db.migrate()` and `open()`'s `migrations` option. */
export interface MigrateRunOptions {
  /** Apply pending migrations up to and including this version (default: all). */
  to?: string;
  /** Apply a pending migration older than the newest applied one instead of refusing (default false). */
  allowOutOfOrder?: boolean;
  /**
   * Milliseconds to wait for the lock each time it is needed (default 300 000): for the first,
   * this pool's writer and SQLite's write lock together; for each later migration of the run,
   * SQLite's write lock (or a migration another process records as running).
   */
  lockTimeout?: number;
  signal?: AbortSignal;
}

/** The `migrations` option of `open()`: applied before open() resolves. */
export type OpenMigrationOptions = MigrationSource & MigrateRunOptions;
