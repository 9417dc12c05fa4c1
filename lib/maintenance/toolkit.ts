// Owns the operations toolkit of one pool, behind the Pool's maintenance methods: checkpoints and
// the WAL monitor, copies (backup, vacuumInto), integrity checks, upkeep (optimize, analyze,
// vacuum, ping), db.schema, and the WAL figures of stats(). Starts its timers once the pool is
// open and stops them when it closes. Runs on the JS thread.

import type { PoolContext } from '../api/context.ts';
import { outOfRange } from '../errors.ts';
import type { HealthProbe } from '../connections/health-probe.ts';
import type { ResolvedOptions } from '../input/options.ts';
import type { BackupResult, ForeignKeyViolation, IntegrityCheckResult } from '../operations-types.ts';
import type { CheckpointMode, CheckpointResult } from '../operations-types.ts';
import type { PoolStats } from '../types.ts';
import { backup, type BackupSettings } from './backup.ts';
import { Checkpointer } from './checkpoint.ts';
import { checkDestination, vacuumInto } from './copies.ts';
import { OperationEvents } from './events.ts';
import { foreignKeyCheck, integrityCheck } from './integrity.ts';
import { Schema, type SchemaHost } from './schema.ts';
import { OPTIMIZE_AT_OPEN, Upkeep, execOnWriter } from './upkeep.ts';
import { readWalState } from './wal-file.ts';
import { WalMonitor } from './wal-monitor.ts';

export class Toolkit {
  readonly events = new OperationEvents();
  readonly #context: PoolContext;
  readonly #options: ResolvedOptions;
  readonly #checkpointer: Checkpointer;
  readonly #upkeep: Upkeep;
  readonly #monitor: WalMonitor | undefined;
  readonly schema: Schema;
  /** @internal The health probe, when `healthCheck` is on (tests reach it here). */
  readonly health: HealthProbe | undefined;

  readonly #busy: () => boolean;

  /** `busy()`: true while requests of the pool are in flight or queued (backups yield to them). */
  constructor(context: PoolContext, options: ResolvedOptions, schemaHost: SchemaHost, health: HealthProbe | undefined, busy: () => boolean) {
    this.health = health;
    this.#busy = busy;
    this.#context = context;
    this.#options = options;
    this.#checkpointer = new Checkpointer(context.requests, this.events, options.memory);
    // Under Litestream no checkpoint may restart the WAL: vacuum() ends with a passive one.
    this.#upkeep = new Upkeep(context, this.#checkpointer, options.acquireTimeout, options.replication === 'litestream' ? 'passive' : 'truncate');
    const litestream = options.replication === 'litestream';
    this.#monitor = options.walMonitor
      ? new WalMonitor({ ...options.walMonitor, checkpoints: !litestream }, options.path, this.#checkpointer, context.holders, this.events)
      : undefined;
    this.schema = new Schema(schemaHost);
  }

  #refused: (() => Error) | undefined;

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
   * that cannot be written now, on a full disk or a read-only file, never fail open()), then the
   * timers.
   */
  async start(): Promise<void> {
    await execOnWriter(this.#context, OPTIMIZE_AT_OPEN).catch(() => undefined);
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
    const { bytes, frames } = readWalState(this.#options.path, this.#options.memory);
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
    return checkDestination(dest, this.#options.path, this.#options.memory);
  }

  checkpoint(mode: CheckpointMode): Promise<CheckpointResult> {
    if (this.#options.replication === 'litestream' && (mode === 'restart' || mode === 'truncate')) {
      throw outOfRange(`checkpoint('${mode}') cannot be used with replication: 'litestream': Litestream owns the checkpoints that restart the WAL; use 'passive' or 'full'`);
    }
    return this.#checkpointer.run(mode);
  }

  backup(dest: string, settings: BackupSettings): Promise<BackupResult> {
    return this.#reported('backup', dest, () => backup(this.#context, dest, settings, this.#busy));
  }

  vacuumInto(dest: string): Promise<BackupResult> {
    return this.#reported('vacuumInto', dest, () => vacuumInto(this.#context, dest));
  }

  /** Runs a copy and reports it (backup event) whether it succeeds or fails. */
  async #reported(kind: 'backup' | 'vacuumInto', dest: string, copy: () => Promise<BackupResult>): Promise<BackupResult> {
    const started = performance.now();
    try {
      const result = await copy();
      this.events.backup({ kind, dest, ...result });
      return result;
    } catch (error) {
      this.events.backup({ kind, dest, pages: 0, durationMs: performance.now() - started, error });
      throw error;
    }
  }

  integrityCheck(options: { quick: boolean; maxErrors: number }): Promise<IntegrityCheckResult> {
    return integrityCheck(this.#context, this.#options.acquireTimeout, options);
  }

  foreignKeyCheck(): Promise<ForeignKeyViolation[]> {
    return foreignKeyCheck(this.#context, this.#options.acquireTimeout);
  }

  optimize(): Promise<void> {
    return this.#upkeep.optimize();
  }

  analyze(): Promise<void> {
    return this.#upkeep.analyze();
  }

  vacuum(incremental: number | undefined): Promise<void> {
    return this.#upkeep.vacuum(incremental);
  }

  ping(): Promise<void> {
    return this.#upkeep.ping();
  }
}
