// Owns what the JS side remembers per SQL text: the id of its copy registered with the addon
// (so the addon reads each distinct text once), and for reads, whether the statement turned out
// to write (then it goes straight to the writer), its column names and row builder, and how long
// it takes to run (which of the readers' two lanes it goes to). Runs on the JS thread.

import type { NativePool } from '../native/native-pool.ts';
import type { RowBuilder } from './rows.ts';

/** What the JS side knows about one read statement. */
export interface StatementInfo {
  /** A reader found it is not read-only: send it straight to the writer from now on. */
  writes: boolean;
  names: readonly string[] | undefined;
  build: RowBuilder | undefined;
  /** Its estimated execution time on a reader in µs (see noteExecution); -1 before its first run. */
  execMicros: number;
}

/**
 * A read whose estimated execution time reaches this many µs is expensive: it goes to the
 * readers' expensive lane, which at most `readers - 1` readers serve at once, so that cheap reads
 * never wait behind it (docs/tuning.md, "Cheap and expensive reads"). A point read by primary key
 * takes 5-30 µs; a join with a group-by over thousands of rows takes milliseconds.
 */
export const EXPENSIVE_MICROS = 200;
/** One run counts for at most this much in the estimate, so that one preempted run (the clock
 * is the wall clock) cannot make a cheap statement expensive by itself. */
const SAMPLE_CAP_MICROS = 2 * EXPENSIVE_MICROS;

/**
 * Folds one run's native execution time (µs; -1: not a read that ran on a reader, ignored) into
 * the statement's estimate: the first run sets it, later ones move it a quarter of the way (an
 * exponentially weighted moving average).
 */
export function noteExecution(info: StatementInfo, micros: number): void {
  if (micros < 0) return; // not a read that ran on a reader
  const sample = micros < SAMPLE_CAP_MICROS ? micros : SAMPLE_CAP_MICROS;
  info.execMicros = info.execMicros < 0 ? sample : info.execMicros + (sample - info.execMicros) * 0.25;
}

/** Whether a read of this statement goes to the expensive lane (unknown statements do not). */
export const isExpensive = (info: StatementInfo): boolean => info.execMicros >= EXPENSIVE_MICROS;

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
      info = { writes: false, names: undefined, build: undefined, execMicros: -1 };
      this.#statements.set(sql, info);
    }
    return info;
  }
}
