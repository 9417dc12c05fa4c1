// Owns the packing of insertMany rows into InsertRows blocks (native/core/contract.h): each row is
// checked against the first row's keys and its values are written, in one pass and without a
// per-row object, array or string, into one byte buffer (a float64 header, an 8-byte payload and a
// ValueTag byte per value), one Uint16Array of text and a list of blobs (blob-segments.ts): the
// blobs of a block read at the call are copied then, as params.ts copies a statement's, since the
// caller may change its buffers while the block waits. The writer thread binds them
// (native/core/insert_rows.cc). Runs on the JS thread.
//
// Values follow the rules of every statement's parameters (params.ts: checkValue), so a value
// binds exactly as db.run would bind it; the common cases are handled inline and anything unusual
// goes through checkValue, which throws the same typed errors (naming the row and the key).

import { endianness } from 'node:os';
import { describeType, invalidArgument, outOfRange, unreadable } from '../errors.ts';
import { BLOCK_HEADER_CELLS, BlockCell, ValueTag } from '../native/contract.ts';
import { BlobSegments } from './blob-segments.ts';
import { MAX_LENGTH, blobLength, checkValue } from './params.ts';
import { isPlainPrototype, isWellFormed } from './validate.ts';

/** One packed block, as NativePool.submit takes it for Op.InsertRows. */
export interface RowBlock {
  /** Header, payloads and tags. */
  readonly bytes: Uint8Array;
  /** The text (a Uint16Array), then the bytes of the blobs in value order (Uint8Arrays, appended into one by the addon). */
  readonly extras: readonly unknown[];
  /** Rows in the block. */
  readonly rows: number;
}

/** Strings up to this many UTF-16 units are copied unit by unit; longer ones in one call. */
const SHORT_STRING = 48;
/** Buffer writes UTF-16 little-endian; the addon reads the units in the machine's order. */
const LITTLE_ENDIAN = endianness() === 'LE';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Any UTF-16 surrogate unit (0xD800-0xDFFF) has these bits. */
const SURROGATE_MASK = 0xf800;
const SURROGATE_BITS = 0xd800;

/** Packs rows with the keys of `columns` into blocks. One per insertMany call. */
export class RowPacker {
  readonly #columns: readonly string[];
  /** The first row's keys, for the slow check of a row whose keys come in another order. */
  readonly #known: ReadonlySet<string>;
  /** One row's values, read once (a getter runs once per value). */
  readonly #values: unknown[];
  /** UTF-16 units per row seen so far: the text buffer's first guess for the next block. */
  #unitsPerRow = 16;
  /** The index of the row being read (names the row when reading it throws). */
  #reading = 0;
  /** Buffers kept for reuse, by the `slot` pack() was given (fewer allocations, fewer GCs). */
  readonly #buffers: (ArrayBuffer | undefined)[] = [];
  readonly #texts: (Uint16Array | undefined)[] = [];

  constructor(columns: readonly string[]) {
    this.#columns = columns;
    this.#known = new Set(columns);
    this.#values = new Array<unknown>(columns.length);
  }

  /**
   * Packs rows[start, end); throws a TypeError or RangeError naming the row (and key) at fault.
   * With a `slot` (>= 0), the buffers of the block last packed in that slot are reused: the
   * caller guarantees the addon has copied that block (its request has completed). `copyBlobs`:
   * the bytes of the blobs are copied now; false lists the caller's arrays, for a block handed
   * to the addon at once, of rows that must not change until insertMany settles.
   */
  pack(rows: readonly unknown[], start: number, end: number, slot = -1, copyBlobs = true): RowBlock {
    try {
      return this.#pack(rows, start, end, slot, copyBlobs);
    } catch (error) {
      // What the caller's own code threw while a row was read (a getter, a proxy trap) becomes a
      // TypeError naming the row; litepool's own errors pass through as they are.
      throw unreadable(`rows[${this.#reading}]`, error);
    }
  }

  #pack(rows: readonly unknown[], start: number, end: number, slot: number, copyBlobs: boolean): RowBlock {
    const width = this.#columns.length;
    const count = end - start;
    const values = count * width;
    const tagsAt = (BLOCK_HEADER_CELLS + values) * 8;
    let buffer = slot >= 0 ? this.#buffers[slot] : undefined;
    if (buffer === undefined || buffer.byteLength < tagsAt + values) buffer = new ArrayBuffer(tagsAt + values);
    const cells = new Float64Array(buffer, 0, BLOCK_HEADER_CELLS + values);
    const tags = new Uint8Array(buffer, tagsAt, values);
    let integers: BigInt64Array | undefined;
    const guess = Math.max(64, Math.ceil(this.#unitsPerRow * count * 1.25));
    let text: Uint16Array = (slot >= 0 ? this.#texts[slot] : undefined) ?? new Uint16Array(guess);
    let units = 0;
    let blobs: BlobSegments | undefined;
    const row = this.#values;
    let p = BLOCK_HEADER_CELLS;
    let t = 0;
    for (let r = start; r < end; r++) {
      this.#reading = r;
      this.#read(rows[r], r, row);
      for (let c = 0; c < width; c++, p++, t++) {
        const value = row[c];
        switch (typeof value) {
          case 'number':
            if (value !== value) checkValue(value, this.#label(r, c));
            cells[p] = value;
            tags[t] = ValueTag.Number;
            break;
          case 'string': {
            const length = value.length;
            // Past a third of SQLite's length limit its UTF-8 form may exceed it: checkValue decides.
            if (length > MAX_LENGTH / 3) checkValue(value, this.#label(r, c));
            if (units + length > text.length) text = grow(text, units + length);
            let surrogates = false;
            if (length <= SHORT_STRING || !LITTLE_ENDIAN) {
              for (let i = 0; i < length; i++) {
                const unit = value.charCodeAt(i);
                if ((unit & SURROGATE_MASK) === SURROGATE_BITS) surrogates = true;
                text[units + i] = unit;
              }
            } else {
              Buffer.from(text.buffer, text.byteOffset, text.byteLength).write(value, units * 2, 'utf16le');
              surrogates = true;
            }
            // A lone surrogate has no exact UTF-8 form: checkValue refuses it.
            if (surrogates && !isWellFormed(value)) checkValue(value, this.#label(r, c));
            units += length;
            cells[p] = length;
            tags[t] = ValueTag.Text;
            break;
          }
          case 'boolean':
            cells[p] = value ? 1 : 0;
            tags[t] = ValueTag.Number;
            break;
          case 'undefined':
            tags[t] = ValueTag.Null;
            break;
          case 'bigint':
            if (value < INT64_MIN || value > INT64_MAX) checkValue(value, this.#label(r, c));
            integers ??= new BigInt64Array(buffer, 0, BLOCK_HEADER_CELLS + values);
            integers[p] = value;
            tags[t] = ValueTag.Bigint;
            break;
          default: {
            if (value === null) {
              tags[t] = ValueTag.Null;
              break;
            }
            // A real Uint8Array (or Buffer) of at most SQLite's length, or the error db.run gives.
            const bytes = blobLength(value);
            if (bytes < 0 || bytes > MAX_LENGTH) checkValue(value, this.#label(r, c));
            blobs ??= new BlobSegments(copyBlobs);
            blobs.add(value as Uint8Array, bytes);
            cells[p] = bytes;
            tags[t] = ValueTag.Blob;
          }
        }
      }
    }
    cells[BlockCell.Rows] = count;
    cells[BlockCell.Columns] = width;
    cells[BlockCell.FirstRow] = start;
    cells[BlockCell.TextUnits] = units;
    this.#unitsPerRow = units / count;
    if (slot >= 0) {
      this.#buffers[slot] = buffer;
      this.#texts[slot] = text;
    }
    const extras: unknown[] = blobs === undefined ? [text] : [text, ...blobs.finish()];
    return { bytes: new Uint8Array(buffer, 0, tagsAt + values), extras, rows: count };
  }

  /**
   * Reads the values of rows[index] into `into`, in column order; throws when it is not a plain
   * object (as params of every statement must be: a class instance, a Date, an array are refused)
   * or when its keys differ.
   */
  #read(row: unknown, index: number, into: unknown[]): void {
    const columns = this.#columns;
    const proto = typeof row === 'object' && row !== null ? (Object.getPrototypeOf(row) as unknown) : undefined;
    if ((proto !== Object.prototype && proto !== null && !isPlainPrototype(proto)) || Array.isArray(row)) throw notPlain(row, index);
    // A plain object whose own keys are the columns in the first row's order (the usual case):
    // for-in gives its keys, and nothing inherited, since Object.prototype has no enumerable keys.
    let c = 0;
    for (const key in row as object) {
      if (c === columns.length || key !== columns[c]) {
        c = -1;
        break;
      }
      into[c++] = (row as Record<string, unknown>)[key];
    }
    if (c === columns.length) return;
    this.#readSlowly(row as object, index, into);
  }

  /** A plain object with its keys in another order, or a mismatch (then the error). */
  #readSlowly(row: object, index: number, into: unknown[]): void {
    const columns = this.#columns;
    const keys = Object.keys(row);
    if (keys.length !== columns.length || keys.some((key) => !this.#known.has(key))) {
      throw outOfRange(`rows[${index}] has the keys [${keys.join(', ')}]; every row must have exactly the keys of rows[0]: [${columns.join(', ')}]`);
    }
    for (let c = 0; c < columns.length; c++) into[c] = (row as Record<string, unknown>)[columns[c]!];
  }

  #label(row: number, column: number): string {
    return `'${this.#columns[column]}' of rows[${row}]`;
  }
}

/** The error for rows[index] that is not a plain object (insert-many.ts: rows[0] too). */
export function notPlain(row: unknown, index: number): TypeError {
  return invalidArgument(`rows[${index}] must be a plain object (its prototype Object.prototype or null), got ${describeType(row)}`);
}

/** A copy of `text` with room for at least `needed` units. */
function grow(text: Uint16Array, needed: number): Uint16Array {
  const bigger = new Uint16Array(Math.max(needed, text.length * 2));
  bigger.set(text);
  return bigger;
}

