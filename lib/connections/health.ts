// Owns the health of the pool's connections: runs the onConnection hook on every new
// connection, replaces a connection that failed fatally (SQLITE_NOTADB, SQLITE_CORRUPT,
// SQLITE_IOERR, SQLITE_CANTOPEN) or sat idle longer than idleTimeout, and retries a replacement
// that failed, with backoff (0.5 s doubling up to 30 s). Runs on the JS thread.
//
// A reader is replaced through its own ring: the Reopen request leaves it pinned, so the hook
// runs on the new connection before the reader serves the shared ring again (Unpin). A reader
// that a lease, a snapshot or an iteration holds is never replaced under it: the keeper waits for
// it to be let go, and the reader itself refuses a Reopen that reaches it while so held. The
// writer is replaced under a writer session, so no write runs on it before the hook has.
//
// A replacement that fails leaves its connection out of service until a retry succeeds: a reader
// stays pinned, the writer stays under the keeper's session (writes and sessions wait). Each
// failure fails what waits for a connection out of service: what waits for the writer, and, once
// no reader is in service, the leases waiting for a reader and the reads waiting in the shared
// ring (failShared), with LITEPOOL_CONNECTION_UNAVAILABLE naming the failure. A hook is bounded
// by acquireTimeout (hook-run.ts). close() (stop()) waits for the replacements under way (their
// hooks within that bound), tries each connection out of service once more at once (not one
// whose hook did not settle: close() never calls it again), then lets close go on.
//
// An in-memory database is never replaced: its one connection is the database, and a new one
// would be empty.

import type { PoolContext } from '../api/context.ts';
import { LitepoolError, sqliteCodeName } from '../errors.ts';
import type { ConnectionHook } from '../input/options.ts';
import { Op, WRITER_WORKER } from '../native/contract.ts';
import { READERS, readerRoute, sessionRoute, type Route, type WriterSession } from '../request/route.ts';
import { HealthState } from './health-state.ts';
import { HookRunner, hookDidNotSettle, type HookRun } from './hook-run.ts';

/** SQLite primary codes after which a connection is not trusted again. */
const FATAL_CODES = new Set([10 /* IOERR */, 11 /* CORRUPT */, 14 /* CANTOPEN */, 26 /* NOTADB */]);

export function isFatal(errno: number): boolean {
  return FATAL_CODES.has(errno & 0xff);
}

/** The hook's runs at open(): open() awaits them. */
const AT_OPEN: HookRun = { awaited: true };

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export interface KeeperStats {
  /** Connections replaced since open (idle or broken). */
  replaced: number;
  /** Replacements (or hooks) that failed and will be retried. */
  failures: number;
}

/** What fails the work that waits for a connection out of service. */
export function unavailable(role: 'reader' | 'writer', failure: unknown): LitepoolError {
  const reason = failure instanceof Error ? failure.message : String(failure);
  return new LitepoolError('LITEPOOL_CONNECTION_UNAVAILABLE', `no ${role} connection in service: replacing it failed (${reason})`, { cause: failure });
}

export class ConnectionKeeper {
  readonly #context: PoolContext;
  readonly #state: HealthState;
  readonly #readers: number;
  readonly #idleTimeout: number;
  readonly #hooks: HookRunner;
  readonly #hooked: boolean;
  /** ':memory:' (the pool's observers are named after its path): nothing is ever replaced. */
  readonly #memory: boolean;
  /** How long to wait before the next retry of each worker, and the retries waiting. */
  readonly #backoff = new Map<number, number>();
  readonly #retries = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #pending = new Set<Promise<void>>();
  /** Why each worker was last scheduled for a replacement (told to observers when it is done). */
  readonly #reasons = new Map<number, string>();
  /** The session the keeper holds while the writer is out of service. */
  #writerSession: WriterSession | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  readonly stats: KeeperStats = { replaced: 0, failures: 0 };
  /**
   * Fails the reads waiting in the shared reader ring with `reason` (the dispatcher; called when
   * no reader is in service after a failure). Unset, they wait for a reader back in service.
   */
  failShared: ((reason: unknown) => void) | undefined = undefined;

  /** `hookBound`: ms the hook may take on a connection (acquireTimeout). */
  constructor(context: PoolContext, idleMillis: () => readonly number[], readers: number, idleTimeout: number, hook: ConnectionHook | undefined, hookBound: number) {
    this.#context = context;
    this.#state = HealthState.of(context, idleMillis, readers);
    this.#readers = readers;
    this.#idleTimeout = idleTimeout;
    this.#hooks = new HookRunner(context, hook, hookBound);
    this.#hooked = hook !== undefined;
    this.#memory = context.observers.database === ':memory:';
  }

  /** Readers held out of service now (being replaced, or their replacement failed), in order. */
  readersOutOfService(): number[] {
    return [...this.#state.outOfService.keys()].filter((worker) => worker !== WRITER_WORKER).sort((a, b) => a - b);
  }

  /** Runs the hook on the writer and every reader of a pool being opened. Throws on failure. */
  async initialize(): Promise<void> {
    if (this.#hooked) {
      const { requests, writer } = this.#context;
      const session = await writer.acquire(undefined, undefined);
      try {
        await this.#hooks.run(sessionRoute(session), 'writer', AT_OPEN);
      } finally {
        writer.release(session);
      }
      // A pinned reader leaves the shared ring, so N Pin requests pin N different readers.
      const pinned: number[] = [];
      try {
        for (let i = 0; i < this.#readers; i++) {
          pinned.push(await requests.run({ op: Op.Pin, route: READERS, internal: true }));
        }
        await Promise.all(pinned.map((reader) => this.#hooks.run(readerRoute(reader), 'reader', AT_OPEN)));
      } catch (error) {
        // open() fails: the hooks still running on other readers are let go (their handles end).
        this.#hooks.letGo();
        throw error;
      } finally {
        await Promise.all(pinned.map((reader) => this.#unpin(reader)));
      }
    }
    const period = Math.max(1, Math.min(Math.floor(this.#idleTimeout / 2), 60_000));
    this.#timer = setInterval(() => this.#replaceIdle(), period);
    this.#timer.unref();
  }

  /**
   * Replaces the writer's connection on `route`, a writer session its caller holds (a migration
   * run's lease, before it lets the writer go): a new connection with the pool's settings, the
   * hook run on it. False when nothing was replaced (in-memory database, or stopping). On failure
   * the keeper takes over as for a broken writer (replaced once it has the writer), and it throws.
   */
  async renewWriter(route: Route): Promise<boolean> {
    if (this.#stopped || this.#memory) return false;
    try {
      await this.#context.requests.run({ op: Op.Reopen, route, internal: true });
      // Part of a migration run, which someone awaits.
      await this.#hooks.run(route, 'writer', { awaited: true });
    } catch (error) {
      this.#schedule(WRITER_WORKER, 'failed renewal after migrations');
      throw error;
    }
    this.stats.replaced++;
    const observers = this.#context.observers;
    if (observers.active) observers.connection({ event: 'replace', role: 'writer', id: WRITER_WORKER, reason: 'migrations ran on it' });
    return true;
  }

  /** Replaces the connection of `worker` (a failed health probe), unless a replacement is under way. */
  replace(worker: number): void {
    this.#schedule(worker, 'failed its health probe');
  }

  /** A request failed on `worker` with `errno`: replace the connection when the error is fatal. */
  reportFailure(worker: number, errno: number): void {
    if (isFatal(errno)) this.#schedule(worker, `failed with ${sqliteCodeName(errno)}`);
  }

  /**
   * Stops replacing and waits for the replacements under way (a hook within its bound); then
   * tries each connection out of service once more, at once (the writer; the readers when none is
   * in service; none whose hook did not settle), fails what still waits for one that stays out,
   * and gives the writer back for close().
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#hooks.awaited();
    if (this.#timer) clearInterval(this.#timer);
    for (const [worker, retry] of this.#retries) {
      clearTimeout(retry);
      this.#state.busy.delete(worker);
    }
    this.#retries.clear();
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    const last: Promise<void>[] = [];
    const reason = (worker: number) => this.#reasons.get(worker) ?? 'out of service';
    const again = (worker: number) => !hookDidNotSettle(this.#state.outOfService.get(worker));
    if (this.#writerSession && again(WRITER_WORKER)) last.push(this.#attempt(WRITER_WORKER, reason(WRITER_WORKER), true));
    if (this.#state.noReaderInService) for (const reader of this.readersOutOfService()) if (again(reader)) last.push(this.#attempt(reader, reason(reader), true));
    await Promise.all(last);
    const session = this.#writerSession;
    if (session) {
      this.#context.writer.failWaiting(unavailable('writer', this.#state.outOfService.get(WRITER_WORKER)));
      this.#writerSession = undefined;
      this.#context.writer.release(session);
    }
  }

  #replaceIdle(): void {
    const idle = this.#state.idle();
    const othersOut = this.#state.readersOutOfService > 0;
    for (let worker = 0; worker < this.#readers; worker++) {
      // Never for idleness alone the last reader in service, while others are out of it.
      if (othersOut && this.#lastInService(worker)) continue;
      if ((idle[worker] ?? 0) >= this.#idleTimeout && !this.#context.readers.isLeased(worker)) this.#schedule(worker, 'idle');
    }
    const writerIdle = idle[this.#readers] ?? 0;
    if (writerIdle >= this.#idleTimeout && !this.#context.writer.held) this.#schedule(WRITER_WORKER, 'idle');
  }

  /** True when every reader but `reader` is out of service. */
  #lastInService(reader: number): boolean {
    const out = this.#state.outOfService;
    return out.size - (out.has(WRITER_WORKER) ? 1 : 0) - (out.has(reader) ? 1 : 0) === this.#readers - 1;
  }

  /** Replaces `worker`'s connection (`reason`: 'idle', or the failure that broke it). */
  #schedule(worker: number, reason: string): void {
    if (this.#stopped || this.#memory || this.#state.busy.has(worker)) return;
    if (worker !== WRITER_WORKER && (worker < 0 || worker >= this.#readers)) return;
    this.#state.busy.add(worker);
    this.#reasons.set(worker, reason);
    const done = this.#attempt(worker, reason).finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  /** One attempt at replacing `worker`'s connection (`last`: close()'s); a failure schedules the next (unless stopped). */
  async #attempt(worker: number, reason: string, last = false): Promise<void> {
    const role = worker === WRITER_WORKER ? 'writer' : 'reader';
    // close() awaits its last attempt (and the others once it is called: HookRunner.awaited()).
    const hook = { awaited: last };
    try {
      const replaced = worker === WRITER_WORKER ? await this.#replaceWriter(hook) : await this.#replaceReader(worker, hook);
      this.#state.busy.delete(worker);
      if (!replaced) return;
      this.stats.replaced++;
      this.#backoff.delete(worker);
      this.#state.replaced(worker);
      const observers = this.#context.observers;
      if (observers.active) observers.connection({ event: 'replace', role, id: worker, reason });
    } catch (error) {
      this.stats.failures++;
      if (worker === WRITER_WORKER || this.#state.outOfService.has(worker)) this.#outOfService(worker, error);
      if (this.#stopped) {
        this.#state.busy.delete(worker);
        return;
      }
      // busy stays set until the retry: probes, fatal errors and the idle check do not hasten it.
      const delay = this.#backoff.get(worker) ?? FIRST_BACKOFF_MS;
      this.#backoff.set(worker, Math.min(MAX_BACKOFF_MS, delay * 2));
      const retry = setTimeout(() => {
        this.#retries.delete(worker);
        this.#state.busy.delete(worker);
        this.#schedule(worker, reason);
      }, delay);
      retry.unref();
      this.#retries.set(worker, retry);
    }
  }

  /** `worker` stays out of service after `failure`: what waits for it fails with the cause. */
  #outOfService(worker: number, failure: unknown): void {
    this.#state.outOfService.set(worker, failure);
    if (worker === WRITER_WORKER) {
      this.#context.writer.failWaiting(unavailable('writer', failure));
    } else if (this.#state.noReaderInService) {
      const error = unavailable('reader', failure);
      this.#context.readers.failSuspended(error);
      this.failShared?.(error);
    }
  }

  /** Replaces the writer's connection under the keeper's session; false when close() came first. */
  async #replaceWriter(hook: HookRun): Promise<boolean> {
    const { requests, writer } = this.#context;
    let session = this.#writerSession;
    if (!session) {
      session = await writer.acquire(undefined, undefined);
      // close() let go of the lease this waited for: the pool is closing, nothing to replace.
      if (this.#stopped) {
        writer.release(session);
        return false;
      }
      // Held until the writer is in service again: writes wait for a connection whose hook ran.
      this.#writerSession = session;
    }
    const route = sessionRoute(session);
    await requests.run({ op: Op.Reopen, route, internal: true });
    await this.#hooks.run(route, 'writer', hook);
    this.#state.outOfService.delete(WRITER_WORKER);
    this.#writerSession = undefined;
    writer.release(session);
    return true;
  }

  /**
   * Replaces reader `worker`'s connection; false when the keeper stopped first. A reader in
   * service is taken out of it (the Reopen pins it) once no lease or iteration holds it; one
   * already out of service (a retry) is still pinned to the keeper. Pins are held back while no
   * other reader is in service, since a Pin in the shared ring would wait for this one.
   */
  async #replaceReader(worker: number, hook: HookRun): Promise<boolean> {
    const { requests, readers } = this.#context;
    const route = readerRoute(worker);
    if (!this.#state.outOfService.has(worker)) {
      if (!(await this.#takeOutOfService(worker))) return false;
    } else {
      await requests.run({ op: Op.Reopen, route, internal: true });
    }
    await this.#hooks.run(route, 'reader', hook);
    await this.#unpin(worker);
    this.#state.outOfService.delete(worker);
    readers.resume();
    return true;
  }

  /**
   * Reopens reader `worker` once no lease or iteration holds it; false when the keeper stopped
   * first. A lease's Pin or an iteration's first chunk can take the reader from the shared ring
   * after whenFree() resolved and before the Reopen reaches it: the reader then refuses the Reopen
   * (0) and keeps its connection for them. The pool hears of that Pin or chunk before the refusal
   * (the reader completes its requests in order), so one timer later its holder is registered and
   * whenFree() waits for it. A Reopen that fails leaves the reader pinned: out of service.
   */
  async #takeOutOfService(worker: number): Promise<boolean> {
    const { requests, readers } = this.#context;
    for (let delay = 1; ; delay = Math.min(delay * 2, 1000)) {
      await readers.whenFree(worker);
      if (this.#stopped) return false;
      const last = this.#lastInService(worker);
      if (last) await readers.suspend();
      if (this.#stopped) {
        readers.resume();
        return false;
      }
      this.#state.outOfService.set(worker, undefined);
      let reopened: number;
      try {
        reopened = await requests.run({ op: Op.Reopen, route: readerRoute(worker), internal: true });
      } catch (error) {
        this.#state.outOfService.set(worker, error);
        throw error;
      }
      if (reopened === 1) return true;
      this.#state.outOfService.delete(worker);
      readers.resume();
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  #unpin(reader: number): Promise<unknown> {
    return this.#context.requests.run({ op: Op.Unpin, route: readerRoute(reader), internal: true });
  }
}
