// Owns the write queue (db.writeQueue): a bounded buffer of writes in front of the writer with an
// overflow policy, fire-and-forget and awaitable entries, statistics, and a draining shutdown.
// Runs on the JS thread.
//
// `capacity` bounds every accepted entry that has not finished: those waiting here and those
// handed to the writer. Entries keep their order: they are handed to the writer in the order they
// were accepted, at most `inFlight` at a time, and only when the writer can take them: while a
// transaction or write lease holds it, they wait here (where 'drop-oldest' can still evict them),
// and they get their turn in first-in first-out order with the sessions and writes queued before.

import { QueueClosedError, QueueFullError, QueueTimeoutError, describeType, invalidArgument, outOfRange } from '../errors.ts';
import { encodeParams, type EncodedParams } from '../input/params.ts';
import { MAX_MS, checkInteger, checkKeys, checkSql } from '../input/validate.ts';
import { Fifo } from '../request/fifo.ts';
import type { Params } from '../types.ts';
import type { OverflowPolicy, WriteQueueOptions, WriteQueueStats, WriteResult } from '../write-queue-types.ts';

/** How the queue reaches the writer (the pool's run with rows for RETURNING). */
export type WriteRunner = (
  sql: string,
  given: Params | undefined,
  params: EncodedParams,
  groupable: boolean,
  onGroup: (group: number | undefined) => void,
) => Promise<WriteResult>;

/**
 * Asks for the writer: calls `admit` synchronously once no transaction or lease holds it (at
 * once when it is free), in order with the sessions and writes that asked before. Writes that
 * `admit` runs go straight to the writer.
 */
export type WriterTurn = (admit: () => void) => void;

interface Entry {
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

const KNOWN_OPTIONS = ['capacity', 'overflow', 'inFlight', 'onError', 'groupCommit'] as const;

function checkPolicy(value: unknown): OverflowPolicy {
  if (value === 'block' || value === 'reject' || value === 'drop-oldest') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const given = checkKeys('overflow', value, ['blockTimeout']);
    const timeout = given.blockTimeout;
    if (typeof timeout !== 'number') {
      throw invalidArgument(`overflow.blockTimeout must be a number of ms, got ${describeType(timeout)}`);
    }
    // setTimeout takes at most 2^31 - 1 ms (it fires at once past that).
    if (!Number.isInteger(timeout) || timeout <= 0 || timeout > MAX_MS) {
      throw outOfRange(`overflow.blockTimeout must be an integer number of ms from 1 to ${MAX_MS}, got ${String(timeout)}`);
    }
    return { blockTimeout: timeout };
  }
  if (typeof value === 'string') {
    throw outOfRange(`overflow must be 'block', 'reject', 'drop-oldest' or { blockTimeout }, got '${value}'`);
  }
  throw invalidArgument(`overflow must be a string or { blockTimeout }, got ${describeType(value)}`);
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
  readonly #writerTurn: WriterTurn;
  /** A turn at the writer has been asked for and not yet given. */
  #turnAsked = false;
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

  /** @internal Use db.writeQueue(). */
  constructor(
    run: WriteRunner,
    options: unknown,
    onShutdown: (queue: WriteQueue) => void,
    writerTurn: WriterTurn = (admit) => admit(),
    onEvent: (kind: 'full' | 'dropped' | 'timeout', depth: number) => void = () => {},
  ) {
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
    this.#run = run;
    this.#writerTurn = writerTurn;
    this.#onShutdown = onShutdown;
    this.#onEvent = onEvent;
  }

  /**
   * Fire and forget: accepts the write and returns true, or returns false when the queue refuses
   * it (full under 'reject', shut down). Under 'block' a full queue parks the entry until there is
   * room (or, with blockTimeout, refuses it then). Failures reach `onError` and stats().
   */
  push(sql: string, params?: Params): boolean {
    const encoded = encodeParams(params);
    return this.#accept({ sql: checkSql(sql), params, encoded, resolve: undefined, reject: undefined }) !== 'refused';
  }

  /** Accepts the write and resolves with its result once it committed. */
  enqueue(sql: string, params?: Params): Promise<WriteResult> {
    let encoded: EncodedParams;
    try {
      checkSql(sql);
      encoded = encodeParams(params);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.#accept({ sql, params, encoded, resolve, reject });
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
    this.#stats.highWater = Math.max(this.#stats.highWater, this.#waiting.length + this.#running);
    this.#feed();
  }

  #refuse(entry: Entry, error: Error): 'refused' {
    this.#stats.rejected++;
    if (entry.reject) entry.reject(error);
    else this.#report(error, entry);
    return 'refused';
  }

  /** Asks for the writer when entries wait and fewer than #maxInFlight are there. */
  #feed(): void {
    if (this.#turnAsked || this.#waiting.length === 0 || this.#running >= this.#maxInFlight) return;
    this.#turnAsked = true;
    this.#writerTurn(this.#handOver);
  }

  /** The writer's turn: hands waiting entries over, keeping at most #maxInFlight there. */
  readonly #handOver = (): void => {
    this.#turnAsked = false;
    while (this.#running < this.#maxInFlight && this.#waiting.length > 0) {
      const entry = this.#waiting.shift()!;
      this.#running++;
      let outcome: Promise<WriteResult>;
      try {
        outcome = this.#run(entry.sql, entry.params, entry.encoded, this.#groupCommit, this.#countBatch);
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
  };

  /** An entry finished: its room goes to the entries parked by 'block', in order. */
  #finished(): void {
    this.#running--;
    while (this.#blocked.length > 0 && this.#waiting.length + this.#running < this.capacity) {
      const { entry, timer } = this.#blocked.shift()!;
      if (timer) clearTimeout(timer);
      this.#stats.accepted++;
      this.#waiting.push(entry);
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

