// Owns what the dispatcher's progress means for the process and for idle(): the addon is
// referenced (it keeps the event loop alive) while a request is in native hands and unreferenced
// once none is, and the idle() waits end once nothing is in flight or queued. The dispatcher keeps
// the counts and tells this of every change that may matter. Runs on the JS thread.

import type { NativePool } from '../native/native-pool.ts';

export class KeepAlive {
  readonly #native: Pick<NativePool, 'ref' | 'unref'>;
  #referenced = true;
  #idleWaiters: (() => void)[] = [];

  constructor(native: Pick<NativePool, 'ref' | 'unref'>) {
    this.#native = native;
  }

  /** A request went to the addon: the process stays alive until it completes. */
  busy(): void {
    this.#reference(true);
  }

  /** Resolves once progress() finds nothing in flight and nothing queued (at once when that is so now). */
  idle(inFlight: number, queued: number): Promise<void> {
    if (inFlight === 0 && queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** With nothing in flight the process may exit; with nothing queued either, the idle() waits end. */
  progress(inFlight: number, queued: number): void {
    if (inFlight !== 0) return;
    this.#reference(false);
    if (queued !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  #reference(on: boolean): void {
    if (this.#referenced === on) return;
    this.#referenced = on;
    on ? this.#native.ref() : this.#native.unref();
  }
}
