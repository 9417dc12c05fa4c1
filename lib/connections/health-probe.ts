// Owns the health probe (`healthCheck: { intervalMs }`): every `intervalMs` a cheap read of the
// schema on each connection that sat idle that long (readers not held by a lease, the writer when
// no session holds it), and the replacement, through the connection keeper, of one whose probe
// fails. Failures of busy connections are already seen by the requests they run (the keeper
// replaces a connection after a fatal error); the probe finds a broken connection before a
// request does. A connection the keeper is replacing or holds out of service is not probed (its
// retries wait for their backoff), and a probe is not use: idleTimeout counts from the last
// request other than a probe (health-state.ts). Runs on the JS thread.

import type { PoolContext } from '../api/context.ts';
import { Op, WRITER_WORKER } from '../native/contract.ts';
import { WRITER, readerRoute } from '../request/route.ts';
import { HealthState } from './health-state.ts';

/** The probe: reads page 1 and the schema cookie, so a file replaced or damaged underneath shows. */
export const PROBE_SQL = 'SELECT 1 FROM sqlite_schema LIMIT 1';

export class HealthProbe {
  readonly #context: PoolContext;
  readonly #state: HealthState;
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
    this.#state = HealthState.of(context, idleMillis, readers);
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
    this.#probe(worker, this.#state.idle());
  }

  /** Probes every connection idle for at least the interval (what the timer runs). */
  probeIdle(): void {
    // Idle as the addon counts it, probes included: each connection is probed once per interval.
    const idle = this.#state.rawIdle();
    const unprobed = this.#state.idle(idle);
    for (let worker = 0; worker < this.#readers; worker++) {
      if ((idle[worker] ?? 0) >= this.#intervalMs && !this.#context.readers.isLeased(worker)) this.#probe(worker, unprobed);
    }
    if ((idle[this.#readers] ?? 0) >= this.#intervalMs && !this.#context.writer.held) this.#probe(WRITER_WORKER, unprobed);
  }

  /** Probes `worker`; `idle`: how long each worker has been idle, the probe's reads not counted. */
  #probe(worker: number, idle: readonly number[]): void {
    if (this.#running.has(worker) || !this.#state.available(worker)) return;
    this.#running.add(worker);
    this.#state.probeStarted(worker, this.#state.idleOf(idle, worker));
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
      .finally(() => {
        this.#running.delete(worker);
        this.#state.probeEnded(worker);
      });
  }
}
