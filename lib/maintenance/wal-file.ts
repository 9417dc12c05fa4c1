// Owns reading the state of a database's write-ahead log from its files, without a connection:
// the size of the -wal file, and from the WAL index (the -shm file, whose layout SQLite documents
// in https://www.sqlite.org/walformat.html) the frames in the log, how many of them have been
// checkpointed and the page size. Runs on the JS thread (a few small synchronous reads).

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';

/** What the WAL files say now. */
export interface WalState {
  /** Size of the -wal file (0 when there is none). */
  bytes: number;
  /** Frames in the log since it was last reset (mxFrame). */
  frames: number;
  /** Frames of them already copied into the database (nBackfill). */
  backfilled: number;
  /** Bytes of one frame: the page size plus its 24-byte header (0 when unknown). */
  frameBytes: number;
}

const EMPTY: WalState = Object.freeze({ bytes: 0, frames: 0, backfilled: 0, frameBytes: 0 });

/** The WAL index header (two copies of 48 bytes) and the checkpoint info that follows it. */
const HEADER_BYTES = 48;
const INDEX_BYTES = 136;
const OFFSET_PAGE_SIZE = 14;
const OFFSET_MX_FRAME = 16;
const OFFSET_BACKFILL = 96;
const LITTLE = endianness() === 'LE';

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Reads the WAL index header; undefined when there is no -shm file or it is not initialised. */
function readIndex(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(INDEX_BYTES);
    // A writer may be updating the header: SQLite writes the two copies in turn, so a read in
    // which they agree is consistent. A few attempts, then the last one read is used.
    for (let attempt = 0; attempt < 4; attempt++) {
      if (readSync(fd, buffer, 0, INDEX_BYTES, 0) < INDEX_BYTES) return undefined;
      if (buffer.compare(buffer, 0, HEADER_BYTES, HEADER_BYTES, 2 * HEADER_BYTES) === 0) break;
    }
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** The WAL state of the database at `path` (all zeros for `:memory:` or a database without a WAL). */
export function readWalState(path: string, memory: boolean): WalState {
  if (memory) return EMPTY;
  const bytes = fileSize(`${path}-wal`);
  const index = readIndex(`${path}-shm`);
  if (!index || index[12] === 0 /* isInit */) return { ...EMPTY, bytes };
  const u32 = (at: number) => (LITTLE ? index.readUInt32LE(at) : index.readUInt32BE(at));
  const u16 = LITTLE ? index.readUInt16LE(OFFSET_PAGE_SIZE) : index.readUInt16BE(OFFSET_PAGE_SIZE);
  // The page size is stored in 16 bits: 65536 is written as 1.
  const pageSize = u16 === 1 ? 65_536 : u16;
  const frames = u32(OFFSET_MX_FRAME);
  return { bytes, frames, backfilled: Math.min(frames, u32(OFFSET_BACKFILL)), frameBytes: pageSize + 24 };
}
