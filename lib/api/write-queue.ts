// Owns the write queue (db.writeQueue): a bounded buffer of writes in front of the writer with an
// overflow policy, fire-and-forget and awaitable entries, statistics, and a draining shutdown.
// Runs on the JS thread.
//
// `capacity` bounds every accepted entry that has not finished: those waiting here and those
// handed to the writer. Entries keep their order: they are handed to the writer in the order they
// were accepted, at most `inFlight` at a time, and only when the writer can take them: while a
// transaction or write lease holds it, they wait here (where 'drop-oldest' can still evict them),
// and they get their turn in first-in first-out order with the sessions and writes queued before.
// While entries wait, they hold places in the writer's line (write-queue-line.ts): entries
// accepted before a transaction, lease or write asked for the writer are handed over before it
// gets it, even those beyond the `inFlight` bound, and those accepted after it wait for it.

import { QueueClosedError, QueueFullError, QueueTimeoutError, describeType, invalidArgument } from '../errors.ts';
import { encodeParams, type EncodedParams } from '../input/params.ts';
import { checkInteger, checkKeys, checkSql } from '../input/validate.ts';
import { Fifo } from '../request/fifo.ts';
import type { WriterPlace, WriterPlaces } from '../request/writer-place.ts';
import { QueueLine, checkOpenToQueues } from './write-queue-line.ts';
import { RetryOrder } from './write-queue-retry.ts';
import type { RetryTurn } from '../connections/retry.ts';
import { KNOWN_OPTIONS, checkPolicy } from './write-queue-options.ts';
import type { Params } from '../types.ts';
import type { OverflowPolicy, WriteQueueOptions, WriteQueueStats, WriteResult } from '../write-queue-types.ts';

/**
 * How the queue reaches the writer (the pool's run with rows for RETURNING): `place` is the
 * queue's place in the writer's line (when it holds one), `acceptedAt` when the entry was
 * accepted (performance.now(): its wait in the queue counts as queued time).
 */
export type WriteRunner = (
  sql: string,
  given: Params | undefined,
  params: EncodedParams,
  groupable: boolean,
  onGroup: (group: number | undefined) => void,
  place: WriterPlace | undefined,
  acceptedAt: number,
  turn: RetryTurn,
) => Promise<WriteResult>;

interface Entry {
  acceptedAt: number;
  sql: string;
  params: Params | undefined;
  encoded: EncodedParams;
  resolve: ((value: WriteResult) => void) | undefined;
  reject: ((reason: unknown) => void) | undefined;
}

interface BlockedEntry {
  entry: Entry;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Known to this module only: a WriteQueue is made by db.writeQueue() (newWriteQueue), never by `new WriteQueue()`. */
const kMade = Symbol('litepool.writeQueue');

/** A write queue in front of a pool's writer (what db.writeQueue() returns); the arguments are the constructor's. */
export function newWriteQueue(
  run: WriteRunner,
  options: unknown,
  onShutdown: (queue: WriteQueue) => void,
  places?: WriterPlaces,
  onEvent?: (kind: 'full' | 'dropped' | 'timeout', depth: number) => void,
): WriteQueue {
  return new WriteQueue(kMade, run, options, onShutdown, places, onEvent);
}

/** A queue entry takes no options: a third argument (such as { signal }) is refused, not ignored. */
function extraArguments(method: string): Error {
  return invalidArgument(`${method}() takes (sql, params): a queue entry takes no options (it cannot be cancelled once accepted)`);
}

export class WriteQueue {
  /** Telemetry that may be lost under pressure: a large queue that drops its oldest entries. */
  static forMetrics(): WriteQueueOptions {
    return { capacity: 10_000, overflow: 'drop-oldest' };
  }
  /** Writes that must not be lost: callers wait for room. */
  static forCritical(): WriteQueueOptions {
    return { capacity: 1000, overflow: 'block' };
  }
  /** Callers that must never wait: a full queue refuses at once. */
  static nonBlocking(): WriteQueueOptions {
    return { capacity: 1000, overflow: 'reject' };
  }

  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly #maxInFlight: number;
  readonly #run: WriteRunner;
  /** Where the waiting entries stand in the writer's line, and their hand-over. */
  readonly #line: QueueLine;
  /** Keeps the entries in order when the pool's retry policy retries them (write-queue-retry.ts). */
  readonly #order: RetryOrder;
  readonly #onError: WriteQueueOptions['onError'];
  readonly #groupCommit: boolean;
  readonly #onShutdown: (queue: WriteQueue) => void;
  /** Told when the queue was full, dropped an entry, or a blocked entry timed out (observers' onQueue). */
  readonly #onEvent: (kind: 'full' | 'dropped' | 'timeout', depth: number) => void;
  /** Accepted entries not yet handed to the writer. */
  readonly #waiting = new Fifo<Entry>();
  /** Pushes parked by the 'block' policies until there is room. */
  readonly #blocked = new Fifo<BlockedEntry>();
  #running = 0;
  #closed = false;
  #drained: (() => void)[] = [];
  #shutdown: Promise<void> | undefined;
  readonly #stats = { highWater: 0, accepted: 0, completed: 0, failed: 0, dropped: 0, rejected: 0, batches: 0 };
  /** Group commits seen recently (a group's entries complete together, in one batch). */
  #recentGroups = new Set<number>();
  /** Counts the commit an entry took: its group's first entry counts the group. */
  readonly #countBatch = (group: number | undefined): void => {
    if (group === undefined) {
      this.#stats.batches++;
      return;
    }
    if (this.#recentGroups.has(group)) return;
    if (this.#recentGroups.size > 4096) this.#recentGroups.clear();
    this.#recentGroups.add(group);
    this.#stats.batches++;
  };

  /** @internal Use db.writeQueue(): constructed directly, it throws a TypeError. */
  constructor(
    token: symbol,
    run: WriteRunner,
    options: unknown,
    onShutdown: (queue: WriteQueue) => void,
    places: WriterPlaces | undefined = undefined,
    onEvent: (kind: 'full' | 'dropped' | 'timeout', depth: number) => void = () => {},
  ) {
    if (token !== kMade) throw invalidArgument('a WriteQueue is not constructed with new WriteQueue(): use db.writeQueue(options)');
    const given = checkKeys('options', options, KNOWN_OPTIONS);
    this.capacity = given.capacity === undefined ? 1000 : checkInteger('capacity', given.capacity, 1, 10_000_000);
    this.overflow = given.overflow === undefined ? 'block' : checkPolicy(given.overflow);
    this.#maxInFlight = given.inFlight === undefined ? 64 : checkInteger('inFlight', given.inFlight, 1, 4096);
    if (given.onError !== undefined && typeof given.onError !== 'function') {
      throw invalidArgument(`onError must be a function, got ${describeType(given.onError)}`);
    }
    this.#onError = given.onError as WriteQueueOptions['onError'];
    if (given.groupCommit !== undefined && typeof given.groupCommit !== 'boolean') {
      throw invalidArgument(`groupCommit must be a boolean, got ${describeType(given.groupCommit)}`);
    }
    this.#groupCommit = given.groupCommit !== false;
    // Reading the options may have run the caller's code (a getter), close() included.
    checkOpenToQueues(places);
    this.#run = run;
    const waiting = this.#waiting;
    this.#order = new RetryOrder(() => this.#running, () => this.#feed());
    const room = (): number => (this.#order.holding ? 0 : this.#maxInFlight - this.#running);
    this.#line = new QueueLine(places, {
      get waiting() {
        return waiting.length;
      },
      get room() {
        return room();
      },
      handOver: (place, most) => this.#handOver(place, most),
    });
    this.#onShutdown = onShutdown;
    this.#onEvent = onEvent;
  }

  /**
   * Fire and forget: accepts the write and returns true, or returns false when the queue refuses
   * it (full under 'reject', shut down). Under 'block' a full queue parks the entry until there is
   * room (or, with blockTimeout, refuses it then). Failures reach `onError` and stats().
   */
  push(sql: string, params?: Params): boolean {
    if (arguments.length > 2) throw extraArguments('push');
    const encoded = encodeParams(params);
    return this.#accept({ acceptedAt: performance.now(), sql: checkSql(sql), params, encoded, resolve: undefined, reject: undefined }) !== 'refused';
  }

  /** Accepts the write and resolves with its result once it committed. */
  enqueue(sql: string, params?: Params): Promise<WriteResult> {
    let encoded: EncodedParams;
    try {
      if (arguments.length > 2) throw extraArguments('enqueue');
      checkSql(sql);
      encoded = encodeParams(params);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.#accept({ acceptedAt: performance.now(), sql, params, encoded, resolve, reject });
    });
  }

  stats(): WriteQueueStats {
    const { batches, completed } = this.#stats;
    return {
      depth: this.#waiting.length,
      blocked: this.#blocked.length,
      running: this.#running,
      ...this.#stats,
      meanBatchSize: batches === 0 ? 0 : completed / batches,
    };
  }

  /** Refuses new entries, finishes every accepted one, then resolves. Idempotent. */
  shutdown(): Promise<void> {
    if (!this.#shutdown) {
      this.#closed = true;
      this.#shutdown = new Promise<void>((resolve) => {
        this.#drained.push(resolve);
        this.#checkDrained();
      }).then(() => this.#onShutdown(this));
    }
    return this.#shutdown;
  }

  #accept(entry: Entry): 'accepted' | 'blocked' | 'refused' {
    if (this.#closed) return this.#refuse(entry, new QueueClosedError());
    // Parked entries count too, so that a new entry never overtakes them.
    if (this.#waiting.length + this.#running + this.#blocked.length >= this.capacity) {
      const policy = this.overflow;
      this.#onEvent(policy === 'drop-oldest' && this.#waiting.length > 0 ? 'dropped' : 'full', this.#waiting.length + this.#running);
      if (policy === 'reject') return this.#refuse(entry, new QueueFullError(`the write queue is full (capacity ${this.capacity})`));
      if (policy === 'drop-oldest') {
        // Only an entry not yet handed to the writer can be taken back.
        if (this.#waiting.length === 0) {
          return this.#refuse(entry, new QueueFullError(`the write queue is full (capacity ${this.capacity}) and every entry in it has started`));
        }
        const oldest = this.#waiting.shift()!;
        this.#line.droppedOldest();
        this.#stats.dropped++;
        this.#admit(entry);
        // Reported after the new entry took the room, so that onError cannot push into it.
        this.#fail(oldest, new QueueFullError('this entry was dropped: the write queue was full and a newer entry took its place', true), false);
        return 'accepted';
      } else {
        const blocked: BlockedEntry = { entry, timer: undefined };
        if (typeof policy === 'object') {
          blocked.timer = setTimeout(() => {
            this.#blocked.remove(blocked);
            this.#onEvent('timeout', this.#waiting.length + this.#running);
            this.#refuse(entry, new QueueTimeoutError(policy.blockTimeout));
            this.#checkDrained();
          }, policy.blockTimeout);
        }
        this.#blocked.push(blocked);
        return 'blocked';
      }
    }
    this.#admit(entry);
    return 'accepted';
  }

  #admit(entry: Entry): void {
    this.#stats.accepted++;
    this.#waiting.push(entry);
    this.#line.accepted();
    this.#stats.highWater = Math.max(this.#stats.highWater, this.#waiting.length + this.#running);
    this.#feed();
  }

  #refuse(entry: Entry, error: Error): 'refused' {
    this.#stats.rejected++;
    if (entry.reject) entry.reject(error);
    else this.#report(error, entry);
    return 'refused';
  }

  #feed(): void {
    this.#line.feed();
  }

  /** Hands at most `most` waiting entries over (with the queue's place, if any), keeping at most #maxInFlight running. */
  #handOver(place: WriterPlace | undefined, most: number): number {
    let handed = 0;
    while (handed < most && this.#running < this.#maxInFlight && this.#waiting.length > 0 && !this.#order.holding) {
      const entry = this.#waiting.shift()!;
      handed++;
      this.#running++;
      let outcome: Promise<WriteResult>;
      try {
        outcome = this.#run(entry.sql, entry.params, entry.encoded, this.#groupCommit, this.#countBatch, place, entry.acceptedAt, this.#order.turn());
      } catch (error) {
        outcome = Promise.reject(error);
      }
      outcome.then(
        (result) => {
          this.#stats.completed++;
          entry.resolve?.(result);
          this.#finished();
        },
        (error: unknown) => {
          this.#fail(entry, error, true);
          this.#finished();
        },
      );
    }
    return handed;
  }

  /** An entry finished: its room goes to the entries parked by 'block', in order. */
  #finished(): void {
    this.#running--;
    this.#order.settled();
    while (this.#blocked.length > 0 && this.#waiting.length + this.#running < this.capacity) {
      const { entry, timer } = this.#blocked.shift()!;
      if (timer) clearTimeout(timer);
      this.#stats.accepted++;
      this.#waiting.push(entry);
      this.#line.accepted();
    }
    this.#stats.highWater = Math.max(this.#stats.highWater, this.#waiting.length + this.#running);
    this.#feed();
    this.#checkDrained();
  }

  #fail(entry: Entry, error: unknown, ran: boolean): void {
    if (ran) this.#stats.failed++;
    if (entry.reject) entry.reject(error);
    else this.#report(error, entry);
  }

  #report(error: unknown, entry: Entry): void {
    try {
      this.#onError?.(error, { sql: entry.sql, params: entry.params });
    } catch {
      // An observer's own failure must not break the queue.
    }
  }

  #checkDrained(): void {
    if (!this.#closed || this.#running > 0 || this.#waiting.length > 0 || this.#blocked.length > 0) return;
    const waiters = this.#drained;
    this.#drained = [];
    for (const wake of waiters) wake();
  }
}

