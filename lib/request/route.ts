// Owns where a request runs: its route (any reader, the writer, one pinned reader), the writer
// session that lets a transaction or write lease use the writer alone, and the writer line: what
// the dispatcher asks of the writer gate (connections/writer-gate.ts) for writes without a session.

import { Target } from '../native/contract.ts';
import type { WriterPlace } from './writer-place.ts';

/** Exclusive use of the writer connection, held by a transaction, a write lease or the keeper. */
export class WriterSession {
  ended = false;
  /**
   * Held for reading only (a read lease, snapshot or iteration of a pool without readers): its
   * callers' statements go with RequestFlag.ReadOnly (PRAGMA query_only refused, as on a reader).
   */
  readOnly = false;
}

/**
 * Which connection a request runs on. Every route has the same three fields (one shape for the
 * dispatcher to read); `session` is set for requests of a writer session (they pass the writer
 * gate), `reader` for requests of a pinned reader.
 */
export type Route =
  | { readonly target: typeof Target.Readers; readonly session: undefined; readonly reader: -1 }
  | { readonly target: typeof Target.Writer; readonly session: WriterSession | undefined; readonly reader: -1 }
  | { readonly target: typeof Target.PinnedReader; readonly session: undefined; readonly reader: number };

/** Any reader (a statement that writes is rerouted to the writer). */
export const READERS: Route = { target: Target.Readers, session: undefined, reader: -1 };

/** The writer, in line behind the sessions and writes that came first. */
export const WRITER: Route = { target: Target.Writer, session: undefined, reader: -1 };

/** The writer, inside `session`. */
export function sessionRoute(session: WriterSession): Route {
  return { target: Target.Writer, session, reader: -1 };
}

/** Reader `reader`, pinned to a lease (or to the keeper while it replaces the connection). */
export function readerRoute(reader: number): Route {
  return { target: Target.PinnedReader, session: undefined, reader };
}

/**
 * The writer gate as the dispatcher uses it, for writes that come without a session; `place` is
 * the place in line the write was made with (request/writer-place.ts), if any.
 */
export interface WriterLine<J> {
  /**
   * True while such a write must wait: a session holds the writer or others wait before it (with
   * a place: until that place is at the front; `retried`, a retry of a write that had its turn:
   * only while a session holds the writer).
   */
  closedFor(place: WriterPlace | undefined, retried?: boolean): boolean;
  /** Puts a write in line (in its place; a retry first); the gate hands it back when its turn comes. */
  park(job: J, place: WriterPlace | undefined, retried?: boolean): void;
  /** Takes a cancelled write out of line; false when it was not there. */
  unpark(job: J, place: WriterPlace | undefined): boolean;

}
