// Owns QueryLogger: an observer that logs slow queries, failed queries and a sample of the rest
// to any logger with `info` and `warn` (console, pino, bunyan, winston...). Parameter values are
// left out unless asked for, and even then pass through `redact`.
// Runs on the JS thread (the pool calls its hooks there).

import { describeType, invalidArgument } from '../errors.ts';
import { checkAtLeast, checkBoolean, checkChoice, checkKeys, checkNumber } from '../input/validate.ts';
import type { Observer, QueryEvent, TransactionEvent } from './types.ts';

/** Anything with `info` and `warn` methods taking (object, message), as pino does. */
export interface LoggerLike {
  info(obj: object, message?: string): void;
  warn(obj: object, message?: string): void;
  error?(obj: object, message?: string): void;
}

export interface QueryLoggerOptions {
  /** Where the lines go (default `console`). */
  logger?: LoggerLike;
  /** Queries whose total time reaches this many ms are logged with `warn` (default 100). */
  slowMs?: number;
  /** Share of the other successful queries logged with `info`, 0..1 (default 0). */
  sampleRate?: number;
  /** Log failed queries (default true), with `error` when the logger has it, else `warn`. */
  logErrors?: boolean;
  /**
   * What a line says about the parameters: `'redact'` (default) their shape through `redact`,
   * `'log'` their values (they may hold secrets), `'omit'` nothing.
   */
  params?: 'redact' | 'log' | 'omit';
  /** How `'redact'` shows the parameters (default: each value's type and size, never its content). */
  redact?: (params: readonly unknown[]) => unknown;
  /** Transactions whose duration reaches this many ms are logged with `warn` (default: slowMs). */
  slowTransactionMs?: number;
  /** Random source for sampling (default Math.random), for reproducible sampling in tests. */
  random?: () => number;
}

/** What a value looks like with its content removed. */
function redactValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Uint8Array) return `<blob ${value.byteLength} bytes>`;
  if (typeof value === 'string') return `<text ${value.length} chars>`;
  return `<${typeof value}>`;
}

/** The default redaction: keeps the shape of the parameters, never their values. */
export function redactParams(params: readonly unknown[]): string[] {
  return params.map(redactValue);
}

const QUERY_LOGGER_OPTIONS = ['logger', 'slowMs', 'sampleRate', 'logErrors', 'params', 'redact', 'slowTransactionMs', 'random'] as const;

/**
 * Logs slow and failed queries.
 *
 * @example
 * const db = await open('app.db', { observers: [new QueryLogger({ logger: pino(), slowMs: 50 })] });
 */
export class QueryLogger implements Observer {
  readonly #logger: LoggerLike;
  readonly #slowMs: number;
  readonly #sampleRate: number;
  readonly #logErrors: boolean;
  readonly #params: 'redact' | 'log' | 'omit';
  readonly #redact: (params: readonly unknown[]) => unknown;
  readonly #slowTransactionMs: number;
  readonly #random: () => number;
  readonly wantsParams: boolean;

  constructor(options: QueryLoggerOptions = {}) {
    // Each option read once; a wrong type is a TypeError, an out-of-range value a RangeError.
    const given = checkKeys('options', options, QUERY_LOGGER_OPTIONS) as QueryLoggerOptions;
    const logger = given.logger ?? console;
    if (!logger || typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
      throw invalidArgument('logger must have info() and warn() methods');
    }
    this.#logger = logger;
    this.#slowMs = given.slowMs === undefined ? 100 : checkAtLeast('slowMs', given.slowMs, 0);
    this.#sampleRate = given.sampleRate === undefined ? 0 : checkNumber('sampleRate', given.sampleRate, 0, 1);
    this.#logErrors = given.logErrors === undefined ? true : checkBoolean('logErrors', given.logErrors);
    const params = given.params === undefined ? 'redact' : checkChoice('params', given.params, ['redact', 'log', 'omit']);
    this.#params = params;
    this.#redact = given.redact === undefined ? redactParams : checkFunction('redact', given.redact);
    this.#slowTransactionMs = given.slowTransactionMs === undefined ? this.#slowMs : checkAtLeast('slowTransactionMs', given.slowTransactionMs, 0);
    this.#random = given.random === undefined ? Math.random : checkFunction('random', given.random);
    this.wantsParams = params !== 'omit';
  }

  onQuery(e: QueryEvent): void {
    if (e.error) {
      if (!this.#logErrors) return;
      const line = this.#line(e);
      const message = `litepool: ${e.operation} failed with ${e.error.code}`;
      if (typeof this.#logger.error === 'function') this.#logger.error(line, message);
      else this.#logger.warn(line, message);
      return;
    }
    if (e.totalMs >= this.#slowMs) {
      this.#logger.warn(this.#line(e), `litepool: slow ${e.operation} (${e.totalMs.toFixed(1)} ms: ${e.queuedMs.toFixed(1)} ms queued, ${e.execMs.toFixed(1)} ms running)`);
      return;
    }
    if (this.#sampleRate > 0 && this.#random() < this.#sampleRate) {
      this.#logger.info(this.#line(e), `litepool: ${e.operation} (${e.totalMs.toFixed(1)} ms)`);
    }
  }

  onTransaction(e: TransactionEvent): void {
    if (e.phase === 'begin' || e.durationMs < this.#slowTransactionMs) return;
    this.#logger.warn({ phase: e.phase, durationMs: e.durationMs }, `litepool: slow transaction (${e.durationMs.toFixed(1)} ms, ${e.phase})`);
  }

  #line(e: QueryEvent): Record<string, unknown> {
    const line: Record<string, unknown> = {
      operation: e.operation,
      sql: e.sql,
      role: e.role,
      connectionId: e.connectionId,
      queuedMs: e.queuedMs,
      execMs: e.execMs,
      totalMs: e.totalMs,
      rows: e.rows,
      changes: e.changes,
    };
    if (e.inTransaction) line['inTransaction'] = true;
    if (e.groupSize !== undefined) line['groupSize'] = e.groupSize;
    if (e.error) line['error'] = e.error;
    if (e.params && this.#params !== 'omit') line['params'] = this.#params === 'log' ? e.params : this.#redact(e.params);
    return line;
  }
}

function checkFunction<F>(name: string, value: F): F {
  if (typeof value !== 'function') throw invalidArgument(`${name} must be a function, got ${describeType(value)}`);
  return value;
}
