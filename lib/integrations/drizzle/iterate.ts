// Owns iterate(query): the rows of a Drizzle select streamed from litepool in chunks (a reader
// of the stream's own, or the transaction's connection), mapped onto the selected fields as
// `.all()` would map them, with backpressure and early stop.

import { invalidArgument } from '../arguments.ts';
import { LitepoolPreparedQuery } from './prepared-query.ts';

/** A select builder or prepared select of a litepool Drizzle database. */
export interface Streamable<T> {
  all(placeholderValues?: Record<string, unknown>): Promise<T[]>;
}

export interface IterateOptions {
  /** Rows fetched per round trip (default 256). */
  chunkSize?: number;
  signal?: AbortSignal;
  /** Values of the query's `sql.placeholder()`s. */
  placeholders?: Record<string, unknown>;
}

/**
 * Streams the rows of a select, `chunkSize` rows per round trip; stopping early (break, return,
 * throw) frees the connection at once. Relational queries (`db.query...`) assemble their rows
 * from the whole result and cannot be streamed.
 *
 * @example
 * import { iterate } from 'litepool/drizzle';
 * for await (const event of iterate(db.select().from(events).orderBy(events.id))) {
 *   if (done(event)) break;
 * }
 */
export function iterate<T>(query: Streamable<T>, options: IterateOptions = {}): AsyncGenerator<T, void, undefined> {
  const prepared = query instanceof LitepoolPreparedQuery ? query : (query as { prepare?: () => unknown }).prepare?.();
  if (!(prepared instanceof LitepoolPreparedQuery)) {
    throw invalidArgument('iterate() takes a select (or a prepared select) of a database made by drizzle() from litepool/drizzle');
  }
  if (prepared.mapsWholeResult) {
    throw invalidArgument('relational queries (db.query...) cannot be streamed: their rows are assembled from the whole result');
  }
  const { placeholders, ...rest } = options;
  return prepared.iterate(placeholders, rest) as AsyncGenerator<T, void, undefined>;
}
