// Owns litepool's listening to AbortSignals: one 'abort' listener per signal, however many
// operations, transactions and waits watch it, so a signal shared by many concurrent calls never
// collects a listener per call (nor Node's MaxListenersExceededWarning past 10). The listener is
// removed once nothing watches the signal. Also a wait for a promise that an abort or a timeout
// ends (settledOrAborted). Runs on the JS thread.

import { OperationTimeoutError } from '../errors.ts';

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
 * Resolves once `promise` settled or `signal` aborted, whichever comes first (at once when the
 * signal has aborted). With `ms`, rejects with an OperationTimeoutError(ms, sql) instead once `ms`
 * milliseconds have passed first, also when the promise settles only after that (its timer
 * overdue): what waited for `promise` is out of time, and must not go on as if it had some left
 * (a write waiting for its plan is then never submitted).
 */
export function settledOrAborted(promise: Promise<unknown>, signal: AbortSignal | undefined, ms?: number, sql?: string): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  const began = performance.now();
  return new Promise<void>((resolve, reject) => {
    const unwatch = signal === undefined ? undefined : watchAbort(signal, () => done(false));
    const timer = ms === undefined ? undefined : setTimeout(() => done(true), ms);
    let settled = false;
    function done(timedOut: boolean): void {
      if (settled) return;
      settled = true;
      unwatch?.();
      if (timer !== undefined) clearTimeout(timer);
      if (timedOut) reject(new OperationTimeoutError(ms!, sql));
      else resolve();
    }
    const settle = (): void => done(ms !== undefined && performance.now() - began >= ms);
    promise.then(settle, settle);
  });
}

/**
 * The milliseconds left of `timeout` since `began` (a performance.now(); rounded up), for a
 * request about to be submitted after a wait; throws OperationTimeoutError(timeout, sql) when
 * none are left: a request whose time ran out before it was submitted is never submitted.
 */
export function timeLeft(timeout: number, began: number, sql?: string): number {
  const left = timeout - (performance.now() - began);
  if (left <= 0) throw new OperationTimeoutError(timeout, sql);
  return Math.ceil(left);
}

/** What a request carries that bounds its wait. */
interface Bounded {
  readonly timeout?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** `request` refused instead of submitted: its signal has aborted with `reason` (the dispatcher rejects it at once, counted and observed as cancelled). */
function refused<R extends Bounded>(request: R, reason: unknown): R {
  return { ...request, timeout: undefined, signal: AbortSignal.abort(reason) };
}

/**
 * A request's wait for something before it is submitted (its statement's plan), bounded by its
 * `signal` and `timeout`, begun now. `bound(promise)` resolves once the promise settled, the
 * signal aborted or the time ran out (it never rejects for those); `ready(request)` is what to
 * submit then: the request with the milliseconds left of its timeout, or, with none left,
 * refused with OperationTimeoutError(timeout, sql), never run.
 */
export function boundedWait(signal: AbortSignal | undefined, timeout: number | undefined, sql?: string): { bound: (promise: Promise<void>) => Promise<void>; ready: <R extends Bounded>(request: R) => R } {
  const began = performance.now();
  let expired: unknown;
  return {
    bound: (promise) =>
      signal === undefined && timeout === undefined ? promise : settledOrAborted(promise, signal, timeout, sql).catch((error: unknown) => void (expired = error)),
    ready: (request) => {
      if (timeout === undefined) return request;
      if (expired !== undefined) return refused(request, expired);
      try {
        return { ...request, timeout: timeLeft(timeout, began, sql) };
      } catch (error) {
        return refused(request, error);
      }
    },
  };
}
