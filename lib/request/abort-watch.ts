// Owns litepool's listening to AbortSignals: one 'abort' listener per signal, however many
// operations, transactions and waits watch it, so a signal shared by many concurrent calls never
// collects a listener per call (nor Node's MaxListenersExceededWarning past 10). The listener is
// removed once nothing watches the signal. Runs on the JS thread.

/** What watches one signal, in the order they started watching. */
interface Watchers {
  readonly callbacks: Set<{ readonly call: () => void }>;
  readonly listener: () => void;
}

const watched = new WeakMap<AbortSignal, Watchers>();

/**
 * Calls `onAbort` once when `signal` aborts (never when it had aborted before: check `aborted`
 * first). Returns the function that stops watching; calling it again does nothing.
 */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let watchers = watched.get(signal);
  if (watchers === undefined) {
    const callbacks = new Set<{ readonly call: () => void }>();
    const listener = (): void => {
      watched.delete(signal);
      const all = [...callbacks];
      callbacks.clear();
      for (const entry of all) entry.call();
    };
    watchers = { callbacks, listener };
    watched.set(signal, watchers);
    signal.addEventListener('abort', listener, { once: true });
  }
  const entry = { call: onAbort };
  const { callbacks, listener } = watchers;
  callbacks.add(entry);
  return () => {
    if (!callbacks.delete(entry) || callbacks.size > 0) return;
    signal.removeEventListener('abort', listener);
    if (watched.get(signal) === watchers) watched.delete(signal);
  };
}

/**
 * Resolves once `promise` settled, `signal` aborted or `ms` milliseconds passed, whichever comes
 * first (at once when the signal has aborted).
 */
export function settledOrAborted(promise: Promise<unknown>, signal: AbortSignal | undefined, ms?: number): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const unwatch = signal === undefined ? undefined : watchAbort(signal, () => done());
    const timer = ms === undefined ? undefined : setTimeout(() => done(), ms);
    function done(): void {
      unwatch?.();
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    }
    promise.then(done, done);
  });
}
