// Owns the calls of one transaction (get, all, run, exec, batch, a nested transaction, each pull
// of an iteration: next(), return(), throw()) from the
// call until they settle, and which failure of theirs fails the transaction: one the callback
// never took (awaited, or handled with then, catch or finally), whenever it happened, and any that
// happened once the transaction waited for its calls still running. Such a failure reaches the
// caller through the transaction's own rejection, never as an unhandled rejection.
// Runs on the JS thread.

import type { CallTracker } from './scope.ts';

/** A call's promise, noting whether the callback took its outcome (await, then, catch and finally all call then). */
class CallPromise<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }
  taken = false;
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.taken = true;
    return super.then(onFulfilled, onRejected);
  }
}

interface Failure {
  readonly call: CallPromise<unknown>;
  readonly error: unknown;
  /** It failed once the transaction waited for its calls (settle()). */
  readonly late: boolean;
}

/** @internal The calls of a transaction, counted until they settle, and their failures. */
export class RunningCalls implements CallTracker {
  #running = 0;
  /** True from settle() on: a call failing now fails the transaction. */
  #waiting = false;
  readonly #failures: Failure[] = [];
  /** Wakes settle() once no call runs or one failed. */
  #wake: (() => void) | undefined;

  /** `call` as the caller gets it: counted until it settles. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#running++;
    let tracked!: CallPromise<T>;
    const settled = (): void => {
      if (--this.#running === 0) this.#wake?.();
    };
    tracked = new CallPromise<T>((resolve, reject) => {
      call.then(
        (value) => {
          settled();
          resolve(value);
        },
        (error: unknown) => {
          this.#failures.push({ call: tracked as CallPromise<unknown>, error, late: this.#waiting });
          // Handled without being taken: if it fails the transaction, its error reaches the caller
          // through the transaction's rejection.
          Promise.prototype.then.call(tracked, undefined, ignore);
          reject(error);
          if (this.#waiting) this.#wake?.();
          settled();
        },
      );
    });
    return tracked;
  }

  /** The first failure that fails the transaction, if one happened. */
  #failing(): Failure | undefined {
    return this.#failures.find((failure) => failure.late || !failure.call.taken);
  }

  /**
   * Once the callback resolved: undefined when no call runs and none failed unseen (nothing to
   * wait for), else a promise that resolves once none runs (calls those calls' continuations make
   * count too) and rejects with the error of the first failure that fails the transaction.
   */
  settle(): Promise<void> | undefined {
    const failure = this.#failing();
    if (failure !== undefined) return Promise.reject(failure.error);
    if (this.#running === 0) return undefined;
    this.#waiting = true;
    return this.#settling();
  }

  async #settling(): Promise<void> {
    while (this.#running > 0 && this.#failing() === undefined) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
      // A turn of the event loop: a call made by a continuation of the ones that just settled
      // (tx.run(a).then(() => tx.run(b))) is running by then.
      if (this.#failing() === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const failure = this.#failing();
    if (failure !== undefined) throw failure.error;
    // Nothing ran at the last look; a call made later (the scope ends next) is the caller's own.
    this.#waiting = false;
  }
}

function ignore(): void {}
