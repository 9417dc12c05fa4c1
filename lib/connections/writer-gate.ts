// Owns exclusive use of the writer: a transaction, a write lease or the connection keeper takes
// a writer session, and while it holds one, writes without a session wait in line. The line is
// one FIFO of waiting writes, waiting sessions and write queues waiting for their turn (turn()),
// so everything gets the writer in the order it asked for it. Runs on the JS thread.

import { Fifo } from '../request/fifo.ts';
import { WriterSession, type WriterLine } from '../request/route.ts';
import { Waiter } from './waiter.ts';

/** The writer gate as transactions, leases and the keeper use it. */
export interface WriterAccess {
  /** True while a session holds the writer. */
  readonly held: boolean;
  /** Waits for exclusive use of the writer, in line with the writes and sessions before. */
  acquire(timeout: number | undefined, signal: AbortSignal | undefined): Promise<WriterSession>;
  /** Gives the writer back (once; later calls do nothing): the line moves on, in order. */
  release(session: WriterSession): void;
}

/** A write queue waiting for the writer: `admit` submits its writes when its turn comes. */
class Turn {
  constructor(readonly admit: () => void) {}
}

export class WriterGate<J extends object> implements WriterAccess, WriterLine<J> {
  readonly #pass: (job: J) => void;
  /** The session that holds the writer, if any. */
  #owner: WriterSession | undefined;
  /** Writes and sessions waiting for the writer, in order. */
  readonly #line = new Fifo<J | Waiter<WriterSession> | Turn>();
  #sessionsWaiting = 0;
  /** A write queue's turn is running (see turn()): its writes pass the gate. */
  #turnTaken = false;

  /** `pass` sends on a write whose turn has come. */
  constructor(pass: (job: J) => void) {
    this.#pass = pass;
  }

  get held(): boolean {
    return this.#owner !== undefined;
  }

  /** Writes and sessions waiting in line. */
  get waiting(): number {
    return this.#line.length;
  }

  /** Sessions (transactions, write leases) waiting in line. */
  get sessionsWaiting(): number {
    return this.#sessionsWaiting;
  }

  get closed(): boolean {
    return !this.#turnTaken && this.#busy;
  }

  /** A session holds the writer, or something waits in line. */
  get #busy(): boolean {
    return this.#owner !== undefined || this.#line.length > 0;
  }

  /**
   * Calls `admit` synchronously once no session holds the writer: at once when it is free, else
   * when its turn comes (in line with the writes and sessions before). The writes `admit` submits
   * go straight to the writer, ahead of what got in line after the turn was asked for.
   */
  turn(admit: () => void): void {
    if (!this.#busy) admit();
    else this.#line.push(new Turn(admit));
  }

  park(job: J): void {
    this.#line.push(job);
  }

  unpark(job: J): boolean {
    return this.#line.remove(job);
  }

  acquire(timeout: number | undefined, signal: AbortSignal | undefined): Promise<WriterSession> {
    // An aborted signal refuses at once, even when the writer is free.
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#busy) {
      this.#owner = new WriterSession();
      return Promise.resolve(this.#owner);
    }
    const waiter = new Waiter<WriterSession>(timeout, signal, 'writer connection', (gaveUp) => {
      if (this.#line.remove(gaveUp)) this.#sessionsWaiting--;
    });
    if (!waiter.settled) {
      this.#line.push(waiter);
      this.#sessionsWaiting++;
    }
    return waiter.promise;
  }

  release(session: WriterSession): void {
    if (session.ended) return;
    session.ended = true;
    if (this.#owner !== session) return;
    this.#owner = undefined;
    while (this.#line.length > 0 && !this.#owner) {
      const next = this.#line.shift()!;
      if (next instanceof Turn) {
        this.#turnTaken = true;
        try {
          next.admit();
        } finally {
          this.#turnTaken = false;
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
  }
}
