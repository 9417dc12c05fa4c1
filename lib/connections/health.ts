// Owns the health of the pool's connections: runs the onConnection hook on every new
// connection, replaces a connection that failed fatally (SQLITE_NOTADB, SQLITE_CORRUPT,
// SQLITE_IOERR, SQLITE_CANTOPEN) or sat idle longer than idleTimeout, and retries a replacement
// that failed, with backoff. Runs on the JS thread.
//
// A reader is replaced through its own ring: the Reopen request leaves it pinned, so the hook
// runs on the new connection before the reader serves the shared ring again (Unpin). A reader
// that a lease, a snapshot or an iteration holds is never replaced under it: the keeper waits for
// it to be let go, and the reader itself refuses a Reopen that reaches it while so held. The
// writer is replaced under a writer session, so no write runs on it before the hook has.

import { ConnectionHandle } from '../api/connection-handle.ts';
import type { PoolContext } from '../api/context.ts';
import { LitepoolError, sqliteCodeName } from '../errors.ts';
import type { ConnectionHook } from '../input/options.ts';
import { Op, WRITER_WORKER } from '../native/contract.ts';
import { READERS, readerRoute, sessionRoute, type Route } from '../request/route.ts';

/** SQLite primary codes after which a connection is not trusted again. */
const FATAL_CODES = new Set([10 /* IOERR */, 11 /* CORRUPT */, 14 /* CANTOPEN */, 26 /* NOTADB */]);

export function isFatal(errno: number): boolean {
  return FATAL_CODES.has(errno & 0xff);
}

const MAX_BACKOFF_MS = 30_000;

export interface KeeperStats {
  /** Connections replaced since open (idle or broken). */
  replaced: number;
  /** Replacements (or hooks) that failed and will be retried. */
  failures: number;
}

export class ConnectionKeeper {
  readonly #context: PoolContext;
  /** Milliseconds each worker has been idle: readers in order, then the writer. */
  readonly #idleMillis: () => readonly number[];
  readonly #readers: number;
  readonly #idleTimeout: number;
  readonly #hook: ConnectionHook | undefined;
  /** Workers being replaced now, and how long to wait before retrying each after a failure. */
  readonly #replacing = new Set<number>();
  readonly #backoff = new Map<number, number>();
  readonly #pending = new Set<Promise<void>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  readonly stats: KeeperStats = { replaced: 0, failures: 0 };

  constructor(context: PoolContext, idleMillis: () => readonly number[], readers: number, idleTimeout: number, hook: ConnectionHook | undefined) {
    this.#context = context;
    this.#idleMillis = idleMillis;
    this.#readers = readers;
    this.#idleTimeout = idleTimeout;
    this.#hook = hook;
  }

  /** Runs the hook on the writer and every reader of a pool being opened. Throws on failure. */
  async initialize(): Promise<void> {
    if (this.#hook) {
      const { requests, writer } = this.#context;
      const session = await writer.acquire(undefined, undefined);
      try {
        await this.#runHook(sessionRoute(session), 'writer');
      } finally {
        writer.release(session);
      }
      // A pinned reader leaves the shared ring, so N Pin requests pin N different readers.
      const pinned: number[] = [];
      try {
        for (let i = 0; i < this.#readers; i++) {
          pinned.push(await requests.run({ op: Op.Pin, route: READERS, internal: true }));
        }
        await Promise.all(pinned.map((reader) => this.#runHook(readerRoute(reader), 'reader')));
      } finally {
        await Promise.all(pinned.map((reader) => this.#unpin(reader)));
      }
    }
    const period = Math.max(1, Math.min(Math.floor(this.#idleTimeout / 2), 60_000));
    this.#timer = setInterval(() => this.#replaceIdle(), period);
    this.#timer.unref();
  }

  /** Replaces the connection of `worker` (a failed health probe), unless a replacement is under way. */
  replace(worker: number): void {
    this.#schedule(worker, 'failed its health probe');
  }

  /** A request failed on `worker` with `errno`: replace the connection when the error is fatal. */
  reportFailure(worker: number, errno: number): void {
    if (isFatal(errno)) this.#schedule(worker, `failed with ${sqliteCodeName(errno)}`);
  }

  /** Stops replacing; resolves when replacements under way have finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #replaceIdle(): void {
    const idle = this.#idleMillis();
    for (let worker = 0; worker < this.#readers; worker++) {
      if ((idle[worker] ?? 0) >= this.#idleTimeout && !this.#context.readers.isLeased(worker)) this.#schedule(worker, 'idle');
    }
    const writerIdle = idle[this.#readers] ?? 0;
    if (writerIdle >= this.#idleTimeout && !this.#context.writer.held) this.#schedule(WRITER_WORKER, 'idle');
  }

  /** Replaces `worker`'s connection (`reason`: 'idle', or the failure that broke it). */
  #schedule(worker: number, reason: string): void {
    if (this.#stopped || this.#replacing.has(worker)) return;
    if (worker !== WRITER_WORKER && (worker < 0 || worker >= this.#readers)) return;
    this.#replacing.add(worker);
    const done = this.#replace(worker, reason).finally(() => {
      this.#replacing.delete(worker);
      this.#pending.delete(done);
    });
    this.#pending.add(done);
  }

  async #replace(worker: number, reason: string): Promise<void> {
    try {
      const { requests, writer } = this.#context;
      if (worker === WRITER_WORKER) {
        const session = await writer.acquire(undefined, undefined);
        try {
          // close() let go of the lease this waited for: the pool is closing, nothing to replace.
          if (this.#stopped) return;
          const route = sessionRoute(session);
          await requests.run({ op: Op.Reopen, route, internal: true });
          await this.#runHook(route, 'writer');
        } finally {
          writer.release(session);
        }
      } else {
        const route = readerRoute(worker);
        if (!(await this.#reopenReader(worker))) return;
        await this.#runHook(route, 'reader');
        await this.#unpin(worker);
      }
      this.stats.replaced++;
      this.#backoff.delete(worker);
      const observers = this.#context.observers;
      if (observers.active) observers.connection({ event: 'replace', role: worker === WRITER_WORKER ? 'writer' : 'reader', id: worker, reason });
    } catch {
      this.stats.failures++;
      // A reader stays pinned (out of service) until a later attempt succeeds; the writer keeps
      // answering with the failure. Either way, try again later.
      const delay = Math.min(MAX_BACKOFF_MS, (this.#backoff.get(worker) ?? 500) * 2);
      this.#backoff.set(worker, delay);
      if (!this.#stopped) {
        const retry = setTimeout(() => this.#schedule(worker, reason), delay);
        retry.unref();
      }
    }
  }

  /**
   * Replaces reader `worker`'s connection once no lease or iteration holds it; false when the
   * keeper stopped first. A lease's Pin or an iteration's first chunk can take the reader from the
   * shared ring after whenFree() resolved and before the Reopen reaches it: the reader then
   * refuses the Reopen (0) and keeps its connection for them. The pool hears of that Pin or chunk
   * before the refusal (the reader completes its requests in order), so one timer later its
   * holder is registered and whenFree() waits for it.
   */
  async #reopenReader(worker: number): Promise<boolean> {
    const { requests, readers } = this.#context;
    for (let delay = 1; ; delay = Math.min(delay * 2, 1000)) {
      await readers.whenFree(worker);
      if (this.#stopped) return false;
      if ((await requests.run({ op: Op.Reopen, route: readerRoute(worker), internal: true })) === 1) return true;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async #runHook(route: Route, role: 'reader' | 'writer'): Promise<void> {
    if (!this.#hook) return;
    const handle = new ConnectionHandle(this.#context, route, role);
    // Readers run with query_only, which would also refuse the hook's temp views and tables;
    // it is lifted for the hook alone.
    const queryOnly = (on: boolean) => handle.control(Op.Exec, `PRAGMA query_only = ${on ? 'ON' : 'OFF'}`);
    try {
      if (role === 'reader') await queryOnly(false);
      await this.#hook(handle);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new LitepoolError('LITEPOOL_CONNECTION_HOOK', `onConnection failed on a ${role} connection: ${reason}`, { cause: error });
    } finally {
      handle.end();
      if (role === 'reader') await queryOnly(true);
    }
  }

  #unpin(reader: number): Promise<unknown> {
    return this.#context.requests.run({ op: Op.Unpin, route: readerRoute(reader), internal: true });
  }
}
