// Owns telling the traces of observed operations that end with their request (an operation of one
// request: lib/observers/query-trace.ts) that it settled: at once when it settled outside a
// completion batch (a veto, an abort, a timeout), and at the end of the batch for those a batch
// settled, with one clock reading for all of them (their callers resume after the batch). What a
// trace throws never changes an outcome. Runs on the JS thread.

import { performance } from 'node:perf_hooks';
import type { Request, RequestTrace } from './requests.ts';

export class TraceSettlements {
  #inBatch = false;
  #traces: RequestTrace[] = [];
  #oks: boolean[] = [];
  #values: unknown[] = [];

  /** A completion batch is being read: what it settles is told at its end. */
  beginBatch(): void {
    this.#inBatch = true;
  }

  /** `request` settles, `ok` or not, with `value` (the result or the reason). */
  settled(request: Request, ok: boolean, value: unknown): void {
    const trace = request.trace;
    if (trace === undefined || !trace.settlesWithRequest) return;
    if (!this.#inBatch) return tell(trace, ok, value, undefined);
    this.#traces.push(trace);
    this.#oks.push(ok);
    this.#values.push(value);
  }

  /** The batch was read: tells the traces of the requests it settled, with one clock reading. */
  endBatch(): void {
    this.#inBatch = false;
    const traces = this.#traces;
    if (traces.length === 0) return;
    const oks = this.#oks;
    const values = this.#values;
    // Fresh lists first: an observer told here may start operations of its own.
    this.#traces = [];
    this.#oks = [];
    this.#values = [];
    const at = performance.now();
    for (let i = 0; i < traces.length; i++) tell(traces[i]!, oks[i]!, values[i], at);
  }
}

function tell(trace: RequestTrace, ok: boolean, value: unknown, at: number | undefined): void {
  try {
    trace.settled(ok, value, at);
  } catch {
    // An observer's failure is the hub's to report; the request settles as it would have.
  }
}
