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

/** Options of `open()`. */
export interface PoolOptions {
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
}

/** A snapshot of the pool's activity (see `Pool.stats()`). */
export interface PoolStats {
  readers: { size: number; busy: number; idle: number };
  writer: { busy: boolean; queued: number };
  /** Requests waiting on the JS side for a free native slot. */
  queued: number;
  /** Requests handed to the native threads and not yet completed. */
  inFlight: number;
  /** Depth of each native ring right now. */
  rings: { readers: number; writer: number; completions: number };
  operations: { started: number; completed: number; failed: number; cancelled: number };
}
