// Owns the blobs of one insertMany block (row-block.ts): a list of byte arrays in value order,
// which the addon appends into one (native/addon/convert.cc: readRowBlock). Copied (a block
// read at the call, which may wait before the addon reads it), small blobs are copied one after
// another into a shared chunk, a segment of which covers many of them, and a large one into a
// buffer of its own; every byte is copied once on the JS side (a full chunk is listed as it is
// and a new one started, never grown by copying). Not copied, the caller's arrays are listed.
// Runs on the JS thread.

import { copyBlob, copyBytes } from './params.ts';

/** Blobs larger than this get a copy of their own; smaller ones share chunks. */
const OWN_COPY = 16 * 1024;
/** The first chunk of a block; each next one twice as large, up to LARGEST_CHUNK. */
const FIRST_CHUNK = 16 * 1024;
const LARGEST_CHUNK = 4 * 1024 * 1024;
const { allocUnsafe } = Buffer;

/** The blobs of one block; `list` is what the block hands the addon after its text. */
export class BlobSegments {
  readonly list: Uint8Array[] = [];
  readonly #copy: boolean;
  /** The chunk small blobs are copied into, `used` bytes of it taken, from `start` not yet listed. */
  #chunk: Uint8Array | undefined;
  #used = 0;
  #start = 0;

  /** `copy`: copy the bytes now; else list the caller's arrays (read when the addon takes the block). */
  constructor(copy: boolean) {
    this.#copy = copy;
  }

  /** Adds `value`, of `bytes` bytes (params.ts blobLength's answer). */
  add(value: Uint8Array, bytes: number): void {
    if (!this.#copy) {
      this.list.push(value);
      return;
    }
    if (bytes > OWN_COPY) {
      this.#listCopied();
      this.list.push(copyBlob(value, bytes));
      return;
    }
    let chunk = this.#chunk;
    if (chunk === undefined || this.#used + bytes > chunk.length) {
      this.#listCopied();
      chunk = allocUnsafe(chunk === undefined ? FIRST_CHUNK : Math.min(LARGEST_CHUNK, chunk.length * 2));
      this.#chunk = chunk;
      this.#used = 0;
      this.#start = 0;
    }
    copyBytes(chunk, this.#used, value, bytes);
    this.#used += bytes;
  }

  /** The list, complete. */
  finish(): Uint8Array[] {
    this.#listCopied();
    return this.list;
  }

  /** Lists the bytes copied into the chunk since its last segment. */
  #listCopied(): void {
    if (this.#used > this.#start) {
      this.list.push(this.#chunk!.subarray(this.#start, this.#used));
      this.#start = this.#used;
    }
  }
}
