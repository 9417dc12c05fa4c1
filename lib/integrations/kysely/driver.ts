// Owns the Kysely Driver: opens (or takes) the pool, hands out connections, and maps Kysely's
// transaction protocol (begin, commit, rollback, savepoints) onto the pool's transactions.
// Connections are cheap routes to the pool; released ones are kept for reuse so Kysely's
// per-connection bookkeeping (its query logging) sees the same few objects.
// Runs on the JS thread.

import {
  createQueryId,
  IdentifierNode,
  RawNode,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type TransactionSettings,
} from 'kysely';
import { open, PoolClosedError, type Pool } from '../../index.ts';
import { misuse } from '../arguments.ts';
import { LitepoolConnection } from './connection.ts';
import type { ResolvedDialectConfig } from './config.ts';
import { RawStatementKinds } from './statement-kind.ts';

/** Released connections kept for reuse; more than this many at once are simply dropped. */
const MAX_IDLE_CONNECTIONS = 64;

export class LitepoolDriver implements Driver {
  readonly #config: ResolvedDialectConfig;
  readonly #kinds = new RawStatementKinds();
  readonly #idle: LitepoolConnection[] = [];
  #pool: Pool | undefined;
  /** destroy() was called: later queries reject as the closed pool's would. */
  #destroyed = false;

  constructor(config: ResolvedDialectConfig) {
    this.#config = config;
  }

  async init(): Promise<void> {
    this.#pool = this.#config.pool ?? (await open(this.#config.path!, this.#config.poolOptions));
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // A pool it opened is closed now; one passed in stays its owner's, open.
    if (this.#destroyed) throw this.#config.pool ? misuse('this Kysely instance was destroyed') : new PoolClosedError();
    if (!this.#pool) throw misuse('the Kysely driver has not been initialized');
    return this.#idle.pop() ?? new LitepoolConnection(this.#pool, this.#kinds);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await asLitepool(connection).begin(settings, { behavior: this.#config.behavior, timeout: this.#config.timeout });
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await asLitepool(connection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await asLitepool(connection).rollback();
  }

  async savepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await asLitepool(connection).savepointCommand(compileQuery(savepointCommand('savepoint', savepointName), createQueryId()));
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await asLitepool(connection).savepointCommand(compileQuery(savepointCommand('rollback to', savepointName), createQueryId()));
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await asLitepool(connection).savepointCommand(compileQuery(savepointCommand('release', savepointName), createQueryId()));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const conn = asLitepool(connection);
    await conn.reset();
    if (this.#idle.length < MAX_IDLE_CONNECTIONS) this.#idle.push(conn);
  }

  /** Closes the pool when the dialect opened it; a pool passed in is left to its owner. */
  async destroy(): Promise<void> {
    const pool = this.#pool;
    this.#destroyed = true;
    this.#pool = undefined;
    this.#idle.length = 0;
    if (pool && !this.#config.pool) await pool.close();
  }
}

function asLitepool(connection: DatabaseConnection): LitepoolConnection {
  if (!(connection instanceof LitepoolConnection)) throw misuse('not a connection of this dialect');
  return connection;
}

/** `<command> "<name>"`, the name quoted by the query compiler. */
function savepointCommand(command: 'savepoint' | 'rollback to' | 'release', name: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}
