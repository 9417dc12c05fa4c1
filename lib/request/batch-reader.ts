// Owns reading the completion batches the addon hands to onBatch (native/addon/batch_encoder.h).
//
// A batch is a sequence of cells: a float64 payload and a one-byte tag each (CellTag), in one
// ArrayBuffer (payloads first, then tags), plus the JS objects (strings, buffers, name arrays)
// that object cells point to: onBatch's trailing arguments, or one array in a batch with more
// than 1,024 of them (api/open.ts passes either here as one list). Every finished request is a record of HEADER_CELLS
// cells (HeaderCell: slot, status, a, b, c, the native timings and counts observers read, extra,
// n) followed by n row cells, then `extra` cells (statement counters). What a, b and c hold
// depends on the status (request/outcome.ts decodes them):
// - Rows, RowsMore (an iteration chunk with more to come): a = column names (only when they
//   changed, and always at the start of an iteration), b = column count, the n row cells = values
// - Done: a = changes, b = lastInsertRowid, c = the group commit it was part of (undefined: alone)
// - SqliteFailed: a = extended result code, b = message, c = the worker that ran it (WRITER_WORKER: the writer)
// - BindFailed, Misuse, IntegerOverflow: b = message
// - NeedsWriter, Cancelled: nothing
// Runs on the JS thread, inside onBatch: the addon reuses the buffer for the next batch, so
// nothing here may keep a view's contents past the call.

import { CellTag, HEADER_CELLS, HeaderCell } from '../native/contract.ts';
import type { RequestTrace } from './requests.ts';

/** Typed views over one batch buffer, kept while the addon keeps reusing that buffer. */
export class BatchReader {
  #buffer: ArrayBuffer | undefined;
  #nums = new Float64Array(0);
  #bigs = new BigInt64Array(0);
  #tags = new Uint8Array(0);
  #objects: readonly unknown[] = [];

  /** Points the reader at a new batch. */
  load(buffer: ArrayBuffer, capacity: number, objects: readonly unknown[]): void {
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#nums = new Float64Array(buffer, 0, capacity);
      this.#bigs = new BigInt64Array(buffer, 0, capacity);
      this.#tags = new Uint8Array(buffer, capacity * 8, capacity);
    }
    this.#objects = objects;
  }

  /** A cell known to hold a number (slot, status, n). */
  number(index: number): number {
    return this.#nums[index]!;
  }

  /** Any cell, as the JS value it stands for. */
  value(index: number): unknown {
    switch (this.#tags[index]) {
      case CellTag.Number:
        return this.#nums[index];
      case CellTag.Null:
        return null;
      case CellTag.Object:
        return this.#objects[this.#nums[index]!];
      case CellTag.Bigint:
        return this.#bigs[index];
      default:
        return undefined;
    }
  }

  /** `count` cells from `start`, as a new array. */
  values(start: number, count: number): unknown[] {
    const out = new Array<unknown>(count);
    for (let i = 0; i < count; i++) out[i] = this.value(start + i);
    return out;
  }

  /** Tells an observed request's trace what its record (at `at`) says: native timings, counts, counters. */
  traceTo(trace: RequestTrace, at: number): void {
    const nums = this.#nums;
    const extra = nums[at + HeaderCell.ExtraCells]!;
    const counters = extra === 0 ? undefined : (this.values(at + HEADER_CELLS + nums[at + HeaderCell.RowCells]!, extra) as number[]);
    trace.completed(
      nums[at + HeaderCell.QueuedMicros]!,
      nums[at + HeaderCell.ExecMicros]!,
      nums[at + HeaderCell.Rows]!,
      nums[at + HeaderCell.Changes]!,
      nums[at + HeaderCell.Worker]!,
      nums[at + HeaderCell.GroupSize]!,
      counters,
    );
  }
}
