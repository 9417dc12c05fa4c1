// Owns the Pool's operations methods (checkpoint, backup, vacuumInto, integrityCheck,
// foreignKeyCheck, optimize, analyze, vacuum, ping, schema): each checks its arguments, refuses
// once the pool is closed, and hands over to the pool's Toolkit (lib/maintenance/). Pool extends
// this class. Runs on the JS thread.

import { checkBackupOptions } from '../maintenance/backup.ts';
import { checkCheckpointMode } from '../maintenance/checkpoint.ts';
import { checkIntegrityOptions } from '../maintenance/integrity.ts';
import type { Schema } from '../maintenance/schema.ts';
import type { Toolkit } from '../maintenance/toolkit.ts';
import { checkVacuumOptions } from '../maintenance/upkeep.ts';
import type { BackupOptions, BackupResult, ForeignKeyViolation, IntegrityCheckOptions, IntegrityCheckResult, VacuumOptions } from '../operations-types.ts';
import type { CheckpointMode, CheckpointResult } from '../types.ts';
import { describeType, invalidArgument } from '../errors.ts';
import type { OperationOptions } from '../types.ts';
import { checkOptions, rejectOnThrow } from './operations.ts';

/**
 * Refuses arguments past the `max` a method takes: an options object handed to a method that has
 * none (`db.vacuumInto(dest, { signal })`) would otherwise be ignored without a word.
 */
function checkArity(method: string, args: IArguments, max: number): void {
  if (args.length <= max) return;
  const extra = args[max];
  throw invalidArgument(
    `db.${method}() takes ${max === 0 ? 'no arguments' : `at most ${max} argument${max === 1 ? '' : 's'}`}, got ${args.length} (the first extra one is ${describeType(extra)})`,
  );
}

/** The maintenance methods of a Pool (see docs/operations.md). */
export class PoolMaintenance {
  readonly #toolkit: Toolkit;

  /** @internal */
  constructor(toolkit: Toolkit) {
    this.#toolkit = toolkit;
  }

  /** @internal The toolkit (tests). */
  get toolkit(): Toolkit {
    return PoolMaintenance.#of(this).#toolkit;
  }

  /**
   * Schema inspection and DDL helpers that quote every identifier.
   *
   * @example
   * const columns = await db.schema.columns('users');
   * await db.schema.addColumn('users', 'email', 'TEXT', { ifNotExists: true });
   */
  get schema(): Schema {
    return PoolMaintenance.#of(this).#toolkit.schema;
  }

  /**
   * Checkpoints the WAL on the writer, in line with the writes: 'passive' (default) copies what
   * no reader still needs without waiting; 'full' waits for writers; 'restart' and 'truncate'
   * also wait for readers so the WAL starts over ('truncate' empties the -wal file).
   *
   * @example
   * const { busy, walFrames, checkpointedFrames } = await db.checkpoint('truncate');
   */
  checkpoint(mode?: CheckpointMode): Promise<CheckpointResult> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('checkpoint', args, 1);
      return this.#toolkit.checkpoint(checkCheckpointMode(mode));
    });
  }

  /**
   * Copies the database to `dest` while the pool keeps serving: SQLite's online backup, run on
   * the writer's own connection `pagesPerStep` pages (default 256) at a time, writes running in
   * between (while the pool is busy it pauses between steps, so it takes about a tenth of the
   * writer's time). The copy holds every write committed before backup() was called. It is written
   * under a temporary name beside `dest` and renamed onto it when complete; on abort or failure
   * the temporary file is removed and `dest` is left as it was.
   *
   * @example
   * const { pages, durationMs } = await db.backup('/backups/app.db', {
   *   onProgress: ({ totalPages, remainingPages }) => console.log(`${totalPages - remainingPages}/${totalPages}`),
   *   signal: AbortSignal.timeout(600_000),
   * });
   */
  backup(dest: string, options?: BackupOptions): Promise<BackupResult> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('backup', args, 2);
      return this.#toolkit.backup(this.#toolkit.destination(dest), checkBackupOptions(options));
    });
  }

  /**
   * Writes a compacted copy of the database to `dest` (VACUUM INTO) on the writer. The copy is
   * written under a temporary name beside `dest` and renamed onto it when complete.
   *
   * @example
   * await db.vacuumInto('/backups/app-compact.db');
   */
  vacuumInto(dest: string): Promise<BackupResult> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('vacuumInto', args, 1);
      return this.#toolkit.vacuumInto(this.#toolkit.destination(dest));
    });
  }

  /**
   * Runs PRAGMA integrity_check (or quick_check with `quick`) on a reader of its own, on the
   * current schema. A damaged file reports `ok: false` with SQLite's problems, or rejects with a
   * SqliteError (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
   *
   * @example
   * const { ok, problems } = await db.integrityCheck({ quick: true });
   */
  integrityCheck(options?: IntegrityCheckOptions): Promise<IntegrityCheckResult> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('integrityCheck', args, 1);
      return this.#toolkit.integrityCheck(checkIntegrityOptions(options));
    });
  }

  /**
   * Lists the rows that break a foreign key constraint (PRAGMA foreign_key_check), on the
   * current schema.
   *
   * @example
   * for (const { table, rowid, parent } of await db.foreignKeyCheck()) console.warn(table, rowid, '→', parent);
   */
  foreignKeyCheck(): Promise<ForeignKeyViolation[]> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('foreignKeyCheck', args, 0);
      return this.#toolkit.foreignKeyCheck();
    });
  }

  /**
   * Runs PRAGMA optimize on the writer (statistics for the query planner, where they are stale).
   *
   * @example
   * setInterval(() => db.optimize(), 3_600_000).unref(); // or open(path, { optimizeInterval })
   */
  optimize(): Promise<void> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('optimize', args, 0);
      return this.#toolkit.optimize();
    });
  }

  /**
   * Runs ANALYZE on the writer: fresh statistics for every table and index.
   *
   * @example
   * await db.analyze();
   */
  analyze(): Promise<void> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('analyze', args, 0);
      return this.#toolkit.analyze();
    });
  }

  /**
   * Rebuilds the database file (VACUUM), or with `{ incremental: pages }` frees up to `pages`
   * free pages of a database in auto_vacuum = INCREMENTAL mode (0: all of them); then a TRUNCATE
   * checkpoint so the file shrinks. Holds the writer meanwhile. Rejects with
   * OperationBlockedError while this pool has a lease, snapshot or iteration open.
   *
   * @example
   * await db.vacuum();
   * await db.vacuum({ incremental: 1000 });
   */
  vacuum(options?: VacuumOptions): Promise<void> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('vacuum', args, 1);
      return this.#toolkit.vacuum(checkVacuumOptions(options));
    });
  }

  /**
   * A cheap read of the schema on a reader and on the writer: resolves once both answered.
   * `timeout` (default: the pool's `queryTimeout`) and `signal` cancel both reads, as for a
   * query: a probe that cannot wait forever.
   *
   * @example
   * app.get('/health', async () => { await db.ping({ timeout: 1000 }); return 'ok'; });
   */
  ping(options?: OperationOptions): Promise<void> {
    const args = arguments;
    return PoolMaintenance.#start(this, () => {
      checkArity('ping', args, 1);
      const { signal, timeout } = checkOptions('write', options, this.#toolkit.operationDefaults);
      return this.#toolkit.ping({ signal, timeout });
    });
  }

  /** Runs `operation` on a usable pool; any throw (a method called on something else than a Pool included) rejects. */
  static #start<T>(self: PoolMaintenance, operation: () => Promise<T>): Promise<T> {
    return rejectOnThrow(() => {
      PoolMaintenance.#of(self).#toolkit.checkUsable();
      return operation();
    });
  }

  /** `self` as a Pool, or a TypeError (LITEPOOL_INVALID_ARGUMENT): a method or getter called with another `this`. */
  static #of(self: unknown): PoolMaintenance {
    if (typeof self === 'object' && self !== null && #toolkit in self) return self;
    throw invalidArgument(`a Pool method was called on ${describeType(self)}, not on a Pool`);
  }
}

