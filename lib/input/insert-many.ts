// Owns db.insertMany's plan and its run: the table and the first row's keys checked, one
// single-row INSERT with quoted identifiers, and the rows sent in blocks (row-block.ts) that the
// writer thread binds and steps row by row. A few blocks are in flight at once, so packing the
// next block on the JS thread overlaps inserting the last one on the writer; between blocks the
// event loop gets a turn. Runs on the JS thread.

import { ScopeEndedError, describeType, invalidArgument, outOfRange, unreadable } from '../errors.ts';
import { MAX_PARAMETERS } from './params.ts';
import { RowPacker, notPlain, type RowBlock } from './row-block.ts';
import { isPlainPrototype, isWellFormed } from './validate.ts';

/** Rows per block unless `chunkSize` says otherwise. */
export const DEFAULT_INSERT_CHUNK = 8192;
/** Rows in the first block of an insert of several blocks. */
const FIRST_BLOCK = 256;
/** Blocks handed to the writer and not yet finished, at most: one running, the next ones queued. */
const IN_FLIGHT = 3;

/** A double-quoted SQL identifier: quotes doubled, so any table or column name is safe. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\0')) throw outOfRange('an identifier must not contain NUL characters');
  if (!isWellFormed(name)) throw outOfRange(`the identifier '${name}' is not well-formed UTF-16 (it holds a lone surrogate)`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** What insertMany runs: its statement, the rows, and the packer that knows their keys. */
export interface InsertPlan {
  readonly sql: string;
  readonly rows: readonly unknown[];
  /** rows.length, read once (a proxy's length may change or throw when read again). */
  readonly count: number;
  readonly packer: RowPacker;
}

/** Where a plan's blocks go: a transaction (api/scope.ts). */
export interface RowSink {
  readonly ended: boolean;
  /** Runs one block; resolves with the rows it changed. */
  insertRows(sql: string, block: RowBlock): Promise<number>;
}

/**
 * Checks the table name and the first row (every other row is checked against it while it is
 * packed); undefined when there are no rows.
 */
export function planInsert(table: unknown, rows: unknown): InsertPlan | undefined {
  if (typeof table !== 'string' || table === '') throw invalidArgument(`table must be a non-empty string, got ${describeType(table)}`);
  const { count, columns } = readFirstRow(rows);
  if (count === 0) return undefined;
  if (columns.length === 0) throw outOfRange('rows[0] has no columns');
  if (columns.length > MAX_PARAMETERS) throw outOfRange(`rows[0] has ${columns.length} keys; SQLite binds at most ${MAX_PARAMETERS} values per row (SQLITE_MAX_VARIABLE_NUMBER)`);
  const sql = `INSERT INTO ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  return { sql, rows: rows as readonly unknown[], count, packer: new RowPacker(columns) };
}

/**
 * The length of `rows`, its first row and that row's keys. What the caller's own code throws
 * while they are read (a proxy trap, a getter) becomes a TypeError with it as the cause.
 */
function readFirstRow(rows: unknown): { count: number; columns: string[] } {
  let count: number;
  let first: unknown;
  try {
    if (!Array.isArray(rows)) throw invalidArgument(`rows must be an array of objects, got ${describeType(rows)}`);
    count = rows.length;
    if (count === 0) return { count, columns: [] };
    first = rows[0];
  } catch (error) {
    throw unreadable('rows', error);
  }
  try {
    // A plain object, as every row must be (row-block.ts) and the params of every statement.
    const proto = typeof first === 'object' && first !== null ? (Object.getPrototypeOf(first) as unknown) : undefined;
    if (!isPlainPrototype(proto) || Array.isArray(first)) throw notPlain(first, 0);
    return { count, columns: Object.keys(first as object) };
  } catch (error) {
    throw unreadable('rows[0]', error);
  }
}

/**
 * db.insertMany: one block is sent on its own (`alone`: the writer makes it its own transaction,
 * one round trip); more run in one transaction (`transaction`), block after block.
 */
export async function insertRows(
  table: unknown,
  rows: unknown,
  chunkSize: number,
  alone: { insertRows(sql: string, block: RowBlock, signal: AbortSignal | undefined): Promise<number> },
  transaction: (fn: (tx: RowSink) => Promise<number>) => Promise<number>,
  signal: AbortSignal | undefined,
): Promise<number> {
  const plan = planInsert(table, rows);
  if (plan === undefined) return 0;
  const { count } = plan;
  // One block: every row is read, and its blobs copied, now (it may wait for the writer).
  if (count <= chunkSize) return alone.insertRows(plan.sql, plan.packer.pack(plan.rows, 0, count), signal);
  // More: which rows (the array) is read now, so emptying or reusing the array after the call
  // changes nothing; each row's values are read when its block is packed, inside the transaction
  // (reading them all now would hold the event loop for the whole pack, and double the memory).
  const listed = { ...plan, rows: listRows(plan.rows, count) };
  return transaction((tx) => insertBlocks(tx, listed, chunkSize));
}

/** rows[0, count) in an array of our own (about 7 ms per million rows, measured). */
function listRows(rows: readonly unknown[], count: number): unknown[] {
  const list = new Array<unknown>(count);
  let index = 0;
  try {
    for (; index < count; index++) list[index] = rows[index];
  } catch (error) {
    throw unreadable(`rows[${index}]`, error);
  }
  return list;
}

/**
 * Packs and sends the plan's rows in blocks of up to `chunkSize` rows, in order, with up to IN_FLIGHT blocks
 * on their way; resolves with the rows inserted. The first failure (a bad row, a failing block)
 * rejects, and the caller's transaction rolls everything back.
 */
export async function insertBlocks(sink: RowSink, plan: InsertPlan, chunkSize: number): Promise<number> {
  const { rows, count, sql, packer } = plan;
  const pending: Promise<number>[] = [];
  let inserted = 0;
  try {
    // Blocks start small and double up to chunkSize: the writer gets its first rows at once, and
    // the first blocks (packed while the JIT may still be warming up) hold the event loop briefly.
    let size = Math.min(chunkSize, FIRST_BLOCK);
    for (let start = 0, index = 0; start < count; start += size, index++, size = Math.min(chunkSize, size * 2)) {
      // Ended early (a timeout, an abort, a failure): the transaction rolls back; stop packing.
      if (sink.ended) throw new ScopeEndedError('transaction');
      const end = Math.min(count, start + size);
      // Block `index` reuses the buffers of block index - IN_FLIGHT - 1, which has completed. Its
      // blobs are not copied: it goes to the addon now (unless every native slot is taken), and
      // the rows, their buffers too, must not change until insertMany settles (docs/write-path.md).
      const sent = sink.insertRows(sql, packer.pack(rows, start, end, index % (IN_FLIGHT + 1), false));
      // Handled here too: it may fail while this loop waits for the next turn.
      sent.catch(() => undefined);
      pending.push(sent);
      if (end === count) break;
      // Let timers and I/O run between blocks, then wait while the writer is IN_FLIGHT blocks behind.
      await nextTurn();
      if (pending.length >= IN_FLIGHT) inserted += await pending.shift()!;
    }
    while (pending.length > 0) inserted += await pending.shift()!;
    return inserted;
  } finally {
    // Blocks still on their way when one failed: their outcome no longer matters.
    pending.length = 0;
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
