// Owns the pace at which completion batches are taken (the turn budget). Runs on the JS thread.
//
// After every batch the addon announces no more completions until poll() runs. Batches that
// keep coming are taken back to back (poll as a microtask) while this turn of the event loop is
// young; after TURN_BUDGET_MS or TURN_BUDGET_COMPLETIONS the next batch waits for the next turn
// (setImmediate), after timers and I/O had theirs.

/** How long, and for how many completions, batches may follow each other in one event-loop turn. */
export const TURN_BUDGET_MS = 0.5;
export const TURN_BUDGET_COMPLETIONS = 1024;

export class Pacer {
  readonly #poll: () => void;
  readonly #now: () => number;
  /** A poll of the addon is scheduled. */
  #scheduled = false;
  /** When the batches of this turn of the event loop began (0: no batch yet), and how many. */
  #turnStart = 0;
  #turnCompletions = 0;

  /** `poll` re-arms the addon's announcements (or delivers the next batch at once). */
  constructor(poll: () => void, now: () => number = () => performance.now()) {
    this.#poll = poll;
    this.#now = now;
  }

  /** A batch of `count` completions was taken: schedules the poll that lets the next one come. */
  afterBatch(count: number): void {
    this.#turnCompletions += count;
    if (this.#scheduled) return;
    this.#scheduled = true;
    const now = this.#now();
    if (this.#turnStart === 0) this.#turnStart = now;
    if (now - this.#turnStart < TURN_BUDGET_MS && this.#turnCompletions < TURN_BUDGET_COMPLETIONS) {
      queueMicrotask(this.#run);
    } else {
      this.#endTurn();
      setImmediate(this.#run);
    }
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    this.#poll();
    // Nothing was waiting: the workers announce the next completion, on a later turn.
    if (!this.#scheduled) this.#endTurn();
  };

  #endTurn(): void {
    this.#turnStart = 0;
    this.#turnCompletions = 0;
  }
}
