// Owns one pending acquisition (of the writer, a reader pin or a queue slot): a promise that
// settles exactly once, when granted, when its timeout passes, when its signal aborts, or when
// what it waits for cannot come (fail()).
// Runs on the JS thread.

import { AcquireTimeoutError } from '../errors.ts';
import { watchAbort } from '../request/abort-watch.ts';

export class Waiter<T> {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #reject!: (reason: unknown) => void;
  #settled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Stops watching the signal (abort-watch.ts: one listener per signal, however many wait on it). */
  #unwatch: (() => void) | undefined;

  /** `onGiveUp` runs when the waiter times out or is aborted (to drop it from its queue). */
  constructor(timeout: number | undefined, signal: AbortSignal | undefined, what: string, onGiveUp: (waiter: Waiter<T>) => void) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal?.aborted) {
      this.#finish(false, signal.reason);
      return;
    }
    if (timeout !== undefined) {
      this.#timer = setTimeout(() => {
        if (this.#finish(false, new AcquireTimeoutError(timeout, what))) onGiveUp(this);
      }, timeout);
    }
    if (signal) {
      this.#unwatch = watchAbort(signal, () => {
        if (this.#finish(false, signal.reason)) onGiveUp(this);
      });
    }
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Grants the acquisition; false when the waiter already gave up. */
  grant(value: T): boolean {
    return this.#finish(true, value);
  }

  /** Refuses the acquisition with `reason` (what it waited for cannot come); false when already settled. */
  fail(reason: unknown): boolean {
    return this.#finish(false, reason);
  }

  #finish(ok: boolean, value: unknown): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#unwatch?.();
    if (ok) this.#resolve(value as T);
    else this.#reject(value);
    return true;
  }
}
