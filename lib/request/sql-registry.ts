// Owns what the JS side remembers per SQL text: the id of its copy registered with the addon
// (so the addon reads each distinct text once), and for reads, whether the statement turned out
// to write (then it goes straight to the writer) and its column names and row builder.
// Runs on the JS thread.

import type { NativePool } from '../native/native-pool.ts';
import type { RowBuilder } from './rows.ts';

/** What the JS side knows about one read statement. */
export interface StatementInfo {
  /** A reader found it is not read-only: send it straight to the writer from now on. */
  writes: boolean;
  names: readonly string[] | undefined;
  build: RowBuilder | undefined;
}

/** Distinct SQL texts registered with the addon at once (then the registry starts over). */
const MAX_SQL_IDS = 4096;
/** Longer SQL texts (scripts) are passed as text each time rather than kept registered. */
const MAX_REGISTERED_SQL_LENGTH = 8192;
/** Read statements remembered at once (then the memory starts over). */
const MAX_STATEMENT_INFOS = 4096;

export class SqlRegistry {
  readonly #native: Pick<NativePool, 'registerSql' | 'forgetSql'>;
  readonly #ids = new Map<string, number>();
  readonly #statements = new Map<string, StatementInfo>();

  constructor(native: Pick<NativePool, 'registerSql' | 'forgetSql'>) {
    this.#native = native;
  }

  /**
   * What submit() gets for a SQL text: the id of its registered copy (registered on first use),
   * so the addon never reads the same JS string twice; the text itself for long scripts.
   */
  argument(sql: string | undefined): string | number | undefined {
    if (sql === undefined || sql.length > MAX_REGISTERED_SQL_LENGTH) return sql;
    let id = this.#ids.get(sql);
    if (id === undefined) {
      if (this.#ids.size >= MAX_SQL_IDS) {
        this.#ids.clear();
        this.#native.forgetSql();
      }
      id = this.#native.registerSql(sql);
      this.#ids.set(sql, id);
    }
    return id;
  }

  /** What is known about the read statement `sql` (a blank record the first time). */
  statement(sql: string): StatementInfo {
    let info = this.#statements.get(sql);
    if (!info) {
      if (this.#statements.size >= MAX_STATEMENT_INFOS) this.#statements.clear();
      info = { writes: false, names: undefined, build: undefined };
      this.#statements.set(sql, info);
    }
    return info;
  }
}
