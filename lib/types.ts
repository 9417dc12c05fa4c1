// Owns the public types users program against.

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

/** Synchronous mode of every connection (PRAGMA synchronous). */
export type SynchronousMode = 'off' | 'normal' | 'full' | 'extra';

/** A PRAGMA value set on every connection. */
export type PragmaValue = boolean | number | string;

/** Named sets of option values (see the tuning guide); explicit options override them. */
export type Preset = 'default' | 'production' | 'minimal';

/**
 * The writer's checkpoint when the pool closes: 'truncate' (checkpoint everything and empty the
 * WAL file), 'passive' (copy what can be copied without waiting; the WAL file stays), or false
 * (none).
 */
export type CheckpointOnClose = 'truncate' | 'passive' | false;

/**
 * The WAL replication tool the database lives under (see docs/scale-out.md): 'none',
 * 'litestream' (continuous backup: litepool leaves WAL restarts to Litestream) or 'litefs'
 * (read replicas: writes on a replica node are refused with ReadOnlyReplicaError).
 */
export type Replication = 'none' | 'litestream' | 'litefs';

/** Opt-in retries of transient SQLite errors (BUSY, LOCKED; BUSY_SNAPSHOT for transactions). */
export interface RetryOptions {
  /** Total attempts including the first (default 3). */
  attempts?: number;
  /** Ceiling of the first backoff in ms, doubled per retry, with full jitter (default 10). */
  baseDelay?: number;
  /** Largest backoff in ms (default 1000). */
  maxDelay?: number;
}

/** Options of `open()`. */
export interface PoolOptions {
  /** Starting values for the options below (default 'default'). */
  preset?: Preset;
  /** Milliseconds to wait for a lease, a transaction's writer or a read snapshot (default 30 000). */
  acquireTimeout?: number;
  /** Longest a read snapshot (`db.read`) may stay open, in ms (default 60 000). */
  maxReadDuration?: number;
  /** Milliseconds a connection may sit idle before it is replaced (default 86 400 000: a day). */
  idleTimeout?: number;
  /**
   * Runs on every new connection, at open() and whenever a connection is replaced, before it
   * serves anything: `conn.role` is 'reader' or 'writer'. A hook that fails at open() fails open().
   */
  onConnection?: (conn: import('./keeper.ts').ConnectionHandle) => unknown;
  /** Retries of transient errors; off unless given (the 'production' preset turns it on). */
  retry?: RetryOptions | false;
  /**
   * Group commit (default on): consecutive plain writes waiting for the writer run in one
   * transaction, each in its own SAVEPOINT; every promise resolves after COMMIT. `maxBatch`
   * (default 256) caps a group; `maxDelayMs` (default 0) lets the writer wait for more.
   */
  groupCommit?: boolean | { maxBatch?: number; maxDelayMs?: number };
  /**
   * Milliseconds a native worker may run without pausing before it offers its CPU core to other
   * threads, the event loop's among them (default 1; fractions allowed; 0: never). Keeps timers
   * and I/O callbacks on time when busy workers outnumber the cores. See docs/tuning.md.
   */
  timeslice?: number;
  /** Reader threads, each with its own connection (default 4; `:memory:` always uses 0). */
  readers?: number;
  /** Milliseconds a connection waits for a lock held by another process (default 5000). */
  busyTimeout?: number;
  /** PRAGMA synchronous on every connection (default 'normal'). */
  synchronous?: SynchronousMode;
  /** Page cache per connection, in KiB (default 16000). */
  cacheSize?: number;
  /** Prepared statements kept per connection (default 128; 0 disables the cache). */
  statementCacheSize?: number;
  /** PRAGMAs applied to every connection, e.g. `{ foreign_keys: true }`. */
  pragmas?: Readonly<Record<string, PragmaValue>>;
  /** INTEGER columns come back as bigint (default false). */
  safeIntegers?: boolean;
  /** Create the database file when missing (default true). */
  create?: boolean;
  /** Default timeout in milliseconds of every operation (default: none). */
  queryTimeout?: number;
  /**
   * The writer's checkpoint on close() (default 'truncate'; 'passive' under
   * `replication: 'litestream'`, which refuses 'truncate').
   */
  checkpointOnClose?: CheckpointOnClose;
  /**
   * Cooperate with a WAL replication tool (default 'none'). 'litestream': no RESTART or TRUNCATE
   * checkpoints, busyTimeout at least 5000, autocheckpoints off, read snapshots bounded by
   * busyTimeout. 'litefs': writes on a replica node fail up front with ReadOnlyReplicaError, and
   * `db.replica` tracks the primary and the replication position. See docs/scale-out.md.
   *
   * @example
   * const db = await open('/data/app.db', { replication: 'litestream' });
   */
  replication?: Replication;
}

/** A snapshot of the pool's activity (see `Pool.stats()`). */
export interface PoolStats {
  /** Reader threads: how many, how many running a request, idle, and pinned to leases. */
  readers: { size: number; busy: number; idle: number; pinned: number };
  /** The writer thread: running a request, requests queued for it (JS side and native ring),
   * and whether a transaction or write lease holds it. */
  writer: { busy: boolean; queued: number; held: boolean };
  /** Leases, transactions and snapshots waiting for a connection. */
  leasesWaiting: number;
  /** Group commit: groups of two or more writes committed together, and the writes in them. */
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
}
