// Owns what a completion means for its request: the rows, chunk, run result or batch results a
// request resolves with, and the error it rejects with (request/batch-reader.ts says what the
// cells a, b and c hold for each status). Runs on the JS thread, inside onBatch.

import { LitepoolError, SqliteError, bindError, integerOverflow, misuse } from '../errors.ts';
import { Op, Status, Target } from '../native/contract.ts';
import type { RunResult } from '../types.ts';
import type { Chunk, IterateRequest, Request } from './requests.ts';
import { arrayRows, objectRows, rowBuilder, type RowBuilder } from './rows.ts';
import type { StatementInfo, WorkerColumns } from './sql-registry.ts';

/** Column names when the addon sent none that fit: "0", "1", ... */
function indexNames(width: number): string[] {
  return Array.from({ length: width }, (_, i) => `${i}`);
}

/** What a request resolves with when its completion holds rows (Status.Rows, Status.RowsMore). */
export function rowsOutcome(request: Request, info: StatementInfo | undefined, more: boolean, a: unknown, b: unknown, c: unknown, worker: number): unknown {
  const width = b as number;
  const cells = c as unknown[];
  let names = a as string[] | undefined;
  switch (request.op) {
    case Op.IterateStart:
    case Op.IterateNext:
      return chunk(request, more, names, width, cells, worker);
    case Op.Batch: {
      // One (changes, lastInsertRowid) pair per statement, as run() gives them: the rowid a bigint
      // with safeIntegers or when a number cannot hold it (the addon never fails a committed batch).
      const pairs = c as (number | bigint)[];
      const results: RunResult[] = [];
      for (let i = 0; i < pairs.length; i += 2) results.push({ changes: Number(pairs[i]), lastInsertRowid: pairs[i + 1]! });
      return results;
    }
    case Op.Checkpoint:
    case Op.BackupStep:
    case Op.Close:
      // One row of counts (a Close: the writer's close checkpoint), numbers even when the pool
      // reads integers as bigint.
      return cells.map(Number);
    case Op.Run:
      // A write with RETURNING rows: its group is not reported, so it counts as its own commit.
      request.onGroup?.(undefined);
      break;
  }
  // A read's rows are named by the statement of the worker that ran it (sql-registry.ts).
  let columns: WorkerColumns | undefined;
  if (info) {
    if (names) {
      columns = info.columns[worker + 1] = { names, build: undefined };
      info.wantNames = false;
    } else {
      columns = info.columns[worker + 1] ?? unknownColumns(info, width);
    }
  }
  const single = request.op === Op.Get;
  if ((request.op === Op.Get || request.op === Op.All) && request.rowMode === 'array') {
    return single ? (cells.length ? cells : undefined) : arrayRows(cells, width);
  }
  let build: RowBuilder;
  if (columns && columns.names.length === width) {
    build = columns.build ??= rowBuilder(columns.names);
  } else {
    build = rowBuilder(names && names.length === width ? names : indexNames(width));
  }
  return single ? (cells.length ? build(cells, 0) : undefined) : objectRows(cells, width, build);
}

/**
 * Names for rows a worker returned without any while none are known for it. Never expected (the
 * addon sends them whenever the JS side may not know them): the requests after this one ask for
 * names, and meanwhile another worker's names of the same width are the best guess.
 */
function unknownColumns(info: StatementInfo, width: number): WorkerColumns | undefined {
  info.wantNames = true;
  return info.columns.find((known) => known !== undefined && known.names.length === width);
}

function chunk(request: IterateRequest, more: boolean, names: string[] | undefined, width: number, cells: unknown[], reader: number): Chunk {
  const iteration = request.iteration;
  if (names) {
    iteration.names = names;
    iteration.build = undefined;
  }
  if (request.rowMode === 'array') return { rows: arrayRows(cells, width), more, reader };
  const build = (iteration.build ??= rowBuilder(iteration.names ?? indexNames(width)));
  return { rows: objectRows(cells, width, build), more, reader };
}

/** What a request resolves with when it finished without rows (Status.Done). */
export function doneOutcome(request: Request, a: unknown, b: unknown, c: unknown): unknown {
  switch (request.op) {
    case Op.Run: {
      const result: RunResult = { changes: a as number, lastInsertRowid: b as number | bigint };
      request.onGroup?.(c as number | undefined);
      return result;
    }
    case Op.InsertRows:
      return a as number;
    case Op.Pin:
    case Op.Unpin:
    case Op.Reset:
    case Op.IterateEnd:
    case Op.Reopen:
      return a;
    default:
      return undefined;
  }
}

/** The error a request rejects with when it failed (every status but Rows, RowsMore, Done, NeedsWriter, Cancelled). */
export function failure(status: number, request: Request, a: unknown, b: unknown): Error {
  const sql = typeof request.sql === 'string' ? request.sql : undefined;
  switch (status) {
    case Status.SqliteFailed:
      return new SqliteError(a as number, b as string, sql);
    case Status.BindFailed:
      return bindError(b as string, sql);
    case Status.Misuse:
      return misuse(b as string, { sql });
    case Status.IntegerOverflow:
      return integerOverflow(b as string, sql);
    default:
      return new LitepoolError('LITEPOOL_INTERNAL', `unknown completion status ${status}`);
  }
}

/** The error of a request cancelled natively without a reason of its own. */
export function shutDownError(): LitepoolError {
  return new LitepoolError('LITEPOOL_CANCELLED', 'the operation was cancelled because the pool shut down');
}

/**
 * The error of a statement that writes, sent where nothing may write: the pool's own iterate()
 * (its first chunk goes to the shared reader ring), a pinned reader (a read lease, a snapshot, an
 * onConnection hook on a reader), or the writer held read-only for these (a pool without readers).
 */
export function readOnlyError(request: Request): SqliteError {
  let where: string;
  if (request.route.target === Target.Readers) {
    where = 'iterate() runs on a reader and only reads: use run() or all() for a statement that writes, or iterate inside a transaction';
  } else if (request.route.target === Target.PinnedReader) {
    where = 'a reader connection only reads (a read lease, a snapshot, an onConnection hook on a reader): write through the pool, a transaction or a write lease';
  } else {
    where = 'a read lease, snapshot or iteration only reads (without readers it holds the writer read-only): write through the pool, a transaction or a write lease';
  }
  return new SqliteError(8, `attempt to write a readonly database: ${where}`, request.sql);
}

/**
 * Plain SQLITE_READONLY (query_only's refusal) from the writer held read-only by a session for
 * reading. The extended codes (SQLITE_READONLY_RECOVERY, _CANTINIT, _ROLLBACK, _CANTLOCK) come
 * from files the process may not write, even for reads: those keep SQLite's own code and message.
 */
export function isReadOnlySessionRefusal(request: Request, status: number, errcode: unknown): boolean {
  return status === Status.SqliteFailed && errcode === 8 && request.route.session?.readOnly === true;
}
