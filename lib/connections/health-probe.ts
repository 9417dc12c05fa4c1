// Owns the health probe (`healthCheck: { intervalMs }`): every `intervalMs` a cheap read of the
// schema on each connection that sat idle that long (readers not held by a lease, the writer when
// no session holds it), and the replacement, through the connection keeper, of one whose probe
// fails. Failures of busy connections are already seen by the requests they run (the keeper
// replaces a connection after a fatal error); the probe finds a broken connection before a
// request does. Runs on the JS thread.

import type { PoolContext } from '../api/context.ts';
import { Op, WRITER_WORKER } from '../native/contract.ts';
import { WRITER, readerRoute } from '../request/route.ts';

/** The probe: reads page 1 and the schema cookie, so a file replaced or damaged underneath shows. */
export const PROBE_SQL = 'SELECT 1 FROM sqlite_schema LIMIT 1';

export class HealthProbe {
  readonly #context: PoolContext;
  readonly #idleMillis: () => readonly number[];
  readonly #readers: number;
  readonly #intervalMs: number;
  readonly #replace: (worker: number) => void;
  readonly #running = new Set<number>();
  /** Workers whose next probe is made to fail (a test hook: see failNextProbe). */
  readonly #failNext = new Set<number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Probes run, and probes that failed (each followed by a replacement). */
  readonly stats = { probes: 0, failed: 0 };

  constructor(context: PoolContext, idleMillis: () => readonly number[], readers: number, intervalMs: number, replace: (worker: number) => void) {
    this.#context = context;
    this.#idleMillis = idleMillis;
    this.#readers = readers;
    this.#intervalMs = intervalMs;
    this.#replace = replace;
  }

  start(): void {
    this.#timer = setInterval(() => this.probeIdle(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** @internal Makes the next probe of `worker` fail as a broken connection's would (tests). */
  failNextProbe(worker: number): void {
    this.#failNext.add(worker);
  }

  /** @internal Probes `worker` now, idle or not (tests). */
  probeNow(worker: number): void {
    this.#probe(worker);
  }

  /** Probes every connection idle for at least the interval (what the timer runs). */
  probeIdle(): void {
    const idle = this.#idleMillis();
    for (let worker = 0; worker < this.#readers; worker++) {
      if ((idle[worker] ?? 0) >= this.#intervalMs && !this.#context.readers.isLeased(worker)) this.#probe(worker);
    }
    if ((idle[this.#readers] ?? 0) >= this.#intervalMs && !this.#context.writer.held) this.#probe(WRITER_WORKER);
  }

  #probe(worker: number): void {
    if (this.#running.has(worker)) return;
    this.#running.add(worker);
    this.stats.probes++;
    const failing = this.#failNext.delete(worker);
    const sql = failing ? 'SELECT litepool_probe_failure FROM litepool_probe_failure' : PROBE_SQL;
    // keepTransaction: a lease that pinned the reader meanwhile keeps its transaction.
    const route = worker === WRITER_WORKER ? WRITER : readerRoute(worker);
    this.#context.requests
      .run({ op: Op.Get, route, sql, values: undefined, names: undefined, rowMode: 'array', keepTransaction: true, internal: true })
      .then(
        () => undefined,
        () => {
          this.stats.failed++;
          this.#replace(worker);
        },
      )
      .finally(() => this.#running.delete(worker));
  }
}
