// Owns the query plans observers ask for (`wantsQueryPlan`): `EXPLAIN QUERY PLAN` looked up once
// per SQL text, on the connection the statement is about to run on, and cached (bounded). The
// lookups are internal requests: no observer sees them and no channel publishes them.
// Runs on the JS thread.

import { pragmaForm } from '../input/pragma-form.ts';
import { SqliteError } from '../errors.ts';
import { checkSql } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import type { RequestRunner, RequestTrace } from '../request/requests.ts';
import { READERS, WRITER, type Route } from '../request/route.ts';
import type { WriterPlace } from '../request/writer-place.ts';
import { statementKeywords } from './sql-keywords.ts';

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

  /**
   * Rows of `sql` read unobserved (ObservedPool.all): on a reader, or on the writer in a pool
   * without readers (`onWriter`). A statement that writes is refused before it runs, with
   * SQLITE_READONLY as a read lease or snapshot refuses it: where a reader reports it writes
   * (the dispatcher would send it to the writer), or, on the writer, where its program
   * (`EXPLAIN`) writes as sqlite3_stmt_readonly() sees it, or it changes the connection (a PRAGMA
   * given a value, ATTACH, DETACH).
   */
  async read(sql: string, onWriter: boolean): Promise<Record<string, unknown>[]> {
    const text = checkSql(sql);
    if (onWriter) {
      // Not even prepared (EXPLAIN would): a PRAGMA given a value, which SQLite may apply while
      // preparing it (foreign_keys, query_only...), and ATTACH/DETACH change the writer's connection.
      const first = statementKeywords(text)[0];
      if (first === 'ATTACH' || first === 'DETACH' || pragmaForm(text) === 'set') throw readOnly(text);
    }
    if (onWriter && statementKeywords(text)[0] !== 'EXPLAIN') {
      const program = (await this.#requests.run({ op: Op.All, route: READERS, sql: `EXPLAIN ${text}`, values: undefined, names: undefined, rowMode: 'object', internal: true })) as {
        opcode: unknown;
        p2: unknown;
      }[];
      if (program.some(writesIn)) throw readOnly(text);
    }
    const request = { op: Op.All, route: READERS, sql: text, values: undefined, names: undefined, rowMode: 'object', internal: true, trace: readsOnly(text) } as const;
    return (await this.#requests.run(request)) as Record<string, unknown>[];
  }
}

/** The refusal of a statement that writes, sent to read. */
function readOnly(sql: string): SqliteError {
  return new SqliteError(8, 'attempt to write a readonly database: ObservedPool.all() only reads', sql);
}

/**
 * One instruction of an `EXPLAIN` listing that makes the statement write, as SQLite decides
 * sqlite3_stmt_readonly() (resolveP2Values): a write transaction, a checkpoint, VACUUM, a journal
 * mode change.
 */
function writesIn(op: { opcode: unknown; p2: unknown }): boolean {
  const code = op.opcode;
  return (code === 'Transaction' && Number(op.p2) !== 0) || code === 'Checkpoint' || code === 'Vacuum' || code === 'JournalMode';
}

/** Refuses the read of `sql` at its admission or when a reader reports it writes, if it writes. */
function readsOnly(sql: string): RequestTrace {
  return {
    counters: false,
    settlesWithRequest: false,
    admit: (_writer, writes) => (writes ? readOnly(sql) : undefined),
    rerouted: () => readOnly(sql),
    parked() {},
    submitting() {},
    submitted() {},
    completed() {},
    settled() {},
  };
}
