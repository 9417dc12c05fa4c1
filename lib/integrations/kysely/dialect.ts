// Owns LitepoolDialect, what users hand to `new Kysely({ dialect })`: litepool's driver with
// Kysely's own SQLite query compiler and introspector, and an adapter that lets queries run
// concurrently.

import { SqliteIntrospector, SqliteQueryCompiler, type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver, type Kysely, type QueryCompiler } from 'kysely';
import { LitepoolAdapter } from './adapter.ts';
import { resolveDialectConfig, type LitepoolDialectConfig, type ResolvedDialectConfig } from './config.ts';
import { LitepoolDriver } from './driver.ts';

/**
 * A Kysely dialect on a litepool pool. Outside transactions, queries run concurrently and are
 * routed like `db.all` / `db.run`: reads on the reader threads, writes on the writer (SQLite's
 * own analysis decides). `db.transaction()` holds the writer (`BEGIN IMMEDIATE` by default)
 * until it ends; `accessMode: 'read only'` takes a reader snapshot instead.
 *
 * @example
 * import { Kysely } from 'kysely';
 * import { open } from 'litepool';
 * import { LitepoolDialect } from 'litepool/kysely';
 *
 * const pool = await open('app.db');
 * const db = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) });
 * const person = await db.selectFrom('person').selectAll().where('id', '=', 1).executeTakeFirst();
 */
export class LitepoolDialect implements Dialect {
  readonly #config: ResolvedDialectConfig;

  constructor(config: LitepoolDialectConfig) {
    this.#config = Object.freeze(resolveDialectConfig(config));
  }

  createDriver(): Driver {
    return new LitepoolDriver(this.#config);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new LitepoolAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
