// Owns the readers pinned to leases, snapshots and the pool's iterations: how many may be pinned
// at once (one reader always stays in the shared ring when there are two or more, so plain reads
// keep flowing), who waits for a pin, which readers are pinned now, and who waits for a pinned
// reader to be let go. While the connection keeper may leave no reader in service (it replaces
// the last one, or every one is held out of service), no Pin is sent: a Pin in the shared ring
// with no reader to take it would wait there for ever. Leases wait instead (acquireTimeout), and
// fail with the cause when the replacement does. A lease's timeout and signal bound its Pin's wait
// for a reader too (every reader busy): a Pin that lands after its lease gave up is let go at once.
// Runs on the JS thread.

import { AcquireTimeoutError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { Fifo } from '../request/fifo.ts';
import type { RequestRunner } from '../request/requests.ts';
import { READERS, readerRoute } from '../request/route.ts';
import { Waiter } from './waiter.ts';

/** The reader pins as leases and the keeper use them. */
export interface ReaderAccess {
  /** Readers that leases may pin at once (0: leases and snapshots use the writer). */
  readonly max: number;
  /** One reader always serves the shared ring, whatever is pinned (two readers or more). */
  readonly keepsOneShared: boolean;
  /** Waits for a reader of its own (pinned until release); resolves with its index. */
  acquire(timeout: number | undefined, signal: AbortSignal | undefined): Promise<number>;
  /** Rolls back what the lease left open and returns the reader to the shared ring. */
  release(reader: number): Promise<void>;
  /**
   * Counts one pin for an iteration without pinning anything yet: its first chunk pins the reader
   * that runs it when rows remain. Waits like acquire() when every pinnable reader is taken.
   */
  reserve(timeout: number | undefined, signal: AbortSignal | undefined): Promise<void>;
  /** reserve() when a pin is free now and nobody waits for one; else false, and nothing counted. */
  tryReserve(): boolean;
  /** The iteration's first chunk left reader `reader` pinned to it. */
  hold(reader: number): void;
  /** The iteration ended: its reader (if it held one, else -1) serves the shared ring again. */
  unreserve(reader: number): void;
  /** True while a lease or snapshot holds reader `reader`. */
  isLeased(reader: number): boolean;
  /** Resolves once no lease holds reader `reader`. */
  whenFree(reader: number): Promise<void>;
  /** Holds back new Pins (no reader may be in service soon); resolves once no Pin is on its way. */
  suspend(): Promise<void>;
  /** Pins go again; the leases waiting for that send theirs. */
  resume(): void;
  /** Fails the leases waiting for Pins to go again with `reason` (Pins stay held back). */
  failSuspended(reason: unknown): void;
}

export class ReaderPins implements ReaderAccess {
  readonly #requests: RequestRunner;
  readonly max: number;
  readonly keepsOneShared: boolean;
  /** Readers pinned (or being pinned) now. */
  #pinned = 0;
  readonly #waiters = new Fifo<Waiter<number>>();
  /** Readers held by leases right now, and who waits for each to be let go. */
  readonly #leased = new Set<number>();
  readonly #freed = new Map<number, (() => void)[]>();
  /** Pins held back (suspend()), the leases waiting for them to go again, and Pins on their way. */
  #suspended = false;
  readonly #resumeWaiters = new Fifo<Waiter<void>>();
  #pinsOnTheirWay = 0;
  #noPinOnItsWay: (() => void)[] = [];

  constructor(requests: RequestRunner, readers: number) {
    this.#requests = requests;
    this.max = readers <= 1 ? readers : readers - 1;
    this.keepsOneShared = readers >= 2;
  }

  /** Leases and snapshots waiting for a reader. */
  get waiting(): number {
    return this.#waiters.length;
  }

  reserve(timeout: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    // An aborted signal refuses at once, even when a reader is free.
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryReserve()) return Promise.resolve();
    const waiter = new Waiter<number>(timeout, signal, 'reader connection', (gaveUp) => this.#waiters.remove(gaveUp));
    if (!waiter.settled) this.#waiters.push(waiter);
    return waiter.promise.then(() => undefined);
  }

  tryReserve(): boolean {
    if (this.#pinned >= this.max || this.#waiters.length > 0) return false;
    this.#pinned++;
    return true;
  }

  hold(reader: number): void {
    this.#leased.add(reader);
  }

  unreserve(reader: number): void {
    if (reader >= 0) this.#let(reader);
    this.#unpinned();
  }

  async acquire(timeout: number | undefined, signal: AbortSignal | undefined): Promise<number> {
    const started = Date.now();
    await this.reserve(timeout, signal);
    const left = (): number | undefined => (timeout === undefined ? undefined : Math.max(0, timeout - (Date.now() - started)));
    try {
      if (this.#suspended) await this.#resumed(left(), signal);
      if (signal?.aborted) throw signal.reason;
    } catch (error) {
      this.#unpinned();
      throw error;
    }
    return this.#pin(timeout, left(), signal);
  }

  /**
   * Sends the Pin (a pinned reader leaves the shared ring: the next Pin pins another one), which
   * waits in the shared ring while every reader is busy. Resolves with the reader, or rejects once
   * `left` ms passed (AcquireTimeoutError naming `timeout`) or `signal` aborted, whichever comes
   * first. The Pin is then cancelled: one still waiting on the JS side never goes; one a reader
   * takes all the same (a worker never skips a Pin) pins it, and it is let go at once. The pin
   * stays counted until the Pin has landed, or been dropped.
   */
  #pin(timeout: number | undefined, left: number | undefined, signal: AbortSignal | undefined): Promise<number> {
    const bounded = left !== undefined || signal !== undefined;
    const cancel = bounded ? new AbortController() : undefined;
    this.#pinsOnTheirWay++;
    const landed = this.#requests.run({ op: Op.Pin, route: READERS, internal: true, signal: cancel?.signal });
    const waiter = new Waiter<number>(undefined, signal, 'reader connection', () => cancel!.abort());
    const expire = (): void => {
      if (waiter.fail(new AcquireTimeoutError(timeout!, 'reader connection'))) cancel!.abort();
    };
    const timer = left === undefined ? undefined : setTimeout(expire, left);
    const arrived = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      if (--this.#pinsOnTheirWay === 0) for (const wake of this.#noPinOnItsWay.splice(0)) wake();
    };
    landed.then(
      (reader) => {
        arrived();
        this.#leased.add(reader);
        // Too late: the lease gave up meanwhile.
        if (!waiter.grant(reader)) this.release(reader).catch(() => undefined);
      },
      (error: unknown) => {
        arrived();
        this.#unpinned();
        waiter.fail(error);
      },
    );
    return waiter.promise;
  }

  /** Waits for Pins to go again. */
  #resumed(timeout: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    const waiter = new Waiter<void>(timeout, signal, 'reader connection', (gaveUp) => this.#resumeWaiters.remove(gaveUp));
    if (!waiter.settled) this.#resumeWaiters.push(waiter);
    return waiter.promise;
  }

  suspend(): Promise<void> {
    this.#suspended = true;
    if (this.#pinsOnTheirWay === 0) return Promise.resolve();
    return new Promise((resolve) => this.#noPinOnItsWay.push(resolve));
  }

  resume(): void {
    this.#suspended = false;
    for (let waiter = this.#resumeWaiters.shift(); waiter !== undefined; waiter = this.#resumeWaiters.shift()) waiter.grant(undefined);
  }

  failSuspended(reason: unknown): void {
    for (let waiter = this.#resumeWaiters.shift(); waiter !== undefined; waiter = this.#resumeWaiters.shift()) waiter.fail(reason);
  }

  async release(reader: number): Promise<void> {
    try {
      await this.#requests.run({ op: Op.Unpin, route: readerRoute(reader), internal: true });
    } finally {
      this.#let(reader);
      this.#unpinned();
    }
  }

  /** Reader `reader` is no longer held: whoever waits for it to be free goes on. */
  #let(reader: number): void {
    this.#leased.delete(reader);
    const waiting = this.#freed.get(reader);
    this.#freed.delete(reader);
    for (const wake of waiting ?? []) wake();
  }

  isLeased(reader: number): boolean {
    return this.#leased.has(reader);
  }

  whenFree(reader: number): Promise<void> {
    if (!this.#leased.has(reader)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.#freed.get(reader) ?? [];
      waiting.push(resolve);
      this.#freed.set(reader, waiting);
    });
  }

  /** A pin ended: its capacity goes to the next waiter. */
  #unpinned(): void {
    while (this.#waiters.length > 0) {
      if (this.#waiters.shift()!.grant(0)) return;
    }
    this.#pinned--;
  }
}
