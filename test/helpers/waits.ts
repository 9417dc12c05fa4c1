// Owns how tests wait on promises without hanging the file or leaving a rejection unhandled:
// sleep, a latch opened by hand, settle-or-report with a watchdog (a lost request shows up as
// 'pending' instead of a stalled file), settlement tracking and rejection capture.

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise that resolves when open() is called: lets a test hold a callback at a chosen point. */
export interface Latch {
  readonly promise: Promise<void>;
  open(): void;
}

/**
 * A closed latch.
 *
 * @example
 * const gate = latch();
 * const held = db.transaction(() => gate.promise);
 * // ... the writer is held here ...
 * gate.open();
 * await held;
 */
export function latch(): Latch {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** How one operation ended, or 'pending' when it had not settled when the watchdog fired. */
export type Outcome<T> = PromiseSettledResult<T> | { status: 'pending' };

/**
 * Waits for every operation. A correct pool settles them in milliseconds; when some never settle
 * (a lost request), this gives up after a generous watchdog and reports them as 'pending'
 * instead of hanging the file.
 */
export async function settleOrReport<T>(operations: Promise<T>[], watchdogMs = 10_000): Promise<Outcome<T>[]> {
  const outcomes: Outcome<T>[] = operations.map(() => ({ status: 'pending' }));
  const tracked = operations.map((operation, i) =>
    operation.then(
      (value) => void (outcomes[i] = { status: 'fulfilled', value }),
      (reason: unknown) => void (outcomes[i] = { status: 'rejected', reason }),
    ),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<void>((resolve) => (timer = setTimeout(resolve, watchdogMs)));
  await Promise.race([Promise.all(tracked), watchdog]);
  clearTimeout(timer);
  return outcomes;
}

/** Records whether a promise has settled, without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { promise, settled: () => settled };
}

/** The rejection reason of `promise`; fails the test when it fulfills. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
}
