// Owns what the connection keeper and the health probe of one pool share: which connections the
// keeper is dealing with (a replacement running, or a retry waiting) and which it holds out of
// service, and how long each connection has been idle not counting the probe's own reads (a probe
// is not use: idleTimeout still replaces a connection that only the probe touched). Runs on the
// JS thread.

import { performance } from 'node:perf_hooks';
import type { PoolContext } from '../api/context.ts';
import { WRITER_WORKER } from '../native/contract.ts';

/**
 * How much later than the end of a probe, as the JS thread saw it, the worker may record that
 * probe as its last use (it stamps the time after publishing the result): activity within this
 * margin of a probe's end counts as the probe.
 */
const PROBE_MARGIN_MS = 25;

const states = new WeakMap<PoolContext, HealthState>();

export class HealthState {
  /** Milliseconds each worker has been idle as the addon counts it: readers in order, then the writer. */
  readonly #idleMillis: () => readonly number[];
  readonly #readers: number;
  /** Workers with a replacement running or a retry waiting. */
  readonly busy = new Set<number>();
  /** Connections held out of service (a replacement failed), with the failure. */
  readonly outOfService = new Map<number, unknown>();
  /** Per worker (by index: readers, then the writer): its last use before its last probe, and that probe's end. */
  readonly #usedBeforeProbe: (number | undefined)[] = [];
  readonly #probeEnded: (number | undefined)[] = [];

  /** The state of `context`'s pool (one per pool, shared by its keeper and its probe). */
  static of(context: PoolContext, idleMillis: () => readonly number[], readers: number): HealthState {
    let state = states.get(context);
    if (!state) {
      state = new HealthState(idleMillis, readers);
      states.set(context, state);
    }
    return state;
  }

  private constructor(idleMillis: () => readonly number[], readers: number) {
    this.#idleMillis = idleMillis;
    this.#readers = readers;
  }

  /** Readers held out of service now. */
  get readersOutOfService(): number {
    return this.outOfService.size - (this.outOfService.has(WRITER_WORKER) ? 1 : 0);
  }

  /** True when no reader is in service (every one held out; never for a pool without readers). */
  get noReaderInService(): boolean {
    return this.#readers > 0 && this.readersOutOfService === this.#readers;
  }

  /** The keeper neither replaces `worker` now nor holds it out of service. */
  available(worker: number): boolean {
    return !this.busy.has(worker) && !this.outOfService.has(worker);
  }

  /** Milliseconds each worker has been idle as the addon counts it (the probe's reads count as use). */
  rawIdle(): readonly number[] {
    return this.#idleMillis();
  }

  /** Milliseconds each worker has been idle, the probe's reads not counted: readers, then the writer. */
  idle(raw: readonly number[] = this.#idleMillis()): number[] {
    const now = performance.now();
    return raw.map((millis, index) => {
      const ended = this.#probeEnded[index];
      const before = this.#usedBeforeProbe[index];
      if (ended === undefined || before === undefined) return millis;
      // Used since the probe (the addon's last use is later than the probe's end): real use.
      if (now - millis > ended + PROBE_MARGIN_MS) {
        this.#probeEnded[index] = undefined;
        this.#usedBeforeProbe[index] = undefined;
        return millis;
      }
      return now - before;
    });
  }

  /** A probe of `worker` begins (`idle`: as idle() counts it now): the time of its last use so far is kept. */
  probeStarted(worker: number, idle: number): void {
    const index = this.#index(worker);
    this.#usedBeforeProbe[index] = performance.now() - idle;
    this.#probeEnded[index] = undefined;
  }

  /** The probe of `worker` ended (settled on the JS thread). */
  probeEnded(worker: number): void {
    const index = this.#index(worker);
    if (this.#usedBeforeProbe[index] !== undefined) this.#probeEnded[index] = performance.now();
  }

  /** What idle() counts for `worker` in `idle` (an idle() result). */
  idleOf(idle: readonly number[], worker: number): number {
    return idle[this.#index(worker)] ?? 0;
  }

  /** `worker`'s connection was replaced: its new connection's use starts over. */
  replaced(worker: number): void {
    const index = this.#index(worker);
    this.#usedBeforeProbe[index] = undefined;
    this.#probeEnded[index] = undefined;
  }

  #index(worker: number): number {
    return worker === WRITER_WORKER ? this.#readers : worker;
  }
}
