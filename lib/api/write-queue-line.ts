// Owns a write queue's places in the writer's line (request/writer-place.ts): the entries a queue
// accepted wait for the writer in the order everything asked for it. Entries accepted while no
// place of the queue has a follower share its last place; an entry accepted after something got
// in line behind that place takes a new one, at the end. The oldest place hands its entries over
// (at most `inFlight` running) while it is at the front and is given up once they all went.
// Once its pool's close() began, a writer's line takes no new queue. Runs on the JS thread.

import { PoolClosedError } from '../errors.ts';
import { Fifo } from '../request/fifo.ts';
import type { WriterPlace, WriterPlaces } from '../request/writer-place.ts';

/** Writer lines of pools whose close() began (and collected their queues). */
const closedLines = new WeakSet<WriterPlaces>();

/** close() began on the pool of `places`: a queue made for it from now on is refused. */
export function closeToQueues(places: WriterPlaces): void {
  closedLines.add(places);
}

/** Throws PoolClosedError when close() began on the pool of `places` (a queue is being made for it). */
export function checkOpenToQueues(places: WriterPlaces | undefined): void {
  if (places !== undefined && closedLines.has(places)) throw new PoolClosedError();
}

/** One place of the queue and how many of the waiting entries it still holds. */
interface Segment {
  readonly place: WriterPlace;
  entries: number;
}

/** What the line needs of its queue. */
export interface QueueEntries {
  /** Entries waiting (accepted, not handed over). */
  readonly waiting: number;
  /** How many more may be handed over now (inFlight less those running). */
  readonly room: number;
  /** Hands at most `most` of the oldest waiting entries to the writer with `place`; returns how many. */
  handOver(place: WriterPlace | undefined, most: number): number;
}

export class QueueLine {
  readonly #places: WriterPlaces | undefined;
  readonly #entries: QueueEntries;
  /** The queue's places, oldest first; together with #uncovered they hold every waiting entry. */
  readonly #segments = new Fifo<Segment>();
  #last: Segment | undefined;
  /** Entries accepted since the last feed, not yet in a place. */
  #uncovered = 0;
  #feeding = false;
  #again = false;

  /** `places`: the pool's writer line; none for a queue of its own (tests): entries go when there is room. */
  constructor(places: WriterPlaces | undefined, entries: QueueEntries) {
    this.#places = places;
    this.#entries = entries;
  }

  /** An entry was accepted: it waits at the end. */
  accepted(): void {
    this.#uncovered++;
  }

  /** The oldest waiting entry was taken back (drop-oldest). */
  droppedOldest(): void {
    const first = this.#segments.peek();
    if (first === undefined) {
      this.#uncovered--;
      return;
    }
    if (--first.entries === 0) this.#giveUp(first);
  }

  /** Hands entries over as far as the writer's line and `inFlight` allow. */
  feed(): void {
    // A place given up may bring the next one to the front at once (its onFront feeds again).
    if (this.#feeding) {
      this.#again = true;
      return;
    }
    this.#feeding = true;
    try {
      do {
        this.#again = false;
        this.#step();
      } while (this.#again);
    } finally {
      this.#feeding = false;
    }
  }

  #step(): void {
    const places = this.#places;
    const entries = this.#entries;
    if (places === undefined) {
      this.#uncovered = 0;
      entries.handOver(undefined, entries.waiting);
      return;
    }
    // Nothing holds or waits for the writer and every waiting entry may go now: no place needed.
    if (this.#segments.length === 0 && places.free && entries.waiting <= entries.room) {
      this.#uncovered = 0;
      entries.handOver(undefined, entries.waiting);
      return;
    }
    if (this.#uncovered > 0) {
      const last = this.#last;
      if (last !== undefined && !last.place.followed) {
        last.entries += this.#uncovered;
      } else {
        this.#last = { place: places.hold(() => this.feed()), entries: this.#uncovered };
        this.#segments.push(this.#last);
      }
      this.#uncovered = 0;
    }
    for (let first = this.#segments.peek(); first !== undefined && first.place.state === 'front'; first = this.#segments.peek()) {
      first.entries -= entries.handOver(first.place, Math.min(first.entries, entries.room));
      if (first.entries > 0) return;
      this.#giveUp(first);
    }
  }

  /** The oldest place holds no waiting entry any more: the line moves on past it. */
  #giveUp(segment: Segment): void {
    this.#segments.shift();
    if (this.#last === segment) this.#last = undefined;
    this.#places!.leave(segment.place);
  }
}
