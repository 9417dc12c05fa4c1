// Owns one request on its way through the dispatcher: where it is (queued on the JS side, in
// flight in a native slot, settled), the flags it is submitted with, its timer and abort
// listener, and the functions that settle its promise. Runs on the JS thread.

import { Op, RequestFlag, type Target } from '../native/contract.ts';
import type { Request } from './requests.ts';
import type { StatementInfo } from './sql-registry.ts';

export const JobState = { Queued: 0, InFlight: 1, Settled: 2 } as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export class Job {
  state: JobState = JobState.Queued;
  slot = -1;
  abortReason: unknown = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  constructor(
    readonly request: Request,
    /** Where it runs now: the route's target, or the writer once a reader found it writes. */
    public target: Target,
    /** What is known about its statement (reads only). */
    readonly info: StatementInfo | undefined,
    readonly flags: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

/** The flags `request` is submitted with. */
export function requestFlags(request: Request, info: StatementInfo | undefined, safeIntegers: boolean): number {
  let flags =
    (safeIntegers ? RequestFlag.SafeIntegers : 0) |
    (info && !info.names ? RequestFlag.WantNames : 0) |
    (request.keepTransaction ? RequestFlag.KeepTransaction : 0) |
    (request.expectTransaction ? RequestFlag.ExpectTransaction : 0) |
    (request.trace !== undefined && request.trace.counters ? RequestFlag.Counters : 0);
  if (request.op === Op.IterateStart && request.holdReader) flags |= RequestFlag.HoldReader;
  if (request.op === Op.Run) {
    flags |= (request.returnRows ? RequestFlag.ReturnRows | RequestFlag.WantNames : 0) | (request.groupable ? RequestFlag.Groupable : 0);
  }
  return flags;
}
