// Owns exclusive use of the writer: a transaction, a write lease or the connection keeper takes
// a writer session, and while it holds one, writes without a session wait in line. The line is
// one FIFO of waiting writes, waiting sessions and places (request/writer-place.ts: taken for
// writes not ready yet), so everything gets the writer in the order it asked for it. A place at
// the front lets its own writes pass and holds everything behind it until it is given up. While
// the connection keeper holds the writer out of service (its replacement failed), whatever waits
// can be failed with the cause (failWaiting). Runs on the JS thread.

import { Fifo } from '../request/fifo.ts';
import { WriterSession, type WriterLine } from '../request/route.ts';
import { WriterPlace, type WriterPlaces } from '../request/writer-place.ts';
import { Waiter } from './waiter.ts';

/** The writer gate as transactions, leases and the keeper use it. */
export interface WriterAccess {
  /** True while a session holds the writer. */
  readonly held: boolean;
  /** Waits for exclusive use of the writer, in line with the writes, sessions and places before. */
  acquire(timeout: number | undefined, signal: AbortSignal | undefined): Promise<WriterSession>;
  /** Gives the writer back (once; later calls do nothing): the line moves on, in order. */
  release(session: WriterSession): void;
  /** Fails what waits for the writer now with `reason` (the keeper: the writer is out of service). */
  failWaiting(reason: unknown): void;
}

type InLine<J> = J | Waiter<WriterSession> | WriterPlace;

export class WriterGate<J extends object> implements WriterAccess, WriterLine<J>, WriterPlaces {
  readonly #pass: (job: J) => void;
  readonly #fail: ((job: J, reason: unknown) => void) | undefined;
  /** The session that holds the writer, if any. */
  #owner: WriterSession | undefined;
  /** The place at the front: its writes pass, everything else waits. */
  #front: WriterPlace | undefined;
  /** Writes, sessions and places waiting for the writer, in order. */
  readonly #line = new Fifo<InLine<J>>();
  /** The last thing put in line, when it is a place (told when something gets in line behind it). */
  #lastPlace: WriterPlace | undefined;
  /** Retries of writes that had their turn, waiting only for the session holding the writer. */
  readonly #retried = new Fifo<J>();
  #sessionsWaiting = 0;
  #placesInLine = 0;
  #parkedInPlaces = 0;
  /** Writes made with places that wait to be submitted (for a plan lookup, or behind one). */
  #orderedInPlaces = 0;
  readonly #countOrdered = (change: 1 | -1): void => {
    this.#orderedInPlaces += change;
  };
  #advancing = false;

  /**
   * `pass` sends on a write whose turn has come; `fail` settles a write taken out of line with a
   * failure (without it, failWaiting() leaves writes in line and fails only sessions).
   */
  constructor(pass: (job: J) => void, fail?: (job: J, reason: unknown) => void) {
    this.#pass = pass;
    this.#fail = fail;
  }

  get held(): boolean {
    return this.#owner !== undefined;
  }

  /** Writes and sessions waiting in line (in places too). */
  get waiting(): number {
    return this.#line.length - this.#placesInLine + this.#parkedInPlaces + this.#orderedInPlaces + this.#retried.length;
  }

  /** Sessions (transactions, write leases) waiting in line. */
  get sessionsWaiting(): number {
    return this.#sessionsWaiting;
  }

  /** Nothing holds the writer and nothing waits for it. */
  get free(): boolean {
    return this.#owner === undefined && this.#front === undefined && this.#line.length === 0;
  }

  closedFor(place: WriterPlace | undefined, retried = false): boolean {
    if (retried) return this.#owner !== undefined;
    if (place !== undefined && place.state !== 'gone') return place !== this.#front;
    return !this.free;
  }

  /**
   * `retried`: a retry of a write that had its turn (retry policy) waits only while a session
   * holds the writer, then goes before everything in line (a place at the front waiting for it too).
   */
  park(job: J, place?: WriterPlace, retried = false): void {
    if (retried) {
      this.#retried.push(job);
    } else if (place !== undefined && place.state === 'waiting') {
      place.parked.push(job);
      this.#parkedInPlaces++;
    } else {
      this.#push(job);
    }
  }

  unpark(job: J, place?: WriterPlace): boolean {
    if (this.#retried.remove(job)) return true;
    if (place !== undefined && place.parked.remove(job)) {
      this.#parkedInPlaces--;
      return true;
    }
    return this.#line.remove(job);
  }

  hold(onFront?: () => void, onFollower?: () => void): WriterPlace {
    const place = new WriterPlace(onFront, onFollower, this.#countOrdered);
    if (this.free) {
      // At the front at once (onFront is for a later arrival there): the caller sees the state.
      place.state = 'front';
      this.#front = place;
      this.#lastPlace = place;
    } else {
      this.#push(place);
      this.#placesInLine++;
    }
    return place;
  }

  leave(place: WriterPlace): void {
    if (place.state === 'gone' || --place.holders > 0) return;
    if (this.#lastPlace === place) this.#lastPlace = undefined;
    if (place.state === 'front') {
      place.state = 'gone';
      this.#front = undefined;
      this.#advance();
    } else if (place.parked.length === 0 && this.#line.remove(place)) {
      place.state = 'gone';
      this.#placesInLine--;
    }
    // A place given up with writes parked in it stays in line: at the front they pass, and it goes.
  }

  acquire(timeout: number | undefined, signal: AbortSignal | undefined): Promise<WriterSession> {
    // An aborted signal refuses at once, even when the writer is free.
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free) {
      this.#owner = new WriterSession();
      return Promise.resolve(this.#owner);
    }
    const waiter = new Waiter<WriterSession>(timeout, signal, 'writer connection', (gaveUp) => {
      if (this.#line.remove(gaveUp)) this.#sessionsWaiting--;
    });
    if (!waiter.settled) {
      this.#push(waiter);
      this.#sessionsWaiting++;
    }
    return waiter.promise;
  }

  release(session: WriterSession): void {
    if (session.ended) return;
    session.ended = true;
    if (this.#owner !== session) return;
    this.#owner = undefined;
    this.#advance();
  }

  /**
   * Fails everything waiting for the writer now with `reason`: sessions, and writes (in line, in
   * places, retries) when a `fail` was given. Places stay in line. The session holding the writer
   * keeps it.
   */
  failWaiting(reason: unknown): void {
    const fail = this.#fail;
    if (fail !== undefined) {
      for (let job = this.#retried.shift(); job !== undefined; job = this.#retried.shift()) fail(job, reason);
    }
    const kept: InLine<J>[] = [];
    for (let next = this.#line.shift(); next !== undefined; next = this.#line.shift()) {
      if (next instanceof Waiter) {
        this.#sessionsWaiting--;
        next.fail(reason);
      } else if (next instanceof WriterPlace) {
        if (fail !== undefined) {
          for (let job = next.parked.shift(); job !== undefined; job = next.parked.shift()) {
            this.#parkedInPlaces--;
            fail(job as J, reason);
          }
        }
        kept.push(next);
      } else if (fail !== undefined) {
        fail(next, reason);
      } else {
        kept.push(next);
      }
    }
    // Places are kept, so the last place put in line (if it was the last thing) still is.
    for (const entry of kept) this.#line.push(entry);
  }

  /** Puts `entry` in line; the place last put there (if it is the last) learns it has a follower. */
  #push(entry: InLine<J>): void {
    const last = this.#lastPlace;
    this.#lastPlace = undefined;
    if (last !== undefined && !last.followed) {
      last.followed = true;
      last.onFollower?.();
    }
    this.#line.push(entry);
    if (entry instanceof WriterPlace) this.#lastPlace = entry;
  }

  /** Moves the line on while nothing holds the writer: writes pass, a session or a place takes the front. */
  #advance(): void {
    // A place's onFront may give it up at once (leave() calls back here): the running loop goes on.
    if (this.#advancing) return;
    this.#advancing = true;
    try {
      while (this.#owner === undefined && this.#retried.length > 0) this.#pass(this.#retried.shift()!);
      while (this.#owner === undefined && this.#front === undefined && this.#line.length > 0) {
        const next = this.#line.shift()!;
        if (next instanceof WriterPlace) {
          this.#placesInLine--;
          for (let job = next.parked.shift(); job !== undefined; job = next.parked.shift()) {
            this.#parkedInPlaces--;
            this.#pass(job as J);
          }
          if (next.holders > 0) {
            next.state = 'front';
            this.#front = next;
            next.onFront?.();
          } else {
            next.state = 'gone';
          }
          continue;
        }
        if (!(next instanceof Waiter)) {
          this.#pass(next);
          continue;
        }
        this.#sessionsWaiting--;
        if (next.settled) continue;
        const granted = new WriterSession();
        this.#owner = granted;
        if (!next.grant(granted)) this.#owner = undefined;
      }
    } finally {
      this.#advancing = false;
    }
  }
}
