// Owns a set of operations still running that close() waits for (the pool's transactions,
// snapshots and leases, the toolkit's maintenance calls): each is forgotten once it settles.
// Runs on the JS thread.

/** Operations in flight, waited for as a whole. */
export class Pending {
  readonly #running = new Set<Promise<unknown>>();

  /** Counts `operation` until it settles; returns it unchanged. */
  track<T>(operation: Promise<T>): Promise<T> {
    this.#running.add(operation);
    const forget = () => this.#running.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  /** Resolves once every operation tracked so far, and every one tracked meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
