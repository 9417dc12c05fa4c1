// Owns the checkpoints the pool runs (db.checkpoint(), the WAL monitor, vacuum(), and the report
// of the one close() runs): the mode check, the request to the writer, the count and time of the
// last one, and their observation (onCheckpoint, the `litepool:checkpoint` channel). Runs on the
// JS thread; the checkpoint itself runs on the writer thread, in line with the writes.

import { checkChoice } from '../input/validate.ts';
import { CheckpointMode as NativeMode, Op } from '../native/contract.ts';
import type { ObserverHub } from '../observers/hub.ts';
import { reportCheckpoint, traceCheckpoint } from '../observers/operations-trace.ts';
import type { RequestRunner } from '../request/requests.ts';
import { WRITER, type Route } from '../request/route.ts';
import type { CheckpointMode, CheckpointResult, CheckpointSource } from '../types.ts';
import type { MaintenanceGuard } from './replica-guard.ts';

export const CHECKPOINT_MODES = ['passive', 'full', 'restart', 'truncate'] as const satisfies readonly CheckpointMode[];

const NATIVE_MODES: Record<CheckpointMode, NativeMode> = {
  passive: NativeMode.Passive,
  full: NativeMode.Full,
  restart: NativeMode.Restart,
  truncate: NativeMode.Truncate,
};

/** `mode` checked: one of the four modes (default 'passive'). */
export function checkCheckpointMode(mode: unknown): CheckpointMode {
  return mode === undefined ? 'passive' : checkChoice('mode', mode, CHECKPOINT_MODES);
}

/** busy, log and checkpointed frames as SQLite reports them (-1, -1: not in WAL mode). */
function resultOf(busy: number, log: number, done: number): CheckpointResult {
  return { busy: busy !== 0, walFrames: Math.max(0, log), checkpointedFrames: Math.max(0, done) };
}

export class Checkpointer {
  readonly #requests: RequestRunner;
  readonly #hub: ObserverHub;
  readonly #memory: boolean;
  readonly #guard: MaintenanceGuard;
  /** Checkpoints run by this pool. */
  count = 0;
  /** `Date.now()` when the last one finished. */
  lastAt: number | null = null;

  constructor(requests: RequestRunner, hub: ObserverHub, memory: boolean, guard: MaintenanceGuard) {
    this.#requests = requests;
    this.#hub = hub;
    this.#memory = memory;
    this.#guard = guard;
  }

  /** False while this node is a LiteFS replica: the WAL monitor then runs no checkpoint. */
  get writable(): boolean {
    return this.#guard.writable;
  }

  /**
   * Runs one checkpoint on the writer (`route`: inside a writer session, or in line), observed as
   * coming from `source`. `refuse` (if given) runs first, inside the tracing: it may throw to
   * refuse the checkpoint; a LiteFS replica refuses it too.
   */
  run(mode: CheckpointMode, source: CheckpointSource, route: Route = WRITER, refuse?: () => void): Promise<CheckpointResult> {
    return traceCheckpoint(this.#hub, mode, source, async () => {
      refuse?.();
      let result: CheckpointResult;
      if (this.#memory) {
        // An in-memory database has no WAL: nothing to run, nothing counted (stats().wal stays 0).
        result = { busy: false, walFrames: 0, checkpointedFrames: 0 };
      } else {
        const run = () => this.#requests.run({ op: Op.Checkpoint, route, chunkRows: NATIVE_MODES[mode], internal: true });
        const [busy = 0, log = 0, done = 0] = await this.#guard.write(run);
        result = resultOf(busy, log, done);
        this.#counted();
      }
      return result;
    });
  }

  /**
   * The checkpoint close() ran on the writer (`checkpointOnClose`), as its Close request reported
   * it: busy, log frames, checkpointed frames and its µs (nothing when it did not run or failed).
   */
  closed(mode: 'passive' | 'truncate', cells: readonly number[] | undefined): void {
    if (cells === undefined || cells.length < 4) return;
    const [busy = 0, log = 0, done = 0, micros = 0] = cells;
    this.#counted();
    reportCheckpoint(this.#hub, { ...resultOf(busy, log, done), mode, source: 'close', durationMs: micros / 1000 });
  }

  #counted(): void {
    this.count++;
    this.lastAt = Date.now();
  }
}
