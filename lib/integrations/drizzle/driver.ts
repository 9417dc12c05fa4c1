// Owns drizzle(pool, config): the Drizzle database object on a litepool pool (Drizzle's own
// async SQLite dialect and query builders, litepool's session underneath), its configuration
// checks, db.batch(), and db.transaction() typed with litepool's transaction (which has batch()).

import {
  createTableRelationsHelpers,
  DefaultLogger,
  entityKind,
  extractTablesRelationalConfig,
  type DrizzleConfig,
  type ExtractTablesWithRelations,
  type Logger,
  type RelationalSchemaConfig,
  type TablesRelationalConfig,
} from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import type { Cache } from 'drizzle-orm/cache/core';
import { BaseSQLiteDatabase, SQLiteAsyncDialect, type SQLiteTransactionConfig } from 'drizzle-orm/sqlite-core';
import type { Pool, RunResult } from '../../index.ts';
import { checkChoice, checkObject, checkPool, describe, invalidArgument } from '../arguments.ts';
import { LitepoolSession, type LitepoolTransaction } from './session.ts';

/** A Drizzle database on a litepool pool; `$client` is the pool. */
export class LitepoolDatabase<TSchema extends Record<string, unknown> = Record<string, never>> extends BaseSQLiteDatabase<'async', RunResult, TSchema> {
  static override readonly [entityKind]: string = 'LitepoolDatabase';

  /** The pool the database runs on. */
  declare readonly $client: Pool;
  readonly #session: LitepoolSession<TSchema, TablesRelationalConfig>;

  /** @internal Use drizzle(). */
  constructor(dialect: SQLiteAsyncDialect, session: LitepoolSession<TSchema, any>, schema: RelationalSchemaConfig<any> | undefined) {
    // The session's generic schema parameters cannot be spelled out here; Drizzle's own drivers
    // build this object without a typed constructor.
    super('async', dialect, session as any, schema);
    this.#session = session;
  }

  /**
   * Runs the queries all or nothing and resolves with each one's result. Plain writes travel to
   * the writer in one round trip (db.batch()); a batch with reads or RETURNING runs in one
   * transaction.
   *
   * @example
   * const [, inserted] = await db.batch([
   *   db.update(accounts).set({ balance: sql`balance - 100` }).where(eq(accounts.id, 1)),
   *   db.insert(transfers).values({ from: 1, to: 2, amount: 100 }).returning(),
   * ]);
   */
  async batch<U extends BatchItem<'sqlite'>, T extends Readonly<[U, ...U[]]>>(batch: T): Promise<BatchResponse<T>> {
    return (await this.#session.batch(batch)) as BatchResponse<T>;
  }

  /**
   * The pool's db.transaction(): the writer held, BEGIN IMMEDIATE unless `behavior` says
   * otherwise, committed when `transaction` resolves, rolled back when it throws. `tx` has
   * `tx.transaction()` (a SAVEPOINT) and `tx.batch()`.
   */
  override transaction<T>(
    transaction: (tx: LitepoolTransaction<TSchema, ExtractTablesWithRelations<TSchema>>) => Promise<T>,
    config?: SQLiteTransactionConfig,
  ): Promise<T> {
    // The session hands every transaction callback a LitepoolTransaction.
    return super.transaction(transaction as Parameters<BaseSQLiteDatabase<'async', RunResult, TSchema>['transaction']>[0], config) as Promise<T>;
  }
}

/** What the migrator needs from a database drizzle() made. */
export interface DatabaseInternals {
  dialect: SQLiteAsyncDialect;
  session: LitepoolSession<Record<string, unknown>, TablesRelationalConfig>;
}

const internals = new WeakMap<object, DatabaseInternals>();

/** The dialect and session of a database made by drizzle(), or undefined for anything else. */
export function internalsOf(db: unknown): DatabaseInternals | undefined {
  return typeof db === 'object' && db !== null ? internals.get(db) : undefined;
}

const CONFIG_KEYS = ['schema', 'logger', 'casing', 'cache'];
/** What Drizzle calls on a Cache (drizzle-orm/cache/core): a cache without one fails its first query. */
const CACHE_METHODS = ['strategy', 'get', 'put', 'onMutate'] as const;

function checkCache(value: unknown): Cache | undefined {
  if (value === undefined) return undefined;
  const given = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  const missing = given && CACHE_METHODS.filter((name) => typeof given[name] !== 'function');
  if (missing === undefined || missing.length > 0) {
    const without = missing && missing.length > 0 ? ` without ${missing.map((name) => `${name}()`).join(', ')}` : '';
    throw invalidArgument(`cache must be a Drizzle Cache (an object with strategy(), get(), put() and onMutate()), got ${describe(value)}${without}`);
  }
  return value as Cache;
}

/**
 * A Drizzle database on `pool`: reads run on the reader threads, writes on the writer,
 * `db.transaction()` holds the writer, `db.batch()` is atomic.
 *
 * @example
 * import { open } from 'litepool';
 * import { drizzle } from 'litepool/drizzle';
 * import * as schema from './schema.ts';
 *
 * const db = drizzle(await open('app.db'), { schema });
 * const user = await db.query.users.findFirst({ where: (u, { eq }) => eq(u.id, 1) });
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  pool: Pool,
  config: DrizzleConfig<TSchema> = {},
): LitepoolDatabase<TSchema> & { $client: Pool } {
  checkPool('drizzle(pool)', pool);
  const given = checkObject('drizzle() config', config);
  for (const key of Object.keys(given)) {
    if (!CONFIG_KEYS.includes(key)) throw invalidArgument(`unknown drizzle() option ${key}; known options: ${CONFIG_KEYS.join(', ')}`);
  }
  const casing = checkChoice('casing', config.casing, ['snake_case', 'camelCase'] as const);
  let logger: Logger | undefined;
  if (config.logger === true) logger = new DefaultLogger();
  else if (config.logger !== undefined && config.logger !== false) {
    if (typeof (config.logger as Partial<Logger>).logQuery !== 'function') {
      throw invalidArgument(`logger must be a boolean or a Drizzle Logger (an object with logQuery()), got ${describe(config.logger)}`);
    }
    logger = config.logger;
  }
  let schema: RelationalSchemaConfig<TablesRelationalConfig> | undefined;
  if (config.schema !== undefined) {
    checkObject('schema', config.schema);
    const tables = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers);
    schema = { fullSchema: config.schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  }
  const cache = checkCache(config.cache);
  const dialect = new SQLiteAsyncDialect(casing === undefined ? {} : { casing });
  const session = new LitepoolSession<TSchema, TablesRelationalConfig>({ kind: 'pool', pool }, dialect, schema, { logger, cache });
  const db = new LitepoolDatabase<TSchema>(dialect, session, schema);
  Object.defineProperty(db, '$client', { value: pool, enumerable: true });
  if (cache) {
    // As Drizzle's own drivers do: the cache learns about mutations through `onMutate`.
    (db as unknown as { $cache: Cache }).$cache = cache;
    (cache as unknown as { invalidate: unknown }).invalidate = cache.onMutate;
  }
  internals.set(db, { dialect, session: session as unknown as DatabaseInternals['session'] });
  return db as LitepoolDatabase<TSchema> & { $client: Pool };
}
