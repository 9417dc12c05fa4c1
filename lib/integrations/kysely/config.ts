// Owns the LitepoolDialect's configuration: its type (a pool, or a path and open() options) and
// its validation, done when the dialect is constructed so a mistake fails at startup.

import type { Pool, PoolOptions, TransactionBehavior } from '../../index.ts';
import { checkChoice, checkObject, checkPool, checkTimeout, invalidArgument, splitKeys } from '../arguments.ts';

/** Settings of the dialect's transactions. */
export interface LitepoolDialectSettings {
  /**
   * How write transactions begin: `'immediate'` (default: the write lock taken up front),
   * `'deferred'` or `'exclusive'`. Transactions with `accessMode: 'read only'` take a reader
   * snapshot instead.
   */
  transactionBehavior?: TransactionBehavior;
  /**
   * Milliseconds a write transaction may stay open before it is rolled back with
   * TransactionTimeoutError (default: db.transaction()'s, 30 000). Read-only transactions end
   * after the pool's `maxReadDuration`.
   */
  transactionTimeout?: number;
}

type NoPoolOptions = { [K in keyof PoolOptions]?: never };

/**
 * `{ pool }` runs Kysely on a pool you opened (and close); `{ path, ...options }` opens one with
 * open(path, options) when Kysely first needs it and closes it on `db.destroy()`.
 */
export type LitepoolDialectConfig = LitepoolDialectSettings &
  (({ pool: Pool; path?: never } & NoPoolOptions) | ({ path: string; pool?: never } & PoolOptions));

export interface ResolvedDialectConfig {
  /** The pool given, or undefined when the dialect opens its own. */
  pool: Pool | undefined;
  path: string | undefined;
  /** open() options (validated by open() itself). */
  poolOptions: PoolOptions;
  behavior: TransactionBehavior | undefined;
  timeout: number | undefined;
}

const OWN_KEYS = ['pool', 'path', 'transactionBehavior', 'transactionTimeout'] as const;

export function resolveDialectConfig(config: unknown): ResolvedDialectConfig {
  const given = checkObject('LitepoolDialect config', config);
  const { own, rest } = splitKeys(given, OWN_KEYS);
  const behavior = checkChoice('transactionBehavior', own.transactionBehavior, ['deferred', 'immediate', 'exclusive'] as const);
  const timeout = checkTimeout('transactionTimeout', own.transactionTimeout);
  if (own.pool !== undefined) {
    if (own.path !== undefined || Object.keys(rest).length > 0) {
      const extra = [...(own.path !== undefined ? ['path'] : []), ...Object.keys(rest)].join(', ');
      throw invalidArgument(`LitepoolDialect takes either { pool } or { path, ...options }, not both (got pool and ${extra})`);
    }
    return { pool: checkPool('pool', own.pool), path: undefined, poolOptions: {}, behavior, timeout };
  }
  if (typeof own.path !== 'string') {
    throw invalidArgument('LitepoolDialect needs { pool } (an open litepool Pool) or { path, ...options } (to open one)');
  }
  return { pool: undefined, path: own.path, poolOptions: rest as PoolOptions, behavior, timeout };
}
