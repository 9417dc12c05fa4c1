// Owns the DatabaseConnection Kysely runs queries on. Outside a transaction it is only a route to
// the pool: every query goes where db.all/db.run would send it, reads to the reader threads,
// writes to the writer, so any number of these connections run queries at once. Inside a
// transaction it holds one (the writer, or a reader snapshot for 'read only') and runs every
// query, savepoint and stream on it until commit or rollback.
// Runs on the JS thread.

import type { CompiledQuery, DatabaseConnection, QueryResult, TransactionSettings } from 'kysely';
import { ScopeEndedError, type Lease, type Pool, type SqlValue, type Transaction, type TransactionBehavior } from '../../index.ts';
import { misuse } from '../arguments.ts';
import { holdSnapshot, holdTransaction, type HeldTransaction } from '../held-transaction.ts';
import { isWriteNode, kindOfNode, type RawStatementKinds } from './statement-kind.ts';
import type { Statements } from '../statements.ts';

/** How transactions begin: the dialect's settings. */
export interface TransactionDefaults {
  behavior: TransactionBehavior | undefined;
  timeout: number | undefined;
}

/** Kysely's per-query options (0.29 passes the query's AbortSignal; older versions nothing). */
interface QueryOptions {
  readonly signal?: AbortSignal | undefined;
}

export class LitepoolConnection implements DatabaseConnection {
  readonly #pool: Pool;
  readonly #kinds: RawStatementKinds;
  #held: HeldTransaction<Transaction | Lease> | undefined;
  /** Queries running with a signal, which cancelQuery() interrupts. */
  readonly #cancellable = new Set<AbortController>();

  constructor(pool: Pool, kinds: RawStatementKinds) {
    this.#pool = pool;
    this.#kinds = kinds;
  }

  /** True while a transaction is open on this connection. */
  get inTransaction(): boolean {
    return this.#held !== undefined;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery, options?: QueryOptions): Promise<QueryResult<R>> {
    try {
      return await this.#execute<R>(compiledQuery, options);
    } catch (error) {
      throw this.#explain(error);
    }
  }

  async #execute<R>(compiledQuery: CompiledQuery, options?: QueryOptions): Promise<QueryResult<R>> {
    const target = this.#target();
    const { sql, query } = compiledQuery;
    const params = compiledQuery.parameters as readonly SqlValue[];
    // A query given a signal can be cancelled by Kysely ('cancel query'): it gets its own.
    const controller = options?.signal ? new AbortController() : undefined;
    const how = controller ? { signal: controller.signal } : undefined;
    if (controller) this.#cancellable.add(controller);
    try {
      const kind = kindOfNode(query) ?? (await this.#kinds.of(target, sql, params));
      if (kind === 'rows') {
        const rows = await target.all<R>(sql, params, how);
        // RETURNING reports one row per row changed.
        return isWriteNode(query) ? { rows, numAffectedRows: BigInt(rows.length) } : { rows };
      }
      const { changes, lastInsertRowid } = await target.run(sql, params, how);
      return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
    } finally {
      if (controller) this.#cancellable.delete(controller);
    }
  }

  /**
   * Kysely's `inflightQueryAbortStrategy: 'cancel query'`: interrupts the statements this
   * connection is running for queries given a signal. (With the default, 'ignore query', an
   * aborted query's statement runs to its end and its result is dropped.)
   */
  async cancelQuery(): Promise<void> {
    for (const controller of this.#cancellable) controller.abort();
  }

  /**
   * Streams the rows of a read query in chunks of `chunkSize`, from a reader of the stream's own
   * (or from the transaction's connection), fetching the next chunk only when Kysely asks.
   */
  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    // An aborted stream is stopped by Kysely between chunks (return() frees the reader at once).
    const size = chunkSize ?? 100;
    const rows = this.#target().iterate<R>(compiledQuery.sql, compiledQuery.parameters as readonly SqlValue[], { chunkSize: size });
    let chunk: R[] = [];
    try {
      for await (const row of rows) {
        chunk.push(row);
        if (chunk.length >= size) {
          yield { rows: chunk };
          chunk = [];
        }
      }
    } catch (error) {
      throw this.#explain(error);
    }
    if (chunk.length > 0) yield { rows: chunk };
  }

  /** BEGIN: a write transaction on the writer, or a snapshot on a reader for 'read only'. */
  async begin(settings: TransactionSettings, defaults: TransactionDefaults): Promise<void> {
    if (this.#held) throw misuse('a transaction is already open on this connection');
    // SQLite transactions are serializable, which satisfies every isolation level Kysely names.
    this.#held =
      settings.accessMode === 'read only'
        ? await holdSnapshot(this.#pool)
        : await holdTransaction(this.#pool, { behavior: defaults.behavior, timeout: defaults.timeout });
  }

  /** COMMIT. Rejects, with the transaction rolled back, when it had failed (its timeout...). */
  async commit(): Promise<void> {
    const held = this.#end();
    await held.commit();
  }

  /** ROLLBACK. Resolves once the transaction has ended, however it ended. */
  async rollback(): Promise<void> {
    const held = this.#end();
    await held.rollback();
  }

  /** Runs a SAVEPOINT / ROLLBACK TO / RELEASE statement inside the open transaction. */
  async savepointCommand(compiledQuery: CompiledQuery): Promise<void> {
    if (!this.#held) throw misuse('savepoints need an open transaction');
    await this.#held.scope.exec(compiledQuery.sql);
  }

  /** Ends a transaction its user left open (Kysely releases a connection after rollback/commit). */
  async reset(): Promise<void> {
    if (this.#held) await this.rollback();
  }

  /** A statement refused because the transaction had already ended: the reason it ended. */
  #explain(error: unknown): unknown {
    const failure = this.#held?.failure;
    return error instanceof ScopeEndedError && failure !== undefined ? failure : error;
  }

  #end(): HeldTransaction<Transaction | Lease> {
    const held = this.#held;
    if (!held) throw misuse('no transaction is open on this connection');
    this.#held = undefined;
    return held;
  }

  #target(): Statements {
    return this.#held?.scope ?? this.#pool;
  }
}
