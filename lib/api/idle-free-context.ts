// Owns IdleFreeContext: an AsyncLocalStorage that is switched on only while code runs inside it.
// On Node 20 an enabled AsyncLocalStorage installs promise hooks that cost every promise of the
// process (about 0.3 µs each, measured), so the pool keeps none enabled while no migration run
// (migration-runs.ts) is in progress: it disables the storage when its last run settles, and the
// next run enables it again. Runs on the JS thread.

import { AsyncLocalStorage } from 'node:async_hooks';

/** A value known to the code a run starts, switched off while no run is in progress. */
export class IdleFreeContext<T> {
  readonly #storage: AsyncLocalStorage<T>;
  /** Runs not settled yet. */
  #active = 0;

  constructor(storage = new AsyncLocalStorage<T>()) {
    this.#storage = storage;
  }

  /**
   * Runs `fn` with `value` as the current value for everything it starts, until what it returns
   * settles. Continuations left behind after that may see no value (the storage may be off).
   */
  run<R>(value: T, fn: () => R): R {
    this.#active++;
    let result: R;
    try {
      result = this.#storage.run(value, fn);
    } catch (error) {
      this.#settled();
      throw error;
    }
    const settled = () => this.#settled();
    Promise.resolve(result).then(settled, settled);
    return result;
  }

  /** The value of the run the calling code belongs to, if any still known. */
  get current(): T | undefined {
    return this.#active === 0 ? undefined : this.#storage.getStore();
  }

  #settled(): void {
    if (--this.#active === 0) this.#storage.disable();
  }
}
