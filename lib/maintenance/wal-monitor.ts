// Owns the WAL monitor: every `intervalMs` it reads the WAL's state from its files, runs a
// passive checkpoint once more than `checkpointBytes` wait to be checkpointed, reports a `warn`
// event when the -wal file passes `warnBytes`, and a `pinned` event naming what this pool holds
// open (a read() snapshot, a read lease, an iteration, and since when) when checkpoints cannot
// progress (onWal, through the observer hub). Runs on the JS thread.

import { describeHolder, type Holder, type Holders } from '../connections/holders.ts';
import type { ObserverHub } from '../observers/hub.ts';
import { reportWal } from '../observers/operations-trace.ts';
import type { Checkpointer } from './checkpoint.ts';
import type { WalState } from './wal-file.ts';

/** The monitor's settings, checked (input/options.ts). */
export interface WalMonitorSettings {
  readonly warnBytes: number;
  readonly checkpointBytes: number;
  readonly intervalMs: number;
  /** False under `replication: 'litestream'`, which owns the checkpoints: the monitor only warns. */
  readonly checkpoints: boolean;
}

export class WalMonitor {
  readonly #settings: WalMonitorSettings;
  readonly #walState: () => WalState;
  readonly #refresh: () => Promise<void> | undefined;
  /** The -wal file's size and time at the last look: when they changed, the WAL index is read again. */
  #lastFile = '';
  /** The writer reading the WAL index again, while it does. */
  #refreshing: Promise<void> | undefined;
  readonly #checkpointer: Checkpointer;
  readonly #holders: Holders;
  readonly #hub: ObserverHub;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;
  /** A warn event was sent and the WAL has not fallen below warnBytes since. */
  #warned = false;
  /** Monitor checkpoints in a row that left frames behind. */
  #stuck = 0;
  /** The holders already reported pinned (each once); `null` stands for "none of ours". */
  readonly #reported = new Set<Holder | null>();

  /**
   * `walState`: what the WAL files say now (wal-file.ts); `refresh`: has the writer thread read
   * the WAL index again (a trivial request), for writes of other processes; undefined when it
   * cannot now (a transaction or lease holds the writer: tried again at the next look).
   */
  constructor(settings: WalMonitorSettings, walState: () => WalState, refresh: () => Promise<void> | undefined, checkpointer: Checkpointer, holders: Holders, hub: ObserverHub) {
    this.#settings = settings;
    this.#walState = walState;
    this.#refresh = refresh;
    this.#checkpointer = checkpointer;
    this.#holders = holders;
    this.#hub = hub;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.check().finally(() => {
        this.#running = undefined;
      });
    }, this.#settings.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer; resolves once a check under way has finished. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#refreshing;
  }

  /** One look at the WAL (what the timer runs). Never rejects. */
  async check(): Promise<void> {
    try {
      let state = this.#walState();
      // The -wal file changed (writes of another process, too; its modification time also tells
      // a log started over at the same size): the writer reads the index again, for the next look
      // (not awaited: a transaction holding the writer must not hold the warning up).
      const file = `${state.bytes}@${state.modifiedMs}`;
      const refresh = file !== this.#lastFile && this.#refreshing === undefined ? this.#refresh() : undefined;
      if (refresh !== undefined) {
        this.#refreshing = refresh.then(
          () => void (this.#lastFile = file),
          () => undefined,
        );
        void this.#refreshing.finally(() => (this.#refreshing = undefined));
      }
      if (state.bytes >= this.#settings.warnBytes) {
        if (!this.#warned) {
          this.#warned = true;
          reportWal(this.#hub, { kind: 'warn', walBytes: state.bytes, ...this.#heldBy(this.#holders.oldestReader()) });
        }
      } else {
        this.#warned = false;
      }
      const pending = (state.frames - state.backfilled) * state.frameBytes;
      // Under Litestream, and while this node is a LiteFS replica, the monitor only warns.
      if (!this.#settings.checkpoints || !this.#checkpointer.writable) return;
      if (pending < this.#settings.checkpointBytes) {
        if (pending === 0) this.#resolved();
        return;
      }
      const result = await this.#checkpointer.run('passive', 'monitor');
      if (result.checkpointedFrames >= result.walFrames) {
        this.#resolved();
        return;
      }
      // Two checkpoints in a row left frames behind: a reader holds an old snapshot.
      if (++this.#stuck < 2) return;
      state = this.#walState();
      this.#pinned(state);
    } catch {
      // The writer is busy replacing its connection or the pool is closing: try again next time.
    }
  }

  #pinned(state: WalState): void {
    const holder = this.#holders.oldestReader() ?? null;
    if (this.#reported.has(holder)) return;
    this.#reported.add(holder);
    reportWal(this.#hub, { kind: 'pinned', walBytes: state.bytes, ...this.#heldBy(holder ?? undefined) });
  }

  /** Checkpoints caught up: a later pin is news again. */
  #resolved(): void {
    this.#stuck = 0;
    this.#reported.clear();
  }

  #heldBy(holder: Holder | undefined): { heldBy?: string; heldMs?: number } {
    return holder ? { heldBy: describeHolder(holder), heldMs: Date.now() - holder.since } : {};
  }
}
