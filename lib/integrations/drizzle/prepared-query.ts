// Owns Drizzle's prepared query on litepool: run (db.run: changes and last rowid), all / get
// (db.all / db.get: reads on the readers, RETURNING rerouted to the writer by SQLite's own
// analysis), values (rows as arrays), the mapping of array rows onto Drizzle's selected fields,
// and the raw results db.batch() hands back to Drizzle.
// Runs on the JS thread.

import { entityKind, fillPlaceholders, type Logger, type Query } from 'drizzle-orm';
import * as drizzle from 'drizzle-orm';
import type { Cache } from 'drizzle-orm/cache/core';
import type { WithCacheConfig } from 'drizzle-orm/cache/core/types';
import { SQLitePreparedQuery, type PreparedQueryConfig, type SelectedFieldsOrdered, type SQLiteExecuteMethod } from 'drizzle-orm/sqlite-core';
import type { Params, RunResult, SqlValue } from '../../index.ts';
import type { Statements } from '../statements.ts';

/** Drizzle's row mapper: exported at run time by every Drizzle version, absent from its types. */
const mapResultRow = (drizzle as unknown as {
  mapResultRow: (fields: SelectedFieldsOrdered, row: unknown[], joinsNotNullableMap: Record<string, boolean> | undefined) => unknown;
}).mapResultRow;

type CustomResultMapper = (rows: unknown[][], mapColumnValue?: (value: unknown) => unknown) => unknown;

export type QueryMetadata = { type: 'select' | 'update' | 'delete' | 'insert'; tables: string[] } | undefined;

export type LitepoolQueryConfig = Omit<PreparedQueryConfig, 'run'>;

export class LitepoolPreparedQuery<T extends LitepoolQueryConfig = LitepoolQueryConfig> extends SQLitePreparedQuery<{
  type: 'async';
  run: RunResult;
  all: T['all'];
  get: T['get'];
  values: T['values'];
  execute: T['execute'];
}> {
  static override readonly [entityKind]: string = 'LitepoolPreparedQuery';

  readonly #statements: Statements;
  readonly #logger: Logger;
  readonly #fields: SelectedFieldsOrdered | undefined;
  readonly #arrayMode: boolean;
  readonly #mapper: CustomResultMapper | undefined;
  /** 'run', 'all' or 'get': what execute() does, and what a batch runs. */
  readonly method: SQLiteExecuteMethod;
  /** True for a select (Drizzle's select builder says so): the only query iterate() streams. */
  readonly isSelect: boolean;

  constructor(
    statements: Statements,
    query: Query,
    logger: Logger,
    cache: Cache | undefined,
    queryMetadata: QueryMetadata,
    cacheConfig: WithCacheConfig | undefined,
    fields: SelectedFieldsOrdered | undefined,
    executeMethod: SQLiteExecuteMethod,
    isResponseInArrayMode: boolean,
    customResultMapper?: CustomResultMapper,
  ) {
    super('async', executeMethod, query, cache, queryMetadata, cacheConfig);
    this.#statements = statements;
    this.#logger = logger;
    this.#fields = fields;
    this.#arrayMode = isResponseInArrayMode;
    this.#mapper = customResultMapper;
    this.method = executeMethod;
    this.isSelect = queryMetadata?.type === 'select';
  }

  /** True when rows must come back as arrays (Drizzle maps them onto its selected fields). */
  get wantsArrays(): boolean {
    return this.#fields !== undefined || this.#mapper !== undefined;
  }

  /** True for a query whose rows come out of a custom mapper (the relational API): not streamable. */
  get mapsWholeResult(): boolean {
    return this.#mapper !== undefined;
  }

  async run(placeholderValues?: Record<string, unknown>): Promise<RunResult> {
    const params = this.#params(placeholderValues);
    return this.#withCache(params, () => this.#statements.run(this.query.sql, params));
  }

  async all(placeholderValues?: Record<string, unknown>): Promise<T['all']> {
    const params = this.#params(placeholderValues);
    if (!this.wantsArrays) {
      return this.#withCache(params, () => this.#statements.all(this.query.sql, params));
    }
    const rows = await this.#withCache(params, () => this.#statements.all(this.query.sql, params, { rowMode: 'array' }));
    return this.mapAllResult(rows) as T['all'];
  }

  async get(placeholderValues?: Record<string, unknown>): Promise<T['get']> {
    const params = this.#params(placeholderValues);
    if (!this.wantsArrays) {
      return this.#withCache(params, () => this.#statements.get(this.query.sql, params));
    }
    const row = await this.#withCache(params, () => this.#statements.get(this.query.sql, params, { rowMode: 'array' }));
    return this.mapGetResult(row) as T['get'];
  }

  async values(placeholderValues?: Record<string, unknown>): Promise<T['values']> {
    const params = this.#params(placeholderValues);
    return this.#withCache(params, () => this.#statements.all(this.query.sql, params, { rowMode: 'array' }));
  }

  /** Rows (arrays when wantsArrays) of this query's statement, streamed in chunks, mapped like all(). */
  async *iterate(placeholderValues: Record<string, unknown> | undefined, options: { chunkSize?: number; signal?: AbortSignal }): AsyncGenerator<unknown> {
    const params = this.#params(placeholderValues);
    if (!this.wantsArrays) {
      yield* this.#statements.iterate(this.query.sql, params, options);
      return;
    }
    for await (const row of this.#statements.iterate(this.query.sql, params, { ...options, rowMode: 'array' })) {
      yield mapResultRow(this.#fields!, row, this.#joinsNotNullableMap);
    }
  }

  override mapAllResult(rows: unknown, _isFromBatch?: boolean): unknown {
    const list = rows as unknown[][];
    if (!this.wantsArrays) return list;
    if (this.#mapper) return this.#mapper(list);
    return list.map((row) => mapResultRow(this.#fields!, row, this.#joinsNotNullableMap));
  }

  override mapGetResult(row: unknown, _isFromBatch?: boolean): unknown {
    if (!this.wantsArrays) return row;
    if (row === undefined) return undefined;
    if (this.#mapper) return this.#mapper([row as unknown[]]);
    return mapResultRow(this.#fields!, row as unknown[], this.#joinsNotNullableMap);
  }

  /** @internal Drizzle asks whether rows come back as arrays (relational queries). */
  isResponseInArrayMode(): boolean {
    return this.#arrayMode;
  }

  /**
   * Drizzle's own wrapper around a statement (internal to its types, used by every async driver
   * it ships): its query cache when one is configured, and failures reported as DrizzleQueryError
   * (the SqliteError as `cause`).
   */
  #withCache<R>(params: Params, run: () => Promise<R>): Promise<R> {
    const base = this as unknown as { queryWithCache?: (sql: string, params: unknown[], run: () => Promise<R>) => Promise<R> };
    return base.queryWithCache ? base.queryWithCache(this.query.sql, params as unknown[], run) : run();
  }

  get #joinsNotNullableMap(): Record<string, boolean> | undefined {
    // Set by Drizzle's select builder on the prepared query; internal to Drizzle's types.
    return (this as unknown as { joinsNotNullableMap?: Record<string, boolean> }).joinsNotNullableMap;
  }

  #params(placeholderValues: Record<string, unknown> | undefined): Params {
    const params = fillPlaceholders(this.query.params, placeholderValues ?? {}) as SqlValue[];
    this.#logger.logQuery(this.query.sql, params);
    return params;
  }
}
