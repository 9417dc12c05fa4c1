// A fake of the addon for tests of lib/request/dispatcher.ts: slots handed out and taken back,
// submissions and cancellations recorded, and completion batches encoded as the addon encodes
// them (the layout of lib/request/batch-reader.ts), all on the test's thread.

import { CellTag, HEADER_CELLS, HeaderCell, Status } from '../../lib/native/contract.ts';
import type { NativePool, NativeStats, OnBatch } from '../../lib/native/native-pool.ts';

export interface Submitted {
  slot: number;
  target: number;
  op: number;
  sql: string | undefined;
}

/** Completion records waiting to be delivered, as (slot, status, a, b, c, cells). */
export type CompletionRecord = [slot: number, status: number, a: unknown, b: unknown, c: unknown, cells?: unknown[]];

/** The addon as the dispatcher sees it: slots, submissions and batches, all on this thread. */
export class FakeNative implements NativePool {
  readonly submitted: Submitted[] = [];
  readonly cancelled: number[] = [];
  referenced = 0;
  #free: number[];
  #texts: string[] = [];
  #onBatch: OnBatch | undefined;

  constructor(slots: number) {
    this.#free = Array.from({ length: slots }, (_, i) => i);
  }
  attach(onBatch: OnBatch): void {
    this.#onBatch = onBatch;
  }
  startWriter(): number {
    return 0;
  }
  startReaders(): number[] {
    return [];
  }
  registerSql(sql: string): number {
    this.#texts.push(sql);
    return this.#texts.length - 1;
  }
  forgetSql(): void {
    this.#texts = [];
  }
  submit(target: number, op: number, _flags: number, sql: string | number | readonly string[] | undefined): number {
    const slot = this.#free.shift();
    if (slot === undefined) return -1;
    const text = typeof sql === 'number' ? this.#texts[sql] : typeof sql === 'string' ? sql : undefined;
    this.submitted.push({ slot, target, op, sql: text });
    return slot;
  }
  cancel(slot: number): void {
    this.cancelled.push(slot);
  }
  poll(): void {}
  stats(): NativeStats {
    throw new Error('not used');
  }
  ref(): void {
    this.referenced++;
  }
  unref(): void {
    this.referenced--;
  }
  join(): void {}
  abort(): void {}

  /** The slot `sql` was submitted in (the last time). */
  slotOf(sql: string): number {
    const found = this.submitted.findLast((entry) => entry.sql === sql);
    if (found === undefined) throw new Error(`${sql} was not submitted`);
    return found.slot;
  }

  /** Delivers one batch: each slot completes with `status` (Rows: no rows of column v; Done: one change). */
  deliverSlots(slots: number[], status: Status = Status.Rows): void {
    const record = (slot: number): CompletionRecord =>
      status === Status.Rows ? [slot, status, ['v'], 1, 0] : status === Status.Done ? [slot, status, 1, 1, undefined] : [slot, status, 0, 0, 0];
    this.deliver(slots.map(record));
  }

  /** Delivers one batch holding `records`; their slots are free again, as the addon does. */
  deliver(records: CompletionRecord[]): void {
    const objects: unknown[] = [];
    const cells: [number, number][] = [];
    const cell = (value: unknown): [number, number] => {
      if (value === undefined) return [0, CellTag.Undefined];
      if (value === null) return [0, CellTag.Null];
      if (typeof value === 'number') return [value, CellTag.Number];
      objects.push(value);
      return [objects.length - 1, CellTag.Object];
    };
    for (const [slot, status, a, b, c, rowCells = []] of records) {
      // The header by position (native timings and counts zero), then the row cells.
      const header: [number, number][] = Array.from({ length: HEADER_CELLS }, () => [0, CellTag.Number] as [number, number]);
      header[HeaderCell.Slot] = [slot, CellTag.Number];
      header[HeaderCell.Status] = [status, CellTag.Number];
      header[HeaderCell.A] = cell(a);
      header[HeaderCell.B] = cell(b);
      header[HeaderCell.C] = cell(c);
      header[HeaderCell.RowCells] = [rowCells.length, CellTag.Number];
      cells.push(...header);
      for (const value of rowCells) cells.push(cell(value));
      this.#free.push(slot);
    }
    const capacity = Math.max(cells.length, HEADER_CELLS);
    const buffer = new ArrayBuffer(capacity * 9);
    const numbers = new Float64Array(buffer, 0, capacity);
    const tags = new Uint8Array(buffer, capacity * 8, capacity);
    cells.forEach(([payload, tag], i) => {
      numbers[i] = payload;
      tags[i] = tag;
    });
    this.#onBatch!(buffer, capacity, objects, cells.length);
  }
}
