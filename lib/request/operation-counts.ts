// Owns how stats().operations counts: each operation of the caller once. The dispatcher counts an
// operation by its first request (started) and that request's settlement (completed, failed or
// cancelled). Not counted again: a later attempt of a retried operation (`retried`; the retry
// loop takes its failed attempts' counts back: connections/retry.ts) and a later request of an
// iteration (its next chunks, or a first chunk sent again: `continues`); an iteration counts as
// completed once its first chunk is back, and one of its later requests that fails or is
// cancelled turns it into failed or cancelled. The pool's own requests (`internal`) are not
// counted; a maintenance call counts once, as a whole (countCall()), and its requests are the
// pool's own. Runs on the JS thread.

import { OperationTimeoutError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import type { OperationCounters, Request } from './requests.ts';

/** A later request of an operation that its first request counted. */
function continues(request: Request): boolean {
  return request.continues === true || request.op === Op.IterateNext;
}

/** `request` entered the dispatcher. */
export function countStarted(counters: OperationCounters, request: Request): void {
  if (!request.internal && !request.retried && !continues(request)) counters.started++;
}

/** `request` settled: `ok`, or else `cancelled` (its signal or timeout ended it) or failed. */
export function countSettled(counters: OperationCounters, request: Request, ok: boolean, cancelled: boolean): void {
  if (request.internal) return;
  if (continues(request)) {
    if (ok) return;
    // The operation was counted as completed when its first request came back.
    counters.completed--;
  } else if (ok) {
    counters.completed++;
    return;
  }
  if (cancelled) counters.cancelled++;
  else counters.failed++;
}

/**
 * Counts a maintenance call (ping, checkpoint, backup...) once, as a whole: started now, then
 * completed, cancelled (it rejected with its `signal`'s reason, or with an OperationTimeoutError)
 * or failed before its caller hears of it. Its requests are the pool's own (`internal`).
 */
export function countCall<T>(counters: OperationCounters | undefined, call: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (counters === undefined) return call;
  counters.started++;
  return call.then(
    (value) => {
      counters.completed++;
      return value;
    },
    (error: unknown) => {
      if (error instanceof OperationTimeoutError || (signal !== undefined && signal.aborted && error === signal.reason)) counters.cancelled++;
      else counters.failed++;
      throw error;
    },
  );
}
