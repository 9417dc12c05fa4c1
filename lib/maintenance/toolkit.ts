// Owns the operations toolkit of one pool, behind the Pool's maintenance methods: checkpoints and
// the WAL monitor, copies (backup, vacuumInto), integrity checks, upkeep (optimize, analyze,
// vacuum, ping), db.schema, and the WAL figures of stats(). Starts its timers once the pool is
// open and stops them when it closes. Checkpoints and copies are observed (lib/observers/
// operations-trace.ts); on a LiteFS replica the maintenance that writes is refused
// (replica-guard.ts). Runs on the JS thread.

import type { PoolContext } from '../api/context.ts';
import type { WriteGuard } from '../api/operations.ts';
import { outOfRange } from '../errors.ts';
import type { HealthProbe } from '../connections/health-probe.ts';
import type { ResolvedOptions } from '../input/options.ts';
import type { BackupResult, ForeignKeyViolation, IntegrityCheckResult } from '../operations-types.ts';
import { traceCopy } from '../observers/operations-trace.ts';
import { Op } from '../native/contract.ts';
import { countCall } from '../request/operation-counts.ts';
import { WRITER } from '../request/route.ts';
import type { CheckpointMode, CheckpointResult, PoolStats } from '../types.ts';
import { backup, type BackupSettings } from './backup.ts';
import { Checkpointer } from './checkpoint.ts';
import { checkDestination, vacuumInto } from './copies.ts';
import { foreignKeyCheck, integrityCheck } from './integrity.ts';
import { MaintenanceGuard } from './replica-guard.ts';
import { Schema, type SchemaHost } from './schema.ts';
import { OPTIMIZE_AT_OPEN, Upkeep } from './upkeep.ts';
import { readWalState, type WalIndex } from './wal-file.ts';
import { WalMonitor } from './wal-monitor.ts';
import { Pending } from '../api/pending.ts';

/**
 * The problems of an integrity check, one per entry: SQLite reports those it finds checking a
 * database's b-trees as one row, `*** in database main ***` and then one problem per line; the
 * others (an index entry missing, a NULL in a NOT NULL column...) one per row. The heading is
 * dropped for `main`; the problems of an attached database are prefixed with its name
 * (`in database aux: …`), as the other rows do not name theirs. At most `maxErrors`.
 */
export function problemsOf(rows: readonly string[], maxErrors: number): string[] {
  const problems: string[] = [];
  for (const row of rows) {
    const lines = row.split('\n');
    const heading = /^\*\*\* in database (.*) \*\*\*$/.exec(lines[0] ?? '');
    const prefix = heading === null || heading[1] === 'main' ? '' : `in database ${heading[1]}: `;
    for (const line of heading === null ? lines : lines.slice(1)) if (line !== '') problems.push(prefix + line);
  }
  // (Never an empty list for a failed check: blank rows are kept as they came.)
  return problems.length > 0 ? problems.slice(0, maxErrors) : [...rows];
}

export class Toolkit {
  readonly #context: PoolContext;
  readonly #options: ResolvedOptions;
  readonly #walIndex: () => WalIndex;
  readonly #checkpointer: Checkpointer;
  readonly #upkeep: Upkeep;
  readonly #monitor: WalMonitor | undefined;
  readonly schema: Schema;
  /** @internal The health probe, when `healthCheck` is on (tests reach it here). */
  readonly health: HealthProbe | undefined;

  readonly #busy: () => boolean;

  readonly #guard: MaintenanceGuard;

  /**
   * `busy()`: true while requests of the pool are in flight or queued (backups yield to them).
   * `writeGuard`: the pool's write guard under `replication: 'litefs'`. `walIndex`: the WAL index
   * as the writer thread last read it (the addon's stats()).
   */
  constructor(
    context: PoolContext,
    options: ResolvedOptions,
    schemaHost: SchemaHost,
    health: HealthProbe | undefined,
    busy: () => boolean,
    writeGuard: WriteGuard | undefined,
    walIndex: () => WalIndex,
  ) {
    this.#walIndex = walIndex;
    this.health = health;
    this.#busy = busy;
    this.#context = context;
    this.#options = options;
    this.#guard = new MaintenanceGuard(writeGuard);
    this.#checkpointer = new Checkpointer(context.requests, context.observers, options.memory, this.#guard);
    // Under Litestream no checkpoint may restart the WAL: vacuum() ends with a passive one.
    const litestream = options.replication === 'litestream';
    this.#upkeep = new Upkeep(context, this.#checkpointer, options.acquireTimeout, litestream ? 'passive' : 'truncate', this.#guard);
    this.#monitor = options.walMonitor
      ? new WalMonitor(
          { ...options.walMonitor, checkpoints: !litestream },
          () => readWalState(options.file, false, walIndex),
          // Not behind a transaction or lease holding the writer: it would wait there, counted
          // in stats().writer.queued, for nothing the monitor needs at once.
          () =>
            context.writer.held
              ? undefined
              : context.requests.run({ op: Op.Get, route: WRITER, sql: 'SELECT 1', values: undefined, names: undefined, rowMode: 'array', internal: true }).then(() => undefined),
          this.#checkpointer,
          context.holders,
          context.observers,
        )
      : undefined;
    this.schema = new Schema(schemaHost);
  }

  #refused: (() => Error) | undefined;
  /** The maintenance operations called and not yet settled (close() waits for them). */
  readonly #running = new Pending();

  /**
   * Resolves once every maintenance operation called so far has settled: close() waits for them
   * before it closes the connections (a backup between two steps, a check waiting for a reader,
   * would otherwise send its next request after the Close requests, and never settle).
   */
  settled(): Promise<void> {
    return this.#running.settled();
  }

  /** From now on every maintenance call throws `error()` (the pool is closing). */
  refuse(error: () => Error): void {
    this.#refused ??= error;
  }

  /** Throws once the pool is closing. */
  checkUsable(): void {
    if (this.#refused) throw this.#refused();
  }

  /**
   * Runs once the pool is open: PRAGMA optimize=0x10002 on the writer (best effort: statistics
   * that cannot be written now, on a full disk or a read-only file, never fail open(); skipped on
   * a LiteFS replica), then the timers.
   */
  async start(): Promise<void> {
    // It never waits for another connection's write lock (another process's migration, a long
    // transaction): open() would wait busyTimeout for statistics; it skips them then. The pool's
    // own request: not one of the caller's operations (stats().operations, observers).
    if (this.#guard.writable) await this.#context.requests.run({ op: Op.Exec, route: WRITER, sql: OPTIMIZE_AT_OPEN, noBusyWait: true, internal: true }).catch(() => undefined);
    this.#monitor?.start();
    this.#upkeep.start(this.#options.optimizeInterval);
    this.health?.start();
  }

  /** Stops the timers; resolves once a WAL check under way has finished. */
  async stop(): Promise<void> {
    this.#upkeep.stop();
    this.health?.stop();
    await this.#monitor?.stop();
  }

  /** The WAL figures of stats(). */
  walStats(): PoolStats['wal'] {
    const { bytes, frames } = readWalState(this.#options.file, this.#options.memory, this.#walIndex);
    return { bytes, frames, checkpoints: this.#checkpointer.count, lastCheckpointAt: this.#checkpointer.lastAt };
  }

  /** @internal One look of the WAL monitor now (tests); false when the monitor is off. */
  async checkWal(): Promise<boolean> {
    if (!this.#monitor) return false;
    await this.#monitor.check();
    return true;
  }

  /** `dest` of a copy, checked and resolved. */
  destination(dest: unknown): string {
    return checkDestination(dest, this.#options.file, this.#options.memory);
  }

  /**
   * A maintenance call of the caller's: close() waits for it, and stats().operations counts it
   * once (its requests are the pool's own); `signal`: the call's, if it takes one.
   */
  #call<T>(call: Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#running.track(countCall(this.#context.requests.counters, call, signal));
  }

  /** db.checkpoint(): refused on a LiteFS replica, and in the modes that restart the WAL under Litestream. */
  checkpoint(mode: CheckpointMode): Promise<CheckpointResult> {
    return this.#call(
      this.#checkpointer.run(mode, 'manual', undefined, () => {
        if (this.#options.replication === 'litestream' && (mode === 'restart' || mode === 'truncate')) {
          throw outOfRange(`checkpoint('${mode}') cannot be used with replication: 'litestream': Litestream owns the checkpoints that restart the WAL; use 'passive' or 'full'`);
        }
      }),
    );
  }

  /** The checkpoint close() ran, as the writer's Close request reported it (observers hear it). */
  closeCheckpointRan(cells: readonly number[] | undefined): void {
    const mode = this.#options.checkpointOnClose;
    if (mode !== false && !this.#options.memory) this.#checkpointer.closed(mode, cells);
  }

  /** db.backup(): a read of the database (allowed on a LiteFS replica), traced on `litepool:backup`. */
  backup(dest: string, settings: BackupSettings): Promise<BackupResult> {
    return this.#call(traceCopy(this.#context.observers, 'backup', dest, () => backup(this.#context, dest, settings, this.#busy)), settings.signal);
  }

  /** db.vacuumInto(): a read of the database too, traced on `litepool:backup`. */
  vacuumInto(dest: string): Promise<BackupResult> {
    return this.#call(traceCopy(this.#context.observers, 'vacuumInto', dest, () => vacuumInto(this.#context, dest)));
  }

  /** db.integrityCheck(): one entry of `problems` per problem (`problemsOf()`). */
  integrityCheck(options: { quick: boolean; maxErrors: number }): Promise<IntegrityCheckResult> {
    return this.#call(
      integrityCheck(this.#context, this.#options.acquireTimeout, options).then((result) =>
        result.ok ? result : { ok: false, problems: problemsOf(result.problems, options.maxErrors) },
      ),
    );
  }

  foreignKeyCheck(): Promise<ForeignKeyViolation[]> {
    return this.#call(foreignKeyCheck(this.#context, this.#options.acquireTimeout));
  }

  optimize(): Promise<void> {
    return this.#call(this.#upkeep.optimize());
  }

  analyze(): Promise<void> {
    return this.#call(this.#upkeep.analyze());
  }

  vacuum(incremental: number | undefined): Promise<void> {
    return this.#call(this.#upkeep.vacuum(incremental));
  }

  /** What an operation called without options runs with (the pool's queryTimeout). */
  get operationDefaults(): PoolContext['defaults'] {
    return this.#context.defaults;
  }

  ping(cancel: { signal: AbortSignal | undefined; timeout: number | undefined }): Promise<void> {
    return this.#call(this.#upkeep.ping(cancel), cancel.signal);
  }
}
