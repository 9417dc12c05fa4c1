// Owns QueryLogger: an observer that logs slow queries, failed queries and a sample of the rest
// to any logger with `info` and `warn` (console, pino, bunyan, winston...). Parameter values are
// left out unless asked for, and even then pass through `redact`.
// Runs on the JS thread (the pool calls its hooks there).

import { invalidArgument, outOfRange } from '../errors.ts';
import { checkKeys } from '../input/validate.ts';
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
    checkKeys('options', options, QUERY_LOGGER_OPTIONS);
    const logger = options.logger ?? console;
    if (!logger || typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
      throw invalidArgument('logger must have info() and warn() methods');
    }
    this.#logger = logger;
    this.#slowMs = nonNegative('slowMs', options.slowMs, 100);
    this.#sampleRate = nonNegative('sampleRate', options.sampleRate, 0);
    if (this.#sampleRate > 1) throw outOfRange(`sampleRate must be between 0 and 1, got ${this.#sampleRate}`);
    this.#logErrors = flag('logErrors', options.logErrors, true);
    const params = options.params ?? 'redact';
    if (params !== 'redact' && params !== 'log' && params !== 'omit') {
      throw invalidArgument(`params must be 'redact', 'log' or 'omit', got ${JSON.stringify(params)}`);
    }
    this.#params = params;
    if (options.redact !== undefined && typeof options.redact !== 'function') throw invalidArgument('redact must be a function');
    this.#redact = options.redact ?? redactParams;
    this.#slowTransactionMs = nonNegative('slowTransactionMs', options.slowTransactionMs, this.#slowMs);
    if (options.random !== undefined && typeof options.random !== 'function') throw invalidArgument('random must be a function');
    this.#random = options.random ?? Math.random;
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

function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw outOfRange(`${name} must be a finite number of at least 0, got ${String(value)}`);
  }
  return value;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean, got ${typeof value}`);
  return value;
}
