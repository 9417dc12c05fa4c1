// Owns iterate(query): the rows of a Drizzle select streamed from litepool in chunks (a reader
// of the stream's own, or the transaction's connection), mapped onto the selected fields as
// `.all()` would map them, with backpressure and early stop. Its arguments are checked at the
// call, not when the first row is pulled.

import { checkObject, describe, invalidArgument, outOfRange } from '../arguments.ts';
import { LitepoolPreparedQuery } from './prepared-query.ts';

/** A select builder or prepared select of a litepool Drizzle database. */
export interface Streamable<T> {
  all(placeholderValues?: Record<string, unknown>): Promise<T[]>;
}

export interface IterateOptions {
  /** Rows fetched per round trip, 1 to 1 000 000 (default: sized by the pool's iterate(), growing as rows are pulled). */
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
  const prepare = typeof query === 'object' && query !== null ? (query as { prepare?: unknown }).prepare : undefined;
  const prepared = query instanceof LitepoolPreparedQuery ? query : typeof prepare === 'function' ? (prepare.call(query) as unknown) : undefined;
  if (!(prepared instanceof LitepoolPreparedQuery)) {
    throw invalidArgument(
      `iterate() takes a select (or a prepared select) of a database made by drizzle() from litepool/drizzle, got ${describe(query)}`,
    );
  }
  if (prepared.mapsWholeResult) {
    throw invalidArgument('relational queries (db.query...) cannot be streamed: their rows are assembled from the whole result');
  }
  if (!prepared.isSelect) {
    // An insert, update or delete (with RETURNING or not) would run, inside a transaction on its writer.
    throw invalidArgument('iterate() streams the rows of a select; an insert, update or delete cannot be streamed');
  }
  const { placeholders, ...rest } = checkOptions(options);
  return prepared.iterate(placeholders, rest) as AsyncGenerator<T, void, undefined>;
}

const OPTION_KEYS = ['chunkSize', 'signal', 'placeholders'];
const MAX_CHUNK_SIZE = 1_000_000;

/** iterate()'s options, with the codes of the pool's own checks (db.iterate() checks its own at the first pull). */
function checkOptions(options: unknown): IterateOptions {
  const given = checkObject('iterate() options', options);
  for (const key of Object.keys(given)) {
    if (!OPTION_KEYS.includes(key)) throw invalidArgument(`unknown iterate() option ${key}; known options: ${OPTION_KEYS.join(', ')}`);
  }
  const { chunkSize, signal, placeholders } = given;
  if (chunkSize !== undefined) {
    if (typeof chunkSize !== 'number') throw invalidArgument(`chunkSize must be a number, got ${describe(chunkSize)}`);
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
      throw outOfRange(`chunkSize must be an integer between 1 and ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument(`signal must be an AbortSignal, got ${describe(signal)}`);
  if (placeholders !== undefined) checkObject('placeholders', placeholders);
  return given as IterateOptions;
}
