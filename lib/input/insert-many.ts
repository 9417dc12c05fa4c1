// Owns the building of chunked multi-row INSERTs (db.insertMany): identifiers quoted, values
// checked and bound as parameters, chunks below SQLite's parameter limit. Runs on the JS thread.

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import type { SqlValue } from '../types.ts';
import { encodeParams } from './params.ts';

/** SQLite's default limit on parameters per statement (SQLITE_MAX_VARIABLE_NUMBER). */
export const MAX_VARIABLES = 32766;

/** A double-quoted SQL identifier: quotes doubled, so any table or column name is safe. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\0')) throw outOfRange('an identifier must not contain NUL characters');
  return `"${name.replaceAll('"', '""')}"`;
}

export interface InsertChunk {
  sql: string;
  values: SqlValue[];
}

/**
 * Splits `rows` into multi-row INSERT statements of at most `chunkSize` rows and fewer than
 * SQLite's parameter limit. Every row must have exactly the keys of the first row.
 */
export function insertChunks(table: unknown, rows: unknown, chunkSize: number): InsertChunk[] {
  if (typeof table !== 'string' || table === '') throw invalidArgument(`table must be a non-empty string, got ${describeType(table)}`);
  if (!Array.isArray(rows)) throw invalidArgument(`rows must be an array of objects, got ${describeType(rows)}`);
  if (rows.length === 0) return [];
  const first = rows[0] as unknown;
  if (typeof first !== 'object' || first === null || Array.isArray(first)) throw invalidArgument(`rows[0] must be an object, got ${describeType(first)}`);
  const columns = Object.keys(first);
  if (columns.length === 0) throw outOfRange('rows[0] has no columns');
  const perChunk = Math.max(1, Math.min(chunkSize, Math.floor(MAX_VARIABLES / columns.length)));
  const head = `INSERT INTO ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const chunks: InsertChunk[] = [];
  for (let start = 0; start < rows.length; start += perChunk) {
    const end = Math.min(rows.length, start + perChunk);
    const values: SqlValue[] = new Array(columns.length * (end - start));
    let v = 0;
    for (let r = start; r < end; r++) {
      const row = rows[r] as Record<string, SqlValue>;
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw invalidArgument(`rows[${r}] must be an object, got ${describeType(row)}`);
      const keys = Object.keys(row);
      if (keys.length !== columns.length || keys.some((key, i) => key !== columns[i] && !Object.hasOwn(first as object, key))) {
        throw outOfRange(`rows[${r}] has the keys [${keys.join(', ')}]; every row must have exactly the keys of rows[0]: [${columns.join(', ')}]`);
      }
      for (const column of columns) values[v++] = row[column];
    }
    encodeParams(values);
    chunks.push({ sql: head + new Array(end - start).fill(tuple).join(', '), values });
  }
  return chunks;
}

/** Runs `chunks` on a transaction: all submitted at once, the writer runs them back to back, in order. */
export async function runInsertChunks(tx: { run(sql: string, params: SqlValue[]): Promise<{ changes: number }> }, chunks: readonly InsertChunk[]): Promise<number> {
  const results = await Promise.all(chunks.map((chunk) => tx.run(chunk.sql, chunk.values)));
  let inserted = 0;
  for (const result of results) inserted += result.changes;
  return inserted;
}
