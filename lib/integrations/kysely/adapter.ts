// Owns the dialect adapter: Kysely's own SqliteAdapter (RETURNING, SQLite's identifier rules),
// told two things that are true on litepool and not on a single SQLite connection.

import { SqliteAdapter } from 'kysely';

export class LitepoolAdapter extends SqliteAdapter {
  /**
   * Queries outside a transaction run concurrently (reads on the reader threads), so Kysely must
   * not serialize them behind one connection (its SQLite adapter does: one open transaction
   * would block every other request).
   */
  override get supportsMultipleConnections(): boolean {
    return true;
  }

  /**
   * SQLite runs DDL inside transactions. Kysely's Migrator then runs every migration of a run in
   * one write transaction: the writer held is its lock, and a failed run leaves nothing behind.
   */
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
