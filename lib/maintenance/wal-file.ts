// Owns reading the state of a database's write-ahead log: the size of the -wal file (a stat,
// which opens nothing), and the WAL index figures (frames in the log, frames checkpointed, page
// size) as the writer thread last read them through SQLite's own mapping of the -shm file
// (https://www.sqlite.org/walformat.html). Nothing here opens or closes a file of the database:
// on POSIX systems closing any descriptor of a file drops every lock the process holds on it,
// SQLite's WAL locks included, and another process could then write at the same time. Runs on
// the JS thread.

import { statSync } from 'node:fs';

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
  /** When the -wal file was last written (ms since the epoch; 0 when there is none). */
  modifiedMs: number;
}

/** The WAL index header as the writer thread read it after its last request (the addon's stats()). */
export interface WalIndex {
  readonly walFrames: number;
  readonly walBackfilled: number;
  readonly walPageSize: number;
}

const EMPTY: WalState = Object.freeze({ bytes: 0, frames: 0, backfilled: 0, frameBytes: 0, modifiedMs: 0 });

/** Size and modification time of a file; zeros when there is none. */
function fileStat(path: string): { bytes: number; modifiedMs: number } {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat === undefined ? { bytes: 0, modifiedMs: 0 } : { bytes: stat.size, modifiedMs: stat.mtimeMs };
}

/**
 * The WAL state of the database at `path` (all zeros for `:memory:` or a database without a
 * WAL): its -wal file's size now, and the index as of the pool's last request on the writer
 * (writes by other processes show once this pool's writer ran something since). An empty or
 * missing -wal file holds no frame, whatever the index said last (as after close() removed it).
 */
export function readWalState(path: string, memory: boolean, index: () => WalIndex): WalState {
  if (memory) return EMPTY;
  const file = fileStat(`${path}-wal`);
  const { walFrames, walBackfilled, walPageSize } = index();
  if (walPageSize === 0 || file.bytes === 0) return { ...EMPTY, ...file };
  return { ...file, frames: walFrames, backfilled: Math.min(walFrames, walBackfilled), frameBytes: walPageSize + 24 };
}
