// Owns Drizzle's session and transaction classes on litepool. A session runs on the pool, on a
// transaction or on a write lease (see connection.ts): db.transaction(fn, { behavior }) is the
// pool's own transaction (the writer held, BEGIN IMMEDIATE unless told otherwise, its timeout,
// rollback on a throw), nested transactions are its SAVEPOINTs, and db.batch() is one atomic
// db.batch() round trip when every item is a plain write, else one transaction (tx.batch(): a
// SAVEPOINT of the transaction). The pool's `retry` runs db.transaction()'s fn again after a
// transient failure although Drizzle wraps it (retried below).
// Runs on the JS thread.

import { DrizzleQueryError, entityKind, NoopLogger, type Logger, type Query, type RelationalSchemaConfig, type TablesRelationalConfig } from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import { NoopCache, type Cache } from 'drizzle-orm/cache/core';
import type { WithCacheConfig } from 'drizzle-orm/cache/core/types';
import {
  SQLiteSession,
  SQLiteTransaction,
  type SelectedFieldsOrdered,
  type SQLiteAsyncDialect,
  type SQLiteExecuteMethod,
  type SQLiteTransactionConfig,
} from 'drizzle-orm/sqlite-core';
import { isTransient } from '../../connections/retry.ts';
import type { RunResult } from '../../index.ts';
import { misuse } from '../arguments.ts';
import type { Statements } from '../statements.ts';
import { batchError, prepareBatch, runSteps, type FailedStep } from './batch.ts';
import { statementsOf, type Connection } from './connection.ts';
import { LitepoolPreparedQuery, type LitepoolQueryConfig, type QueryMetadata } from './prepared-query.ts';

export interface LitepoolSessionOptions {
  logger?: Logger | undefined;
  cache?: Cache | undefined;
}

type Schema<TSchema extends TablesRelationalConfig> = RelationalSchemaConfig<TSchema> | undefined;

export class LitepoolSession<TFullSchema extends Record<string, unknown>, TSchema extends TablesRelationalConfig> extends SQLiteSession<
  'async',
  RunResult,
  TFullSchema,
  TSchema
> {
  static override readonly [entityKind]: string = 'LitepoolSession';

  readonly #connection: Connection;
  readonly #dialect: SQLiteAsyncDialect;
  readonly #schema: Schema<TSchema>;
  readonly #options: LitepoolSessionOptions;
  readonly #logger: Logger;
  readonly #cache: Cache;

  constructor(connection: Connection, dialect: SQLiteAsyncDialect, schema: Schema<TSchema>, options: LitepoolSessionOptions = {}) {
    super(dialect);
    this.#connection = connection;
    this.#dialect = dialect;
    this.#schema = schema;
    this.#options = options;
    this.#logger = options.logger ?? new NoopLogger();
    this.#cache = options.cache ?? new NoopCache();
  }

  /** The same session on another connection (a transaction, a lease). */
  on(connection: Connection): LitepoolSession<TFullSchema, TSchema> {
    return new LitepoolSession(connection, this.#dialect, this.#schema, this.#options);
  }

  prepareQuery<T extends LitepoolQueryConfig>(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    executeMethod: SQLiteExecuteMethod,
    isResponseInArrayMode: boolean,
    customResultMapper?: (rows: unknown[][], mapColumnValue?: (value: unknown) => unknown) => unknown,
    queryMetadata?: QueryMetadata,
    cacheConfig?: WithCacheConfig,
  ): LitepoolPreparedQuery<T> {
    return new LitepoolPreparedQuery<T>(
      statementsOf(this.#connection),
      query,
      this.#logger,
      this.#cache,
      queryMetadata,
      cacheConfig,
      fields,
      executeMethod,
      isResponseInArrayMode,
      customResultMapper,
    );
  }

  /**
   * Runs every query of the batch, all or nothing. Plain writes only: one db.batch() round trip.
   * Otherwise (reads, RETURNING) one after another in one transaction (a SAVEPOINT inside one).
   * A failure rejects with DrizzleQueryError, as a single query's does.
   */
  async batch(queries: readonly BatchItem<'sqlite'>[]): Promise<unknown[]> {
    const { prepared, steps } = prepareBatch(queries, this.#logger);
    const failed: FailedStep = {};
    let results: unknown[];
    try {
      results = steps.every((step) => step.method === 'run')
        ? await statementsOf(this.#connection).batch(steps.map(({ sql, params }) => ({ sql, params })))
        : await this.#atomically((statements) => runSteps(statements, steps, failed));
    } catch (error) {
      throw batchError(error, steps, failed);
    }
    return results.map((result, i) => prepared[i]!.mapResult(result, true));
  }

  override async transaction<T>(
    transaction: (tx: LitepoolTransaction<TFullSchema, TSchema>) => T | Promise<T>,
    config?: SQLiteTransactionConfig,
  ): Promise<T> {
    const connection = this.#connection;
    switch (connection.kind) {
      case 'pool': {
        // Drizzle reports a failed statement as DrizzleQueryError (the SqliteError its cause); the
        // pool's retry knows a transient failure by its SqliteError. So fn hands the pool the
        // cause of a transient one, and the caller still gets the DrizzleQueryError when the
        // transaction fails for good.
        const wrappers = new WeakMap<object, DrizzleQueryError>();
        try {
          return await connection.pool.transaction(
            async (tx) => {
              try {
                return await transaction(new LitepoolTransaction(this.#dialect, this.on({ kind: 'transaction', tx }), this.#schema, 0));
              } catch (error) {
                if (!(error instanceof DrizzleQueryError) || !isTransient(error.cause, true)) throw error;
                wrappers.set(error.cause as object, error);
                throw error.cause;
              }
            },
            config?.behavior === undefined ? undefined : { behavior: config.behavior },
          );
        } catch (error) {
          throw (typeof error === 'object' && error !== null ? wrappers.get(error) : undefined) ?? error;
        }
      }
      case 'transaction':
        return this.nested(transaction, 1);
      case 'lease': {
        // The migrator's write lease: BEGIN on it, and the lease is released by its owner.
        const lease = connection.lease;
        await lease.exec(`BEGIN ${(config?.behavior ?? 'immediate').toUpperCase()}`);
        try {
          const result = await transaction(new LitepoolTransaction(this.#dialect, this, this.#schema, 0));
          await lease.exec('COMMIT');
          return result;
        } catch (error) {
          await lease.exec('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
    }
  }

  /** A nested transaction: a SAVEPOINT of the transaction this session runs on. */
  async nested<T>(transaction: (tx: LitepoolTransaction<TFullSchema, TSchema>) => T | Promise<T>, depth: number): Promise<T> {
    const connection = this.#connection;
    if (connection.kind === 'transaction') {
      return connection.tx.transaction((inner) =>
        transaction(new LitepoolTransaction(this.#dialect, this.on({ kind: 'transaction', tx: inner }), this.#schema, depth)),
      );
    }
    if (connection.kind === 'lease') {
      return this.#savepoint(connection.lease, `drizzle_sp${depth}`, () =>
        Promise.resolve(transaction(new LitepoolTransaction(this.#dialect, this, this.#schema, depth))),
      );
    }
    throw misuse('a nested transaction needs an open transaction');
  }

  /** @internal How db.batch() reads a db.all(sql`...`) item's result. */
  extractRawAllValueFromBatchResult(result: unknown): unknown {
    return result;
  }

  /** @internal How db.batch() reads a db.get(sql`...`) item's result. */
  extractRawGetValueFromBatchResult(result: unknown): unknown {
    return result;
  }

  /** @internal How db.batch() reads a db.values(sql`...`) item's result. */
  extractRawValuesValueFromBatchResult(result: unknown): unknown {
    return result;
  }

  #atomically<T>(body: (statements: Statements) => Promise<T>): Promise<T> {
    const connection = this.#connection;
    switch (connection.kind) {
      case 'pool':
        return connection.pool.transaction((tx) => body(tx));
      case 'transaction':
        return connection.tx.transaction((inner) => body(inner));
      case 'lease':
        return this.#savepoint(connection.lease, 'drizzle_batch', () => body(connection.lease));
    }
  }

  async #savepoint<T>(statements: Statements, name: string, body: () => Promise<T>): Promise<T> {
    await statements.exec(`SAVEPOINT ${name}`);
    try {
      const result = await body();
      await statements.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      await statements.exec(`ROLLBACK TO ${name}; RELEASE ${name}`).catch(() => undefined);
      throw error;
    }
  }
}

/** The `tx` of `db.transaction(async (tx) => ...)`. */
export class LitepoolTransaction<TFullSchema extends Record<string, unknown>, TSchema extends TablesRelationalConfig> extends SQLiteTransaction<
  'async',
  RunResult,
  TFullSchema,
  TSchema
> {
  static override readonly [entityKind]: string = 'LitepoolTransaction';

  readonly #session: LitepoolSession<TFullSchema, TSchema>;

  /** @internal */
  constructor(dialect: SQLiteAsyncDialect, session: LitepoolSession<TFullSchema, TSchema>, schema: Schema<TSchema>, nestedIndex: number) {
    super('async', dialect, session, schema, nestedIndex);
    this.#session = session;
  }

  /** A nested transaction (a SAVEPOINT): rolled back alone when `transaction` throws. */
  override transaction<T>(transaction: (tx: LitepoolTransaction<TFullSchema, TSchema>) => Promise<T>): Promise<T> {
    return this.#session.nested(transaction, this.nestedIndex + 1);
  }

  /**
   * db.batch() inside the transaction: its queries all or nothing, as a SAVEPOINT (a failing
   * batch is undone alone, and the transaction goes on).
   */
  async batch<U extends BatchItem<'sqlite'>, T extends Readonly<[U, ...U[]]>>(batch: T): Promise<BatchResponse<T>> {
    return (await this.#session.batch(batch)) as BatchResponse<T>;
  }
}
