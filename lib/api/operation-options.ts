// Owns the options each operation takes, their defaults and checks: the one place per-call
// options are normalised (Operations, Pool and every scope use them). Runs on the JS thread.

import { describeType, invalidArgument } from '../errors.ts';
import { DEFAULT_INSERT_CHUNK } from '../input/insert-many.ts';
import { checkBoolean, checkChoice, checkInteger, checkKeys, checkMs, checkSignal } from '../input/validate.ts';
import type { RowMode } from '../request/requests.ts';
import type { TransactionBehavior } from '../types.ts';

/** Which options each operation takes: a key outside its list is a TypeError naming it. */
const OPTION_KEYS = {
  query: ['signal', 'timeout', 'rowMode'],
  write: ['signal', 'timeout'],
  iterate: ['signal', 'timeout', 'rowMode', 'chunkSize'],
  transaction: ['behavior', 'timeout', 'signal'],
  acquire: ['write', 'timeout', 'signal'],
  read: ['timeout', 'signal'],
  insertMany: ['chunkSize', 'signal'],
} as const;

const ROW_MODES = ['object', 'array'] as const;
const BEHAVIORS = ['deferred', 'immediate', 'exclusive'] as const;
const DEFAULT_TRANSACTION_TIMEOUT = 30_000;

/** The options of get, all, run, exec, batch and iterate, checked and completed. */
export interface CheckedOptions {
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  readonly rowMode: RowMode;
  /** iterate(): the caller's rows per chunk; undefined sizes the chunks adaptively (api/iteration.ts). */
  readonly chunkSize: number | undefined;
}

/** What an operation called without options runs with (shared: such calls allocate nothing). */
export function defaultOptions(queryTimeout: number | undefined): CheckedOptions {
  return Object.freeze({ signal: undefined, timeout: queryTimeout, rowMode: 'object', chunkSize: undefined });
}

/** Checks the options of a query (get, all), a write (run, exec, batch) or an iteration. */
export function checkOptions(kind: 'query' | 'write' | 'iterate', options: unknown, defaults: CheckedOptions): CheckedOptions {
  if (options === undefined) return defaults;
  const given = checkKeys('options', options, OPTION_KEYS[kind]);
  return {
    signal: checkSignal(given.signal),
    timeout: given.timeout === undefined ? defaults.timeout : checkMs('timeout', given.timeout),
    rowMode: given.rowMode === undefined ? 'object' : checkChoice('rowMode', given.rowMode, ROW_MODES),
    chunkSize: given.chunkSize === undefined ? undefined : checkInteger('chunkSize', given.chunkSize, 1, 1_000_000),
  };
}

/** The options of transaction(), checked and completed. */
export function checkTransactionOptions(options: unknown): { behavior: TransactionBehavior; timeout: number; signal: AbortSignal | undefined } {
  const given = checkKeys('options', options, OPTION_KEYS.transaction);
  return {
    behavior: given.behavior === undefined ? 'immediate' : checkChoice('behavior', given.behavior, BEHAVIORS),
    timeout: given.timeout === undefined ? DEFAULT_TRANSACTION_TIMEOUT : checkMs('timeout', given.timeout),
    signal: checkSignal(given.signal),
  };
}

/** The options of acquire() (and, without `write`, of read()), checked and completed. */
export function checkAcquireOptions(
  options: unknown,
  acquireTimeout: number,
  kind: 'acquire' | 'read' = 'acquire',
): { write: boolean; timeout: number; signal: AbortSignal | undefined } {
  const given = checkKeys('options', options, OPTION_KEYS[kind]);
  return {
    write: given.write === undefined ? false : checkBoolean('write', given.write),
    timeout: given.timeout === undefined ? acquireTimeout : checkMs('timeout', given.timeout),
    signal: checkSignal(given.signal),
  };
}

/** The options of insertMany(), checked and completed. */
export function checkInsertManyOptions(options: unknown): { chunkSize: number; signal: AbortSignal | undefined } {
  const given = checkKeys('options', options, OPTION_KEYS.insertMany);
  return {
    chunkSize: given.chunkSize === undefined ? DEFAULT_INSERT_CHUNK : checkInteger('chunkSize', given.chunkSize, 1, 1_000_000),
    signal: checkSignal(given.signal),
  };
}

/** Checks that `fn` is a function (the callback of transaction() or read()). */
export function checkCallback(method: string, fn: unknown): void {
  if (typeof fn !== 'function') throw invalidArgument(`${method}() takes a function, got ${describeType(fn)}`);
}

/** Runs `start`; a synchronous throw (a bad argument, a closed pool) becomes a rejected promise. */
export function rejectOnThrow<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error);
  }
}
