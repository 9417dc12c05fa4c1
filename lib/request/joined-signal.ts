// Owns the joining of an operation's signal with the end of the scope it runs in (a transaction,
// lease, snapshot): a signal that aborts with the reason of the first of the two to abort, and
// that stops listening to both once released, when the operation settled. A long-lived signal
// (a shutdown signal passed to every query) thus keeps nothing of the operations it served:
// AbortSignal.any() would join them too, but Node 20 keeps every signal it made in its sources'
// sets of dependants for as long as the sources live. Runs on the JS thread.

import { watchAbort } from './abort-watch.ts';

/** A signal made of two, and what stops it listening to them (calling it again does nothing). */
export interface JoinedSignal {
  readonly signal: AbortSignal;
  readonly release: () => void;
}

function nothing(): void {}

/**
 * A signal that aborts with the reason of `first` or `second`, whichever aborts first, until
 * released (`first` itself, or `second`, when it has aborted already).
 */
export function joinSignals(first: AbortSignal, second: AbortSignal): JoinedSignal {
  if (first.aborted) return { signal: first, release: nothing };
  if (second.aborted) return { signal: second, release: nothing };
  const joined = new AbortController();
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    unwatchFirst();
    unwatchSecond();
  };
  const abortWith = (source: AbortSignal) => (): void => {
    release();
    joined.abort(source.reason);
  };
  const unwatchFirst = watchAbort(first, abortWith(first));
  const unwatchSecond = watchAbort(second, abortWith(second));
  return { signal: joined.signal, release };
}

/**
 * What `run` returns, `run` given the signal an operation runs with: `signal` (the caller's)
 * joined with `ending` (the scope's end; undefined on the pool), or either one alone. A join is
 * released once: when what `run` returned settled (the operation's promise settles after that),
 * or when `run` threw (rethrown).
 */
export function withJoinedSignal<T>(signal: AbortSignal | undefined, ending: AbortSignal | undefined, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (signal === undefined || ending === undefined) return run(signal ?? ending);
  const { signal: joined, release } = joinSignals(signal, ending);
  let result: Promise<T>;
  try {
    result = run(joined);
  } catch (error) {
    release();
    throw error;
  }
  return result.then(
    (value) => {
      release();
      return value;
    },
    (error: unknown) => {
      release();
      throw error;
    },
  );
}
