// Owns what the JS side remembers per SQL text: the id of its copy registered with the addon
// (so the addon reads each distinct text once), and for reads, whether the statement turned out
// to write (then it goes straight to the writer) and the column names each worker's statement
// reported, with their row builders. Runs on the JS thread.

import type { NativePool } from '../native/native-pool.ts';
import type { RowBuilder } from './rows.ts';

/** The column names one worker's prepared statement reported last, and their row builder. */
export interface WorkerColumns {
  readonly names: readonly string[];
  build: RowBuilder | undefined;
}

/** What the JS side knows about one read statement. */
export interface StatementInfo {
  /** A reader found it is not read-only: send it straight to the writer from now on. */
  writes: boolean;
  /**
   * Per worker (at its index + 1: the writer, WRITER_WORKER, at 0), the names its own statement
   * reported. Workers may disagree: each prepared the statement against the schema it saw (a
   * snapshot opened before a rename, a transaction that changed the schema and rolled back). The
   * addon sends a statement's names with its first result on each connection, after SQLite
   * re-prepared it, and after forgetSql() (native/core/column_names.h, attachColumnNames).
   */
  readonly columns: (WorkerColumns | undefined)[];
  /** A worker returned rows without names while none are known for it (never expected): ask for them. */
  wantNames: boolean;
  /** The registry's generation it belongs to (see SqlRegistry.generation). */
  readonly generation: number;
}

/** Distinct SQL texts registered with the addon at once (then the registry starts over). */
const MAX_SQL_IDS = 4096;
/** Longer SQL texts (scripts) are passed as text each time rather than kept registered. */
const MAX_REGISTERED_SQL_LENGTH = 8192;
/** Read statements remembered at once (then the registry starts over). */
const MAX_STATEMENT_INFOS = 4096;

/** Each pool's registry, by the native pool it registers with (what close() has at hand). */
const registries = new WeakMap<object, SqlRegistry>();

/** The pool of `native` has closed (its requests settled, its registered copies freed): its registry forgets every text. */
export function releaseSql(native: object): void {
  registries.get(native)?.release();
}

export class SqlRegistry {
  readonly #native: Pick<NativePool, 'registerSql' | 'forgetSql'>;
  readonly #ids = new Map<string, number>();
  readonly #statements = new Map<string, StatementInfo>();
  #generation = 0;

  constructor(native: Pick<NativePool, 'registerSql' | 'forgetSql'>) {
    this.#native = native;
    registries.set(native, this);
  }

  /** @internal What it holds: SQL texts with an id, read statements known (tests). */
  get sizes(): { ids: number; statements: number } {
    return { ids: this.#ids.size, statements: this.#statements.size };
  }

  /** Forgets every text without telling the addon (its pool closed, so its copies are freed already). */
  release(): void {
    this.#ids.clear();
    this.#statements.clear();
    this.#generation++;
  }

  /**
   * How many times the registry started over. It forgets ids and column names together, and
   * tells the addon (forgetSql), which then stamps every request submitted afterwards with the
   * next names epoch: each statement reports its names again to requests of the new generation.
   * A request must therefore record names in the info of the generation it was submitted in
   * (request/job.ts, submitJob).
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * What submit() gets for a SQL text: the id of its registered copy (registered on first use),
   * so the addon never reads the same JS string twice; the text itself for long scripts.
   */
  argument(sql: string | undefined): string | number | undefined {
    if (sql === undefined || sql.length > MAX_REGISTERED_SQL_LENGTH) return sql;
    let id = this.#ids.get(sql);
    if (id === undefined) {
      if (this.#ids.size >= MAX_SQL_IDS) this.#startOver();
      id = this.#native.registerSql(sql);
      this.#ids.set(sql, id);
    }
    return id;
  }

  /** What is known about the read statement `sql` (a blank record the first time). */
  statement(sql: string): StatementInfo {
    let info = this.#statements.get(sql);
    if (!info) {
      if (this.#statements.size >= MAX_STATEMENT_INFOS) this.#startOver();
      info = { writes: false, columns: [], wantNames: false, generation: this.#generation };
      this.#statements.set(sql, info);
    }
    return info;
  }

  #startOver(): void {
    this.#ids.clear();
    this.#statements.clear();
    this.#generation++;
    this.#native.forgetSql();
  }
}
