// Owns the LiteFS side of `replication: 'litefs'`: which node is the primary, read from the
// mount's `.primary` file, and how far this node's copy of the database has got, read from the
// database's `-pos` file. Runs on the JS thread; the files are small and LiteFS serves them from
// memory.
//
// The layout, from LiteFS's documentation (https://fly.io/docs/litefs/primary/ and
// https://fly.io/docs/litefs/position/):
// - `<mount>/.primary` exists only on a replica connected to the primary, and holds the primary's
//   hostname followed by a newline. No file: this node is the primary (or cannot reach one), and
//   writes are attempted locally.
// - `<mount>/<db>-pos` holds the position: the TXID as 16 hex digits, a slash, the rolling
//   checksum as 16 hex digits, and a newline (`00000000002df417/ce552e44f23fbbdd`).
// A database on LiteFS sits at the root of the mount, so the mount is the database's directory.

import { readFileSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ReadOnlyReplicaError, ReplicaTimeoutError, SqliteError, describeType, invalidArgument, outOfRange } from '../errors.ts';
import { checkInteger, checkKeys, checkSignal } from '../input/validate.ts';

/** A replication position: the last transaction this node has applied, and the database checksum. */
export interface ReplicaPosition {
  /** LiteFS's transaction ID: increases by one per transaction committed on the primary. */
  txid: bigint;
  /** The rolling checksum of the database after that transaction, 16 hex digits. */
  checksum: string;
}

/** A transaction ID: a bigint, a safe non-negative integer, or up to 16 hex digits as LiteFS prints it. */
export type TxidLike = bigint | number | string;

/** What `db.replica` offers under `replication: 'litefs'`. */
export interface Replica {
  /** True when the mount has no `.primary` file: this node takes writes (as of the last look). */
  readonly isPrimary: boolean;
  /** The primary's hostname when this node is a replica; undefined on the primary. */
  readonly primary: string | undefined;
  /** Reads `.primary` again now; resolves with `isPrimary`. */
  refresh(): Promise<boolean>;
  /** This node's replication position from the `-pos` file (undefined when it cannot be read). */
  position(): Promise<ReplicaPosition | undefined>;
  /**
   * Resolves once this node has applied transaction `txid` (its position is at or past it),
   * with that position; rejects with ReplicaTimeoutError after `timeout` ms (default 5000).
   * Read-your-writes across nodes: the primary hands out `(await db.replica.position()).txid`
   * after a write, a replica waits for it before it reads.
   *
   * @example
   * const txid = request.headers['x-txid'];
   * if (typeof txid === 'string') await db.replica.waitForPosition(txid, 2000);
   * const order = await db.get('SELECT * FROM orders WHERE id = ?', [id]);
   */
  waitForPosition(txid: TxidLike, timeout?: number, options?: { signal?: AbortSignal }): Promise<ReplicaPosition>;
}

const POSITION = /^([0-9a-fA-F]{16})\/([0-9a-fA-F]{16})\n?$/;
const MAX_TXID = (1n << 64n) - 1n;
/** How often the primary status is refreshed in the background (ms). */
const REFRESH_INTERVAL_MS = 1000;
/** A replica verdict older than this is read again before a write is refused (ms). */
const RECHECK_AFTER_MS = 100;
const DEFAULT_WAIT_MS = 5000;
const MAX_MS = 2 ** 31 - 1;

/** `path` with every symbolic link followed (as given when it cannot be resolved). */
function realFile(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** Parses the content of a `-pos` file; undefined when it is not a complete position. */
export function parsePosition(text: string): ReplicaPosition | undefined {
  const match = POSITION.exec(text);
  if (!match) return undefined;
  return { txid: BigInt(`0x${match[1]}`), checksum: match[2]!.toLowerCase() };
}

/** Validates a transaction ID given as a bigint, a number or hex digits. */
export function toTxid(value: unknown): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_TXID) throw outOfRange(`txid must be within 0 and 2^64 - 1, got ${value}`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw outOfRange(`txid must be a non-negative safe integer, got ${value}`);
    return BigInt(value);
  }
  if (typeof value === 'string') {
    if (!/^[0-9a-fA-F]{1,16}$/.test(value)) throw outOfRange(`txid must be 1 to 16 hex digits, got ${JSON.stringify(value)}`);
    return BigInt(`0x${value}`);
  }
  throw invalidArgument(`txid must be a bigint, a number or a hex string, got ${describeType(value)}`);
}

/** Primary detection and positions for one database on a LiteFS mount. */
export class LiteFsReplica implements Replica {
  readonly #primaryFile: string;
  readonly #positionFile: string;
  /** The primary's hostname while this node is a replica. */
  #primary: string | undefined;
  #checkedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<boolean> | undefined;

  /** Reads `.primary` once now and then every second in the background (the timer is unref'd). */
  constructor(databasePath: string) {
    // The mount holds the database file itself: a path through symbolic links is followed there.
    const file = realFile(databasePath);
    const mount = dirname(file);
    this.#primaryFile = join(mount, '.primary');
    this.#positionFile = join(mount, `${basename(file)}-pos`);
    this.#readNow();
    this.#timer = setInterval(() => void this.refresh().catch(() => {}), REFRESH_INTERVAL_MS);
    this.#timer.unref();
  }

  get isPrimary(): boolean {
    return this.#primary === undefined;
  }

  get primary(): string | undefined {
    return this.#primary;
  }

  refresh(): Promise<boolean> {
    this.#refreshing ??= readFile(this.#primaryFile, 'utf8')
      .then(
        (text) => this.#record(text),
        (error: NodeJS.ErrnoException) => this.#record(error.code === 'ENOENT' ? undefined : this.#primary),
      )
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async position(): Promise<ReplicaPosition | undefined> {
    try {
      return parsePosition(await readFile(this.#positionFile, 'utf8'));
    } catch {
      return undefined;
    }
  }

  waitForPosition(txid: TxidLike, timeout?: number, options?: { signal?: AbortSignal }): Promise<ReplicaPosition> {
    let target: bigint;
    let limit: number;
    let signal: AbortSignal | undefined;
    try {
      target = toTxid(txid);
      limit = timeout === undefined ? DEFAULT_WAIT_MS : checkInteger('timeout', timeout, 0, MAX_MS);
      signal = checkSignal(checkKeys('options', options, ['signal']).signal);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const deadline = Date.now() + limit;
    return new Promise<ReplicaPosition>((resolve, reject) => {
      let delay = 2;
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const onAbort = (): void => finish(() => reject(signal!.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      const look = async (): Promise<void> => {
        const position = await this.position();
        if (settled) return;
        if (position && position.txid >= target) return finish(() => resolve(position));
        const left = deadline - Date.now();
        if (left <= 0) {
          const detail = position ? '' : `; ${this.#positionFile} is missing or unreadable`;
          return finish(() => reject(new ReplicaTimeoutError(limit, target, position?.txid, detail)));
        }
        timer = setTimeout(() => void look(), Math.min(delay, left));
        delay = Math.min(delay * 2, 50);
      };
      void look();
    });
  }

  /** @internal Throws ReadOnlyReplicaError when this node is a replica (a stale verdict is re-read first). */
  checkWritable(): void {
    if (this.#primary === undefined) return;
    if (Date.now() - this.#checkedAt > RECHECK_AFTER_MS) this.#readNow();
    if (this.#primary !== undefined) throw new ReadOnlyReplicaError(this.#primary);
  }

  /**
   * @internal A write that failed the way SQLite fails on a LiteFS replica (disk I/O error with
   * the WAL, read-only with a rollback journal) becomes ReadOnlyReplicaError when `.primary`
   * says this node is a replica now; anything else is returned unchanged.
   */
  translate(error: unknown): unknown {
    if (!(error instanceof SqliteError)) return error;
    if (error.primaryCode !== 'SQLITE_IOERR' && error.primaryCode !== 'SQLITE_READONLY') return error;
    this.#readNow();
    return this.#primary === undefined ? error : new ReadOnlyReplicaError(this.#primary, { cause: error });
  }

  /** @internal Stops the background refresh. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #readNow(): void {
    try {
      this.#record(readFileSync(this.#primaryFile, 'utf8'));
    } catch (error) {
      // No file: the primary (or no primary reachable: writes are tried locally, as LiteFS says).
      // Another failure leaves the last verdict in place.
      this.#record((error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : this.#primary);
    }
  }

  #record(text: string | undefined): boolean {
    this.#primary = text === undefined ? undefined : text.trim();
    this.#checkedAt = Date.now();
    return this.#primary === undefined;
  }
}
