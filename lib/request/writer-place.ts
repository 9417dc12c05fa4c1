// Owns a place in the writer's line (connections/writer-gate.ts) taken for writes that are not
// ready to be submitted yet: a write whose statement plan an observer asks for first, a write
// queue's entries beyond its in-flight bound. Writes and sessions that ask for the writer after
// the place was taken wait behind it, so a write delayed that way keeps its turn. Runs on the JS
// thread.

import { Fifo } from './fifo.ts';
import { SubmissionOrder } from './submission-order.ts';

/** Where a place is: waiting in line, at the front (its writes pass), or gone. */
export type PlaceState = 'waiting' | 'front' | 'gone';

/** A place in the writer's line. */
export class WriterPlace {
  state: PlaceState = 'waiting';
  /** Holders not done with the place yet; it is given up when the last one leaves. */
  holders = 1;
  /** Writes made with this place before it reached the front, in order. */
  readonly parked = new Fifo<object>();
  /** Something got in line behind this place (set once; onFollower was called then). */
  followed = false;
  /** Keeps the writes made with this place in call order while one waits for its plan. */
  readonly order: SubmissionOrder;

  /**
   * `onFront`: called when the place reaches the front (its writes pass from then on);
   * `onFollower`: called once, when something first gets in line behind it; `counted`: told of
   * each write that starts (1) and stops (-1) waiting in `order`.
   */
  constructor(
    readonly onFront: (() => void) | undefined,
    readonly onFollower: (() => void) | undefined,
    counted?: (change: 1 | -1) => void,
  ) {
    this.order = new SubmissionOrder(counted);
  }

  /** One more holder: the place stays until this one leaves too. */
  retain(): void {
    this.holders++;
  }
}

/** The writer gate as the holders of places use it (Operations, write queues). */
export interface WriterPlaces {
  /** Nothing holds the writer and nothing waits for it. */
  readonly free: boolean;
  /**
   * Takes a place at the end of the writer's line, or at the front when nothing holds or waits for
   * the writer (its state is then 'front' at once; `onFront` is called only for a place that
   * reaches the front later).
   */
  hold(onFront?: () => void, onFollower?: () => void): WriterPlace;
  /** One holder is done with `place`: once all are, the line moves on past it. */
  leave(place: WriterPlace): void;
}
