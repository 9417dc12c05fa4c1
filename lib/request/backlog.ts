// Owns the requests that wait on the JS side for a native slot (the dispatcher's backlog) and the
// share of the slots that requests for the shared reader ring may hold. Runs on the JS thread.
//
// A request keeps its slot from submit until its completion is drained, and a request in the
// shared reader ring waits there as long as every reader is busy or pinned (by a lease, a
// snapshot, an iteration): with one reader, for as long as a lease holds it. A read cancelled
// there settles at once (dispatcher.ts) but keeps its slot until a reader pops it. Were that
// ring allowed every slot, it could take them all, and nothing could be submitted any more: not
// the lease's own queries, not its release (Unpin), not a write, not close(): the pool would hang
// for good. So requests for the shared ring hold at most SHARED_SHARE of the slots; the rest stays
// for the requests that always make progress: the writer's (it runs its ring in order, waiting
// for no other connection), a pinned reader's (it serves its own ring alone) and the control
// requests among them (Unpin, Reset, IterateEnd, the writer's Close). Writes without a session
// while a session holds the writer wait at the writer gate, not in slots. Requests for the shared
// ring beyond their share wait here, in order; when slots free up, the others waiting go first.
// A cancelled request is taken out at once: it never takes a slot.

import { Target } from '../native/contract.ts';
import { Fifo } from './fifo.ts';
import { JobState, type Job } from './job.ts';

/** Native slots of a pool (NativePoolConfig.slots): most requests in flight in native code at once. */
export const NATIVE_SLOTS = 4096;

/** The part of the slots requests for the shared reader ring may hold (the rest is kept for the others). */
export const SHARED_SHARE = 0.75;

export class Backlog {
  /** Requests for the writer or a pinned reader, waiting for a free slot, in order. */
  readonly #others = new Fifo<Job>();
  /** Requests for the shared reader ring, waiting for a free slot within their share, in order. */
  readonly #shared = new Fifo<Job>();
  /** Slots held by requests for the shared reader ring (a settled one too, until its completion). */
  #sharedHeld = 0;
  readonly #sharedMax: number;

  constructor(slots: number) {
    this.#sharedMax = Math.max(1, Math.floor(slots * SHARED_SHARE));
  }

  get length(): number {
    return this.#others.length + this.#shared.length;
  }

  /** Slots held by requests for the shared reader ring. */
  get sharedHeld(): number {
    return this.#sharedHeld;
  }

  /** True when `job` must wait here: others wait before it, or it is for the shared ring and that is at its share. */
  mustWait(job: Job): boolean {
    if (this.#others.length !== 0) return true;
    return job.target === Target.Readers && (this.#shared.length !== 0 || this.#sharedHeld >= this.#sharedMax);
  }

  /** `job` waits here (in its line) until pump() submits it. */
  add(job: Job): void {
    const line = job.target === Target.Readers ? this.#shared : this.#others;
    job.waitsIn = line;
    line.push(job);
  }

  /** Takes out every request waiting for the shared reader ring (no reader serves it), in order. */
  takeShared(): Job[] {
    const taken: Job[] = [];
    for (let job = this.#shared.shift(); job !== undefined; job = this.#shared.shift()) {
      job.waitsIn = undefined;
      taken.push(job);
    }
    return taken;
  }

  /** Takes `job` out (it was cancelled); false when it was not waiting here. */
  remove(job: Job): boolean {
    const line = job.waitsIn;
    if (line === undefined) return false;
    job.waitsIn = undefined;
    return line.remove(job);
  }

  /** `job` took a slot. */
  took(job: Job): void {
    if (job.target === Target.Readers) this.#sharedHeld++;
  }

  /** The slot `job` held is free again (its completion came). */
  freed(job: Job): void {
    if (job.target === Target.Readers) this.#sharedHeld--;
  }

  /**
   * Hands waiting jobs to `submit`, in order, while it takes them (false: no slot is free): the
   * others first, then those for the shared ring within their share. A settled job is dropped.
   */
  pump(submit: (job: Job) => boolean): void {
    if (!this.#drain(this.#others, submit, false)) return;
    this.#drain(this.#shared, submit, true);
  }

  /** Submits from `line` until it is empty (true) or a job could not go (false). */
  #drain(line: Fifo<Job>, submit: (job: Job) => boolean, shared: boolean): boolean {
    while (line.length > 0) {
      const job = line.peek()!;
      if (job.state !== JobState.Settled) {
        if (shared && this.#sharedHeld >= this.#sharedMax) return false;
        if (!submit(job)) return false;
      }
      line.shift();
      job.waitsIn = undefined;
    }
    return true;
  }
}
