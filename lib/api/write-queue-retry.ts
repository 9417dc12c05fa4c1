// Owns the order of a write queue's entries under the pool's retry policy: an entry that failed
// with a transient error (SQLITE_BUSY) is retried before any entry accepted after it commits.
// Its failure stops the queue's other running entries (their attempts share a signal, aborted
// then; one that committed all the same stands), the queue hands nothing more over, and once the
// backoff passed and every running entry settled or waits, the oldest waiting goes again alone;
// once it settled (committed, or failed for good), the others go in acceptance order. (The writer
// moves on to its next group the moment one failed, so a group sent behind a failing one could
// commit before the JS thread stops it: the oldest goes alone so that none runs behind it.)
// Runs on the JS thread.

import type { RetryTurn } from '../connections/retry.ts';

/** The reason a running entry is stopped with while an earlier one is retried: never surfaces. */
const FENCE = new Error('stopped: an earlier entry of the write queue is retried first');

interface Parked {
  readonly seq: number;
  readonly wake: () => void;
}

export class RetryOrder {
  #seq = 0;
  #attempts = new AbortController();
  readonly #parked: Parked[] = [];
  #backoff: ReturnType<typeof setTimeout> | undefined;
  #backedOff = false;
  /** The oldest entry went again alone: the others wait here until it settled. */
  #probing = false;
  /** The waiting entries were woken, and go again in the microtasks that follow: the queue waits until then. */
  #waking = false;
  /** The queue's running entries (handed over, not settled), those waiting here included. */
  readonly #running: () => number;
  /** Told when the entries waiting here went again: the queue hands over more. */
  readonly #released: () => void;

  constructor(running: () => number, released: () => void) {
    this.#running = running;
    this.#released = released;
  }

  /** True while entries wait here to be retried: the queue hands no other entry over. */
  get holding(): boolean {
    return this.#parked.length > 0 || this.#probing || this.#waking;
  }

  /** The turn of an entry handed over now (after every entry handed over before). */
  turn(): RetryTurn {
    const seq = this.#seq++;
    const order = this;
    return {
      get signal() {
        return order.#attempts.signal;
      },
      fenced: (error) => error === FENCE,
      retry: (delay) => this.#park(seq, delay),
    };
  }

  /** An entry of the queue settled: the ones waiting may go once the rest did. */
  settled(): void {
    this.#check();
  }

  #park(seq: number, delay: number | undefined): Promise<void> {
    this.#probing = false;
    if (delay !== undefined) {
      // Failed: whatever of the queue runs now must not commit before it.
      const attempts = this.#attempts;
      this.#attempts = new AbortController();
      attempts.abort(FENCE);
    }
    if (this.#backoff === undefined && !this.#backedOff) {
      this.#backoff = setTimeout(() => {
        this.#backoff = undefined;
        this.#backedOff = true;
        this.#check();
      }, delay ?? 0);
    }
    return new Promise<void>((wake) => {
      const parked = this.#parked;
      let at = parked.length;
      while (at > 0 && parked[at - 1]!.seq > seq) at--;
      parked.splice(at, 0, { seq, wake });
      this.#check();
    });
  }

  /**
   * Once no entry of the queue runs but those waiting here: after the backoff, the oldest goes
   * again alone; once it settled, the others go, in order, and the queue hands over more.
   */
  #check(): void {
    if (this.#parked.length < this.#running()) return;
    if (this.#probing) {
      this.#probing = false;
      for (const { wake } of this.#parked.splice(0)) wake();
      // They are sent in the microtasks their wake-up runs; what the queue hands over comes after.
      this.#waking = true;
      setImmediate(() => {
        this.#waking = false;
        this.#released();
      });
      return;
    }
    if (!this.#backedOff) return;
    this.#backedOff = false;
    const oldest = this.#parked.shift();
    if (oldest === undefined) return this.#released();
    this.#probing = true;
    oldest.wake();
  }
}
