// Owns the query plans observers ask for (`wantsQueryPlan`): `EXPLAIN QUERY PLAN` looked up once
// per SQL text, on the connection the statement is about to run on, and cached (bounded). The
// lookups are internal requests: no observer sees them and no channel publishes them.
// Runs on the JS thread.

import { Op } from '../native/contract.ts';
import type { RequestRunner } from '../request/requests.ts';
import { READERS, WRITER, type Route } from '../request/route.ts';
import type { WriterPlace } from '../request/writer-place.ts';

/** SQL texts whose plans are kept at once (then the cache starts over). */
const MAX_PLANS = 4096;

export class QueryPlans {
  readonly #requests: RequestRunner;
  readonly #plans = new Map<string, readonly string[]>();

  constructor(requests: RequestRunner) {
    this.#requests = requests;
  }

  /** The cached plan of `sql`, if it was looked up already. */
  cached(sql: string): readonly string[] | undefined {
    return this.#plans.get(sql);
  }

  /**
   * The plan of `sql` (each row's `detail`), looked up on `route` (a scope's own connection, so a
   * transaction never waits for itself), with `place` when it is looked up for a write keeping
   * its place in the writer's line (a lookup sent to the writer goes with it); undefined when
   * SQLite cannot explain it (several statements, a syntax error: the statement itself will
   * report that).
   */
  async lookup(sql: string, route: Route = READERS, place?: WriterPlace): Promise<readonly string[] | undefined> {
    const known = this.#plans.get(sql);
    if (known) return known;
    try {
      const rows = (await this.#requests.run({
        op: Op.All,
        route,
        sql: `EXPLAIN QUERY PLAN ${sql}`,
        values: undefined,
        names: undefined,
        rowMode: 'object',
        keepTransaction: route !== READERS && route !== WRITER,
        internal: true,
        place,
      })) as { detail: unknown }[];
      const plan = Object.freeze(rows.map((row) => String(row.detail)));
      if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
      this.#plans.set(sql, plan);
      return plan;
    } catch {
      return undefined;
    }
  }

  /** Rows of `sql` read on a reader, unobserved (ObservedPool.all). */
  read(sql: string): Promise<Record<string, unknown>[]> {
    return this.#requests.run({ op: Op.All, route: READERS, sql, values: undefined, names: undefined, rowMode: 'object', internal: true }) as Promise<
      Record<string, unknown>[]
    >;
  }
}
