// Owns what the handles (scopes, transactions, leases, snapshots) and the connection keeper are
// given instead of the dispatcher: a narrow view of the pool's parts.

import type { Holders } from '../connections/holders.ts';
import type { ReaderAccess } from '../connections/reader-pins.ts';
import type { WriterAccess } from '../connections/writer-gate.ts';
import type { ObserverHub } from '../observers/hub.ts';
import type { RequestRunner } from '../request/requests.ts';
import type { CheckedOptions } from './operations.ts';

export interface PoolContext {
  /** Runs requests (the dispatcher). */
  readonly requests: RequestRunner;
  /** Exclusive use of the writer. */
  readonly writer: WriterAccess;
  /** Readers pinned to leases and snapshots. */
  readonly readers: ReaderAccess;
  /** What operations called without options run with. */
  readonly defaults: CheckedOptions;
  /** The snapshots, leases and iterations open now, and since when. */
  readonly holders: Holders;
  /** Milliseconds each connection has been inside a transaction (-1: none): readers in order, then the writer. */
  readonly transactionAges: () => readonly number[];
  /** The pool's observers (and its name on the diagnostics channels). */
  readonly observers: ObserverHub;
}
