// Owns the Fastify plugin's options and per-route settings: their types and their validation
// (at registration for the plugin's options, when a route is added for its settings).

import type { Pool, PoolOptions, TransactionBehavior } from '../../index.ts';
import { checkChoice, checkObject, checkPool, checkTimeout, describe, invalidArgument, splitKeys } from '../arguments.ts';

type NoPoolOptions = { [K in keyof PoolOptions]?: never };

/**
 * `{ path, ...options }` opens a pool with open(path, options) and closes it when the app closes;
 * `{ pool }` decorates the app with a pool you opened (and close). `name` registers it as
 * `app.litepool[name]` instead of `app.litepool`.
 */
export type LitepoolPluginOptions = { name?: string } & (
  | ({ pool: Pool; path?: never } & NoPoolOptions)
  | ({ path: string; pool?: never } & PoolOptions)
);

/** A route's transaction: every statement of the handler on `request.litepoolTx`. */
export interface RouteTransactionOptions {
  /** The instance (a `name` given at registration); the unnamed one by default. */
  name?: string;
  /** How the transaction begins (default 'immediate'). */
  behavior?: TransactionBehavior;
  /** Milliseconds before it is rolled back with TransactionTimeoutError (default: db.transaction()'s, 30 000). */
  timeout?: number;
}

/** What a route's `config.litepool` may hold. */
export interface LitepoolRouteConfig {
  /**
   * Runs the handler inside a transaction on the writer: `request.litepoolTx`. It commits when
   * the reply is sent with a status below 400 and rolls back when the handler throws or the
   * status is 400 or above.
   */
  transaction?: boolean | RouteTransactionOptions;
}

export interface ResolvedPluginOptions {
  name: string | undefined;
  pool: Pool | undefined;
  path: string | undefined;
  poolOptions: PoolOptions;
}

export interface ResolvedRouteTransaction {
  name: string | undefined;
  behavior: TransactionBehavior | undefined;
  timeout: number | undefined;
}

const OWN_KEYS = ['name', 'pool', 'path'] as const;

export function resolvePluginOptions(options: unknown): ResolvedPluginOptions {
  const given = checkObject('litepool plugin options', options);
  const { own, rest } = splitKeys(given, OWN_KEYS);
  const name = checkName(own.name);
  if (own.pool !== undefined) {
    if (own.path !== undefined || Object.keys(rest).length > 0) {
      const extra = [...(own.path !== undefined ? ['path'] : []), ...Object.keys(rest)].join(', ');
      throw invalidArgument(`the litepool plugin takes either { pool } or { path, ...options }, not both (got pool and ${extra})`);
    }
    return { name, pool: checkPool('pool', own.pool), path: undefined, poolOptions: {} };
  }
  if (typeof own.path !== 'string') {
    throw invalidArgument('the litepool plugin needs { path, ...options } (to open a pool) or { pool } (an open litepool Pool)');
  }
  return { name, pool: undefined, path: own.path, poolOptions: rest as PoolOptions };
}

/** A route's `config.litepool`, or undefined when it asks for nothing. */
export function resolveRouteConfig(config: unknown): ResolvedRouteTransaction | undefined {
  if (config === undefined) return undefined;
  const given = checkObject('route config.litepool', config);
  for (const key of Object.keys(given)) {
    if (key !== 'transaction') throw invalidArgument(`unknown route config.litepool option ${key}; known options: transaction`);
  }
  const transaction = given.transaction;
  if (transaction === undefined || transaction === false) return undefined;
  if (transaction === true) return { name: undefined, behavior: undefined, timeout: undefined };
  const settings = checkObject('route config.litepool.transaction (true or an object)', transaction);
  for (const key of Object.keys(settings)) {
    if (!['name', 'behavior', 'timeout'].includes(key)) {
      throw invalidArgument(`unknown route config.litepool.transaction option ${key}; known options: name, behavior, timeout`);
    }
  }
  return {
    name: checkName(settings.name),
    behavior: checkChoice('transaction.behavior', settings.behavior, ['deferred', 'immediate', 'exclusive'] as const),
    timeout: checkTimeout('transaction.timeout', settings.timeout),
  };
}

function checkName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalidArgument(`name must be a non-empty string, got ${describe(value)}`);
  return value;
}
