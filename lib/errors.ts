// Owns litepool's error classes and the factories of its argument errors.
//
// Every error litepool creates carries a stable `code` and is an instance of LitepoolError. The
// classes brand their instances with a registry symbol, so `instanceof` works even when two
// copies of the package are loaded (a dependency tree with duplicates): the check looks at the
// brand, not at the prototype chain. That is also how the argument errors, which stay built-in
// TypeError and RangeError instances (their documented classes), count as LitepoolErrors: their
// factories below give them a code and the LitepoolError brand.

import { isProxy } from 'node:util/types';

import { SQLITE_CODE_NAMES } from './native/sqlite-codes.ts';

const kBrands = Symbol.for('litepool.error.brands');

type Branded = { [kBrands]?: readonly string[] };

/** The brands of `target` and its ancestors up to Error. */
function brandsOf(target: Function): string[] {
  const brands: string[] = [];
  for (let ctor: any = target; ctor && ctor !== Error; ctor = Object.getPrototypeOf(ctor)) {
    if (Object.prototype.hasOwnProperty.call(ctor, 'brand')) brands.push(ctor.brand as string);
  }
  return brands;
}

/** `instanceof` by brand: true for instances of any copy of the class (or of a subclass). */
function hasBrand(ctor: unknown, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const brands = (value as Branded)[kBrands];
  return Array.isArray(brands) && brands.includes((ctor as { brand: string }).brand);
}

/** Base class of every error litepool defines. */
export class LitepoolError extends Error {
  static readonly brand: string = 'LitepoolError';
  /** A stable, documented identifier of the failure (for example `SQLITE_CONSTRAINT_UNIQUE`). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, kBrands, { value: brandsOf(new.target) });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(this, value);
  }
}

/** A built-in TypeError or RangeError with litepool's `code` (and the failing `sql`, when a statement reported it). */
export type CodedError<E extends TypeError | RangeError> = E & { readonly code: string; readonly sql?: string | undefined };

/**
 * Codes a built-in error and brands it a LitepoolError: `instanceof LitepoolError` holds, while
 * its class stays TypeError or RangeError (documented, and what callers test with instanceof).
 */
function coded<E extends TypeError | RangeError>(error: E, code: string, statement?: { sql: string | undefined }): CodedError<E> {
  const target = error as E & { code: string; sql?: string | undefined };
  target.code = code;
  if (statement) target.sql = statement.sql;
  Object.defineProperty(error, kBrands, { value: [LitepoolError.brand] });
  return target;
}

/** SQLite reported an error. `code` is SQLite's extended result code name. */
export class SqliteError extends LitepoolError {
  static override readonly brand = 'SqliteError';
  /** SQLite's extended result code as a number (for example 2067). */
  readonly errno: number;
  /** The primary result code name (for example `SQLITE_CONSTRAINT`). */
  readonly primaryCode: string;
  /** The SQL that failed, when there was one. */
  readonly sql: string | undefined;

  constructor(errno: number, message: string, sql?: string) {
    const code = sqliteCodeName(errno);
    super(code, message);
    this.errno = errno;
    this.primaryCode = sqliteCodeName(errno & 0xff);
    this.sql = sql;
  }
}

/** The pool is closed or closing: no new work is accepted. */
export class PoolClosedError extends LitepoolError {
  static override readonly brand = 'PoolClosedError';
  constructor(message = 'the pool is closed') {
    super('LITEPOOL_POOL_CLOSED', message);
  }
}

/** An operation ran longer than its `timeout` (or the pool's `queryTimeout`) and was cancelled. */
export class OperationTimeoutError extends LitepoolError {
  static override readonly brand = 'OperationTimeoutError';
  readonly timeout: number;
  constructor(timeout: number, sql?: string) {
    super('LITEPOOL_OPERATION_TIMEOUT', `the operation did not finish within ${timeout} ms${sql ? `: ${sql}` : ''}`);
    this.timeout = timeout;
  }
}

/** The name of a SQLite result code number, or `SQLITE_UNKNOWN_<n>`. */
export function sqliteCodeName(errno: number): string {
  const exact = SQLITE_CODE_NAMES.get(errno);
  if (exact !== undefined) return exact;
  // An extended code unknown here falls back to its primary code: only a non-negative 31-bit
  // integer is one (NaN & 0xff, 2 ** 32 & 0xff and 768 & 0xff are all 0), and never to SQLITE_OK.
  const primary = Number.isInteger(errno) && errno > 0 && errno <= 0x7fffffff ? errno & 0xff : 0;
  return (primary !== 0 ? SQLITE_CODE_NAMES.get(primary) : undefined) ?? `SQLITE_UNKNOWN_${String(errno)}`;
}

/** An argument or option of the wrong type (`LITEPOOL_INVALID_ARGUMENT`; `cause`: the user's
 * error that made it). */
export function invalidArgument(message: string, cause?: unknown): CodedError<TypeError> {
  return coded(new TypeError(message, cause === undefined ? undefined : { cause }), 'LITEPOOL_INVALID_ARGUMENT');
}

/**
 * What reading the caller's value (`what`) threw: litepool's own errors as they are, anything
 * else (a getter, a proxy trap) as a TypeError naming `what`, with it as the cause.
 */
export function unreadable(what: string, error: unknown): Error {
  if (error instanceof LitepoolError) return error as Error;
  return invalidArgument(`${what} could not be read: ${describeError(error)}`, error);
}

/** An argument or option out of range (`LITEPOOL_OUT_OF_RANGE`). */
export function outOfRange(message: string): CodedError<RangeError> {
  return coded(new RangeError(message), 'LITEPOOL_OUT_OF_RANGE');
}

/** Parameters that do not fit the statement: count, names (`LITEPOOL_BIND`). */
export function bindError(message: string, sql: string | undefined): CodedError<RangeError> {
  return coded(new RangeError(message), 'LITEPOOL_BIND', { sql });
}

/**
 * A misuse (`LITEPOOL_MISUSE`): SQL with no statement in it (a comment, a lone `;`; empty text is
 * out of range), two statements where one is expected, a statement that leaves a transaction
 * open, BEGIN/COMMIT/END/ROLLBACK inside db.transaction(), two iterations at once on one
 * connection, a call an integration's protocol does not allow.
 */
export function misuse(message: string, statement?: { sql: string | undefined }): CodedError<RangeError> {
  return coded(new RangeError(message), 'LITEPOOL_MISUSE', statement);
}

/** An INTEGER beyond 2^53 read without `safeIntegers` (`LITEPOOL_INTEGER_OVERFLOW`). */
export function integerOverflow(message: string, sql: string | undefined): CodedError<RangeError> {
  return coded(new RangeError(message), 'LITEPOOL_INTEGER_OVERFLOW', { sql });
}

/** The message of something thrown, for an error that wraps it. */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return 'a value that cannot be printed';
  }
}

/**
 * Describes a value's type for an error message: `Date`, `symbol`, `function`, `null`, `a
 * proxy`... Never throws, and runs no proxy trap: a `constructor` getter (or name) that throws or
 * is not a string leaves the description at `an object` (the error being built is about the type).
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    if (isProxy(value)) return 'a proxy';
    let name: unknown;
    try {
      name = (value as object).constructor?.name;
    } catch {
      name = undefined;
    }
    return typeof name === 'string' && name !== '' ? `an object (${name})` : 'an object';
  }
  return typeof value;
}

/** No connection (or queue slot) became free within `acquireTimeout`. */
export class AcquireTimeoutError extends LitepoolError {
  static override readonly brand = 'AcquireTimeoutError';
  readonly timeout: number;
  constructor(timeout: number, what: string) {
    super('LITEPOOL_ACQUIRE_TIMEOUT', `no ${what} became free within ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** A transaction (or read snapshot) ran past its `timeout` and was rolled back. */
export class TransactionTimeoutError extends LitepoolError {
  static override readonly brand = 'TransactionTimeoutError';
  readonly timeout: number;
  constructor(timeout: number, what = 'transaction') {
    super('LITEPOOL_TRANSACTION_TIMEOUT', `the ${what} did not finish within ${timeout} ms and was rolled back`);
    this.timeout = timeout;
  }
}

/** A transaction, snapshot or lease was used after it ended. */
export class ScopeEndedError extends LitepoolError {
  static override readonly brand = 'ScopeEndedError';
  constructor(what: string) {
    super('LITEPOOL_SCOPE_ENDED', `the ${what} has ended; it can no longer be used`);
  }
}

/** The write queue had no room (policy 'reject'), or this entry was dropped to make room ('drop-oldest'). */
export class QueueFullError extends LitepoolError {
  static override readonly brand = 'QueueFullError';
  /** True when the entry had been accepted and was evicted by a newer one. */
  readonly dropped: boolean;
  constructor(message: string, dropped = false) {
    super('LITEPOOL_QUEUE_FULL', message);
    this.dropped = dropped;
  }
}

/** The write queue stayed full for `blockTimeout` ms. */
export class QueueTimeoutError extends LitepoolError {
  static override readonly brand = 'QueueTimeoutError';
  readonly timeout: number;
  constructor(timeout: number) {
    super('LITEPOOL_QUEUE_TIMEOUT', `the write queue stayed full for ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** The write queue was shut down: it accepts nothing more. */
export class QueueClosedError extends LitepoolError {
  static override readonly brand = 'QueueClosedError';
  constructor() {
    super('LITEPOOL_QUEUE_CLOSED', 'the write queue has been shut down');
  }
}

/** An observer's `beforeQuery` vetoed the operation: nothing reached SQLite. */
export class PolicyError extends LitepoolError {
  static override readonly brand = 'PolicyError';
  /** The statement that was refused. */
  readonly sql: string;
  constructor(sql: string, reason: unknown) {
    super('LITEPOOL_POLICY', `refused by policy: ${reason instanceof Error ? reason.message : String(reason)}`, { cause: reason });
    this.sql = sql;
  }
}

/**
 * A maintenance operation was refused because the pool holds something that would block it or
 * undo its work (`vacuum()` while a lease, snapshot or iteration is open). `heldBy` names them.
 */
export class OperationBlockedError extends LitepoolError {
  static override readonly brand = 'OperationBlockedError';
  readonly heldBy: readonly string[];
  constructor(operation: string, heldBy: readonly string[]) {
    super('LITEPOOL_OPERATION_BLOCKED', `${operation} cannot run while ${heldBy.join(', ')} ${heldBy.length === 1 ? 'is' : 'are'} open; release ${heldBy.length === 1 ? 'it' : 'them'} first`);
    this.heldBy = heldBy;
  }
}

/**
 * A write reached a LiteFS replica (`replication: 'litefs'`): only the primary node accepts writes,
 * and the maintenance that writes (checkpoints, optimize, analyze, vacuum, schema DDL helpers).
 * Raised before the write reaches SQLite (which would answer with a bare disk I/O error).
 * `primary` is the primary's hostname as LiteFS reports it in the mount's `.primary` file.
 */
export class ReadOnlyReplicaError extends LitepoolError {
  static override readonly brand = 'ReadOnlyReplicaError';
  /** The primary node's hostname (forward the write there). */
  readonly primary: string;
  constructor(primary: string, options?: { cause?: unknown }) {
    super('LITEPOOL_READONLY_REPLICA', `this node is a LiteFS replica: writes must go to the primary, ${JSON.stringify(primary)}`, options);
    this.primary = primary;
  }
}

/** `db.replica.waitForPosition()` gave up: the replica did not reach the transaction in time. */
export class ReplicaTimeoutError extends LitepoolError {
  static override readonly brand = 'ReplicaTimeoutError';
  readonly timeout: number;
  /** The transaction ID waited for. */
  readonly txid: bigint;
  /** The last position read, or undefined when the position file could not be read. */
  readonly reached: bigint | undefined;
  constructor(timeout: number, txid: bigint, reached: bigint | undefined, detail = '') {
    const at = reached === undefined ? 'no readable position' : `TXID ${reached}`;
    super('LITEPOOL_REPLICA_TIMEOUT', `the replica did not reach TXID ${txid} within ${timeout} ms (it is at ${at})${detail}`);
    this.timeout = timeout;
    this.txid = txid;
    this.reached = reached;
  }
}

/** The stable codes a MigrationError carries. */
export type MigrationErrorCode =
  | 'LITEPOOL_MIGRATION_FAILED'
  | 'LITEPOOL_MIGRATION_CHECKSUM'
  | 'LITEPOOL_MIGRATION_OUT_OF_ORDER'
  | 'LITEPOOL_MIGRATION_NEWER_DATABASE'
  | 'LITEPOOL_MIGRATION_LOCKED';

/**
 * A migration could not be applied, or migrating was refused (see docs/migrations.md):
 * - `LITEPOOL_MIGRATION_FAILED`: a migration failed (rolled back; `file`, `statement` and the
 *   SQLite error as `cause`), a migration could not be loaded, or the database cannot be migrated
 *   from where it stands;
 * - `LITEPOOL_MIGRATION_CHECKSUM`: an applied migration's file changed since it was applied;
 * - `LITEPOOL_MIGRATION_OUT_OF_ORDER`: a pending migration is older than the newest applied one;
 * - `LITEPOOL_MIGRATION_NEWER_DATABASE`: the database has migrations newer than every file;
 * - `LITEPOOL_MIGRATION_LOCKED`: another migrator held the database for all of `lockTimeout`.
 */
export class MigrationError extends LitepoolError {
  static override readonly brand = 'MigrationError';
  declare readonly code: MigrationErrorCode;
  /** The version concerned, when there is one. */
  readonly version: string | undefined;
  /** The file (or list entry) concerned, when there is one. */
  readonly file: string | undefined;
  /** The statement that failed, when one did. */
  readonly statement: string | undefined;

  constructor(
    code: MigrationErrorCode,
    message: string,
    details: { version?: string | undefined; file?: string | undefined; statement?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.version = details.version;
    this.file = details.file;
    this.statement = details.statement;
  }
}
