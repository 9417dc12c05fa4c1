// Owns the upkeep of the database file: db.optimize() (and PRAGMA optimize=0x10002 at open, and
// every `optimizeInterval` ms), db.analyze(), db.vacuum() (a full rebuild, or an incremental
// vacuum) and db.ping(). Those that write are refused on a LiteFS replica, where the periodic
// optimize skips its turn. Runs on the JS thread; the statements run on the writer, in line with
// the writes.

import type { PoolContext } from '../api/context.ts';
import { describeHolder } from '../connections/holders.ts';
import { OperationBlockedError, misuse } from '../errors.ts';
import { checkInteger, checkKeys } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import { READERS, WRITER, sessionRoute, type Route } from '../request/route.ts';
import type { Checkpointer } from './checkpoint.ts';
import type { MaintenanceGuard } from './replica-guard.ts';

// Their requests are the pool's own (`internal`): stats().operations counts each call once, as a
// whole (toolkit.ts), not the statements it runs.

/** Runs SQL without parameters on the writer (`route`: inside a session, or in line). */
export function execOnWriter(context: PoolContext, sql: string, route: Route = WRITER): Promise<void> {
  return context.requests.run({ op: Op.Exec, route, sql, internal: true }) as Promise<void>;
}

function valueOnWriter(context: PoolContext, sql: string, route: Route): Promise<unknown> {
  return context.requests
    .run({ op: Op.Get, route, sql, values: undefined, names: undefined, rowMode: 'array', internal: true })
    .then((row) => (row as unknown[] | undefined)?.[0]);
}

/** The options of vacuum(), checked: undefined for a full VACUUM, else the pages to free. */
export function checkVacuumOptions(options: unknown): number | undefined {
  const given = checkKeys('options', options, ['incremental']);
  return given.incremental === undefined ? undefined : checkInteger('incremental', given.incremental, 0, 2 ** 31 - 1);
}

/** `PRAGMA optimize` as SQLite recommends right after opening: analyse what needs it, within limits. */
export const OPTIMIZE_AT_OPEN = 'PRAGMA optimize = 0x10002';

export class Upkeep {
  readonly #context: PoolContext;
  readonly #checkpointer: Checkpointer;
  readonly #acquireTimeout: number;
  readonly #finalCheckpoint: 'truncate' | 'passive';
  readonly #guard: MaintenanceGuard;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(context: PoolContext, checkpointer: Checkpointer, acquireTimeout: number, finalCheckpoint: 'truncate' | 'passive', guard: MaintenanceGuard) {
    this.#finalCheckpoint = finalCheckpoint;
    this.#guard = guard;
    this.#context = context;
    this.#checkpointer = checkpointer;
    this.#acquireTimeout = acquireTimeout;
  }

  /** Runs `PRAGMA optimize` every `interval` ms (none when undefined). */
  start(interval: number | undefined): void {
    if (interval === undefined) return;
    this.#timer = setInterval(() => {
      if (this.#guard.writable) this.optimize().catch(() => undefined);
    }, interval);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  optimize(): Promise<void> {
    return this.#guard.write(() => execOnWriter(this.#context, 'PRAGMA optimize'));
  }

  analyze(): Promise<void> {
    return this.#guard.write(() => execOnWriter(this.#context, 'ANALYZE'));
  }

  /**
   * VACUUM (or PRAGMA incremental_vacuum(pages)) under a writer session, then a TRUNCATE
   * checkpoint so the file on disk shrinks (a passive one under Litestream, which owns the
   * checkpoints that restart the WAL). Refused while this pool holds a lease, snapshot or
   * iteration open: a reader's snapshot would keep the rebuilt pages in the WAL, and a write
   * lease would keep the vacuum waiting.
   */
  vacuum(incremental: number | undefined): Promise<void> {
    return this.#guard.write(() => this.#vacuum(incremental));
  }

  async #vacuum(incremental: number | undefined): Promise<void> {
    const open = this.#context.holders.list();
    if (open.length > 0) throw new OperationBlockedError('vacuum()', open.map(describeHolder));
    const { writer } = this.#context;
    const session = await writer.acquire(this.#acquireTimeout, undefined);
    const route = sessionRoute(session);
    try {
      if (incremental === undefined) {
        await execOnWriter(this.#context, 'VACUUM', route);
      } else {
        if (Number(await valueOnWriter(this.#context, 'PRAGMA auto_vacuum', route)) !== 2) {
          throw misuse("vacuum({ incremental }) needs auto_vacuum = INCREMENTAL: set it with PRAGMA auto_vacuum = INCREMENTAL and run vacuum() once");
        }
        // incremental_vacuum frees pages one step at a time: step it to the end.
        await this.#context.requests.run({ op: Op.All, route, sql: `PRAGMA incremental_vacuum(${incremental})`, values: undefined, names: undefined, rowMode: 'array', internal: true });
      }
      await this.#checkpointer.run(this.#finalCheckpoint, 'vacuum', route);
    } finally {
      writer.release(session);
    }
  }

  /** A cheap read on a reader and on the writer: resolves when both answered. */
  async ping(cancel: { signal: AbortSignal | undefined; timeout: number | undefined }): Promise<void> {
    const { signal, timeout } = cancel;
    const probe = (route: Route) =>
      this.#context.requests.run({ op: Op.Get, route, sql: 'SELECT 1 FROM sqlite_schema LIMIT 1', values: undefined, names: undefined, rowMode: 'array', signal, timeout, internal: true });
    await Promise.all([probe(READERS), probe(WRITER)]);
  }
}
