// Owns the DatabaseConnection Kysely runs queries on. Outside a transaction it is only a route to
// the pool: every query goes where db.all/db.run would send it, reads to the reader threads,
// writes to the writer, so any number of these connections run queries at once (a raw PRAGMA
// given a value runs on a write lease of its own: on the writer, as db.run() runs it). Inside a
// transaction it holds one (the writer, or a reader snapshot for 'read only') and runs every
// query, savepoint and stream on it until commit or rollback; a 'read only' one refuses a raw
// PRAGMA given a value before it reaches SQLite (it would change the reader for good). A transaction whose COMMIT failed
// stays on the connection until Kysely rolls it back or releases the connection: Kysely still
// treats it as active, and what is sent on it meanwhile is refused, never run on the pool.
// Runs on the JS thread.

import type { CompiledQuery, DatabaseConnection, QueryResult, TransactionSettings } from 'kysely';
import { ScopeEndedError, SqliteError, type Lease, type Pool, type SqlValue, type Transaction, type TransactionBehavior } from '../../index.ts';
import { misuse } from '../arguments.ts';
import { holdSnapshot, holdTransaction, type HeldTransaction } from '../held-transaction.ts';
import { isWriteNode, kindOfNode, pragmaForm, type RawStatementKinds } from './statement-kind.ts';
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
  /** The transaction of this connection: open, ending, or ended by a failed COMMIT (see #ended). */
  #held: HeldTransaction<Transaction | Lease> | undefined;
  /** The held transaction is a 'read only' one: a snapshot on a reader. */
  #readOnly = false;
  /** Set while commit() or rollback() runs, and after a failed COMMIT (`failure`: its error). */
  #ended: { failure: unknown } | undefined;
  /** Queries running with a signal, which cancelQuery() interrupts. */
  readonly #cancellable = new Set<AbortController>();

  constructor(pool: Pool, kinds: RawStatementKinds) {
    this.#pool = pool;
    this.#kinds = kinds;
  }

  /** True while a transaction is open on this connection (begun, and neither committed nor rolled back). */
  get inTransaction(): boolean {
    return this.#held !== undefined && this.#ended === undefined;
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
      const node = kindOfNode(query);
      const pragma = node === undefined ? pragmaForm(sql) : undefined;
      if (pragma === 'set') {
        this.#refuseSetting(target, sql);
        return await this.#pragma<R>(target, sql, params, controller?.signal);
      }
      const kind = node ?? (pragma === 'report' ? 'rows' : await this.#kinds.of(target, sql, params));
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
   * A raw PRAGMA given a value, never EXPLAINed (SQLite would apply some while preparing, and a
   * cached EXPLAIN outlives schema changes): run for whatever rows it reports, where db.run()
   * would run it outside a transaction (on a write lease of its own: the writer), else on the
   * transaction's connection. No rows: no rows changed.
   */
  async #pragma<R>(target: Statements, sql: string, params: readonly SqlValue[], signal: AbortSignal | undefined): Promise<QueryResult<R>> {
    const how = signal ? { signal } : undefined;
    let rows: R[];
    if (target === this.#pool) {
      const lease = await this.#pool.acquire({ write: true, signal });
      try {
        rows = await lease.all<R>(sql, params, how);
      } finally {
        await lease.release();
      }
    } else {
      rows = await target.all<R>(sql, params, how);
    }
    return rows.length > 0 ? { rows } : { rows, numAffectedRows: 0n };
  }

  /**
   * A raw PRAGMA given a value in a 'read only' transaction: refused before it is prepared (SQLite
   * applies the flag PRAGMAs while preparing them), with SQLITE_READONLY as the transaction's
   * writes and ObservedPool.all() refuse it. It would change the reader the snapshot runs on, for
   * good: the settings of every connection belong in open()'s `pragmas`.
   */
  #refuseSetting(target: Statements, sql: string): void {
    if (target === this.#pool || !this.#readOnly) return;
    throw new SqliteError(8, "attempt to write a readonly database: a 'read only' transaction does not set PRAGMAs (it would change the reader it runs on)", sql);
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
    const target = this.#target();
    if (pragmaForm(compiledQuery.sql) === 'set') this.#refuseSetting(target, compiledQuery.sql);
    const rows = target.iterate<R>(compiledQuery.sql, compiledQuery.parameters as readonly SqlValue[], { chunkSize: size });
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
    const readOnly = settings.accessMode === 'read only';
    this.#held = readOnly ? await holdSnapshot(this.#pool) : await holdTransaction(this.#pool, { behavior: defaults.behavior, timeout: defaults.timeout });
    this.#readOnly = readOnly;
  }

  /**
   * COMMIT. Rejects, with the transaction rolled back, when it had failed (its timeout...) or its
   * COMMIT failed (a deferred foreign key...): statements sent on the transaction then reject
   * with that error until Kysely rolls it back (which does nothing more) or releases it.
   */
  async commit(): Promise<void> {
    const held = this.#open('commit');
    this.#ended = { failure: undefined };
    try {
      await held.commit();
    } catch (error) {
      if (this.#held === held) this.#ended = { failure: error };
      throw error;
    }
    this.#forget(held);
  }

  /**
   * ROLLBACK. Resolves once the transaction has ended, however it ended. After a failed COMMIT it
   * only forgets the transaction: the pool has rolled it back already.
   */
  async rollback(): Promise<void> {
    if (this.#held && this.#ended) {
      this.#forget(this.#held);
      return;
    }
    const held = this.#open('rollback');
    this.#ended = { failure: undefined };
    try {
      await held.rollback();
    } finally {
      this.#forget(held);
    }
  }

  /** Runs a SAVEPOINT / ROLLBACK TO / RELEASE statement inside the open transaction. */
  async savepointCommand(compiledQuery: CompiledQuery): Promise<void> {
    if (!this.#held) throw misuse('savepoints need an open transaction');
    try {
      await this.#target().exec(compiledQuery.sql);
    } catch (error) {
      throw this.#explain(error);
    }
  }

  /** Ends a transaction its user left open, and forgets a failed one (Kysely releases the connection). */
  async reset(): Promise<void> {
    const held = this.#held;
    if (!held) return;
    if (this.inTransaction) await this.rollback();
    else this.#forget(held);
  }

  /** A statement refused because the transaction had already ended: the reason it ended. */
  #explain(error: unknown): unknown {
    const failure = this.#held?.failure;
    return error instanceof ScopeEndedError && failure !== undefined ? failure : error;
  }

  /** The open transaction, for commit() or rollback(). */
  #open(what: 'commit' | 'rollback'): HeldTransaction<Transaction | Lease> {
    if (!this.#held || this.#ended) throw misuse(`cannot ${what}: no transaction is open on this connection`);
    return this.#held;
  }

  #forget(held: HeldTransaction<Transaction | Lease>): void {
    if (this.#held !== held) return;
    this.#held = undefined;
    this.#ended = undefined;
  }

  /**
   * Where a statement runs: the pool, or the open transaction. While the transaction ends, and
   * after its COMMIT failed, nothing runs: the COMMIT's error, the reason the transaction failed
   * (its timeout...), or ScopeEndedError.
   */
  #target(): Statements {
    const held = this.#held;
    if (!held) return this.#pool;
    if (this.#ended) throw this.#ended.failure ?? held.failure ?? new ScopeEndedError('transaction');
    return held.scope;
  }
}
