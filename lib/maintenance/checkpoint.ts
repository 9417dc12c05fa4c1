// Owns the checkpoints the pool runs (db.checkpoint(), the WAL monitor, vacuum()): the mode
// check, the request to the writer, the count and time of the last one, and the checkpoint
// event. Runs on the JS thread; the checkpoint itself runs on the writer thread, in line with
// the writes.

import { checkChoice } from '../input/validate.ts';
import { CheckpointMode as NativeMode, Op } from '../native/contract.ts';
import type { RequestRunner } from '../request/requests.ts';
import { WRITER, type Route } from '../request/route.ts';
import type { CheckpointMode, CheckpointResult } from '../operations-types.ts';
import type { OperationEvents } from './events.ts';

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

export class Checkpointer {
  readonly #requests: RequestRunner;
  readonly #events: OperationEvents;
  readonly #memory: boolean;
  /** Checkpoints run by this pool. */
  count = 0;
  /** `Date.now()` when the last one finished. */
  lastAt: number | null = null;

  constructor(requests: RequestRunner, events: OperationEvents, memory: boolean) {
    this.#requests = requests;
    this.#events = events;
    this.#memory = memory;
  }

  /** Runs one checkpoint on the writer (`route`: inside a writer session, or in line). */
  async run(mode: CheckpointMode, route: Route = WRITER): Promise<CheckpointResult> {
    const started = performance.now();
    let result: CheckpointResult;
    if (this.#memory) {
      result = { busy: false, walFrames: 0, checkpointedFrames: 0 };
    } else {
      const [busy = 0, log = 0, done = 0] = await this.#requests.run({ op: Op.Checkpoint, route, chunkRows: NATIVE_MODES[mode], internal: true });
      // -1 and -1: the database is not in WAL mode.
      result = { busy: busy !== 0, walFrames: Math.max(0, log), checkpointedFrames: Math.max(0, done) };
    }
    this.count++;
    this.lastAt = Date.now();
    this.#events.checkpoint({ ...result, mode, durationMs: performance.now() - started });
    return result;
  }
}
