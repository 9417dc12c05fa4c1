// Owns the call order of requests whose submission must wait for something first: an operation
// whose statement plan an observer asks for is submitted only once the plan is known, and the
// requests called after it (on the same connection: a scope's, or with the same place in the
// writer's line) must not overtake it. Runs on the JS thread.

import { Fifo } from './fifo.ts';

/** One request waiting for its turn to be submitted. */
interface Slot {
  ready: boolean;
  go: () => void;
}

export class SubmissionOrder {
  readonly #waiting = new Fifo<Slot>();
  readonly #counted: ((change: 1 | -1) => void) | undefined;

  /** `counted`: told of each request that starts (1) and stops (-1) waiting here. */
  constructor(counted?: (change: 1 | -1) => void) {
    this.#counted = counted;
  }

  /** True when nothing waits: a request may be submitted at once. */
  get clear(): boolean {
    return this.#waiting.length === 0;
  }

  /**
   * Runs `submit` once `ready` (if given) resolved and everything called before was submitted,
   * then `done` (also when `ready` rejects: the result then rejects with that error and nothing
   * is submitted).
   */
  submit<T>(ready: Promise<void> | undefined, submit: () => Promise<T>, done: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const slot: Slot = {
        ready: ready === undefined,
        go: () => {
          try {
            resolve(submit());
          } catch (error) {
            reject(error);
          } finally {
            done();
          }
        },
      };
      this.#waiting.push(slot);
      this.#counted?.(1);
      if (ready === undefined) {
        this.#drain();
        return;
      }
      ready.then(
        () => {
          slot.ready = true;
          this.#drain();
        },
        (error: unknown) => {
          slot.ready = true;
          slot.go = () => {
            reject(error);
            done();
          };
          this.#drain();
        },
      );
    });
  }

  /** Submits the waiting requests whose turn has come, in order. */
  #drain(): void {
    for (let next = this.#waiting.peek(); next !== undefined && next.ready; next = this.#waiting.peek()) {
      this.#waiting.shift();
      this.#counted?.(-1);
      next.go();
    }
  }
}
