// Generated from native/core/contract.h by scripts/gen-contract.mjs — do not edit.
// Change native/core/contract.h, then run `npm run gen:contract` and rebuild the addon.
//
// Owns the numbers lib/ and the native code speak to each other in (see the C++ source for the
// full story); test/06-contract.test.ts checks this file against it and against the compiled addon.

/** What a request does. */
export const Op = {
  /** first row of one statement */
  Get: 0,
  /** every row of one statement */
  All: 1,
  /** one statement, rows discarded; reports changes and last insert rowid */
  Run: 2,
  /** several statements, no parameters */
  Exec: 3,
  /** open this worker's connection (first request every worker gets) */
  Open: 4,
  /** finish: the writer also optimizes and checkpoints (one row: busy, log frames, checkpointed frames, µs); then the connection closes */
  Close: 5,
  /** reader only: from now on take requests from this reader's own ring only */
  Pin: 6,
  /** reader only: roll back what the lease left open, then serve the shared ring again */
  Unpin: 7,
  /** roll back a transaction left open (a lease or transaction ended); changes = 1 if it did */
  Reset: 8,
  /** prepare one statement and return its first chunk (up to `chunkRows` rows); open while rows remain */
  IterateStart: 9,
  /** the next chunk (up to `chunkRows` rows) of the open iteration */
  IterateNext: 10,
  /** finalize the open iteration (and unpin a reader held for it) */
  IterateEnd: 11,
  /** several statements with their parameters, atomically */
  Batch: 12,
  /** replace the connection (idle too long, or broken); a reader stays pinned after it; changes = 1, or 0 when a lease or an iteration holds the reader (nothing replaced) */
  Reopen: 13,
  /** run one single-row INSERT once per row of a packed block of values (insertMany) */
  InsertRows: 14,
  /** writer: checkpoint the WAL in mode `chunkRows` (a CheckpointMode); one row: busy, log frames, checkpointed frames */
  Checkpoint: 15,
  /** writer: start an online backup of its database into the file named by `sql` */
  BackupStart: 16,
  /** writer: copy up to `chunkRows` pages of the open backup; one row: done, remaining pages, total pages, the step's µs */
  BackupStep: 17,
  /** writer: finish the open backup and close its file (runs even when cancelled) */
  BackupEnd: 18,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** How a checkpoint treats readers and writers (the values of SQLITE_CHECKPOINT_*). */
export const CheckpointMode = {
  /** copy what no reader still needs, without waiting */
  Passive: 0,
  /** wait for writers, then copy everything readers allow */
  Full: 1,
  /** as Full, then wait for readers so the next writer starts the WAL over */
  Restart: 2,
  /** as Restart, and truncate the -wal file to zero bytes */
  Truncate: 3,
} as const;
export type CheckpointMode = (typeof CheckpointMode)[keyof typeof CheckpointMode];

/** Where a request goes: the shared reader ring, the writer, or one pinned reader's own ring. */
export const Target = {
  /** any unpinned reader (the writer when the pool has no readers) */
  Readers: 0,
  /** the one read-write connection, in FIFO order */
  Writer: 1,
  /** the reader a Pin request reported (its index travels with the request) */
  PinnedReader: 2,
} as const;
export type Target = (typeof Target)[keyof typeof Target];

/** Bits of a request's flags. */
export const RequestFlag = {
  /** INTEGER columns come back as bigint */
  SafeIntegers: 1,
  /** always report column names */
  WantNames: 2,
  /** part of a transaction or lease: may leave it open */
  KeepTransaction: 4,
  /** Run: a statement with result columns (RETURNING) reports its rows */
  ReturnRows: 8,
  /** Run: may share one transaction with its neighbours (group commit) */
  Groupable: 16,
  /** part of an open transaction: refuse to run outside it */
  ExpectTransaction: 32,
  /** report SQLite's statement counters (ExtraCells) */
  Counters: 64,
  /** IterateStart on the shared ring: rows remain? the reader pins itself (Worker says which) until the last chunk or IterateEnd */
  HoldReader: 128,
  /** a caller's statement in db.transaction() or db.read(): BEGIN, COMMIT, END, ROLLBACK (not ROLLBACK TO) refused (Misuse) */
  RefuseTransactionEnd: 256,
  /** IterateStart on the shared ring with no reader to spare for it: rows remain? the statement ends after this chunk (RowsMore; lib/ starts over holding a reader) */
  FirstChunkOnly: 512,
  /** the pool's own request (lib/): may set the PRAGMAs a caller's statement may not (query_only on readers, busy_timeout) */
  Internal: 1024,
  /** a caller's statement in a read lease, snapshot or iteration holding the writer (no readers): PRAGMA query_only refused, as on a reader */
  ReadOnly: 2048,
  /** the pool's own best-effort request (PRAGMA optimize at open): SQLITE_BUSY at once instead of waiting busyTimeout for another connection's lock */
  NoBusyWait: 4096,
} as const;
export type RequestFlag = (typeof RequestFlag)[keyof typeof RequestFlag];

/**
 * How a request ended: set by the worker that ran it (IntegerOverflow, or SqliteFailed with
 * SQLITE_TOOBIG for a value JS cannot hold, by the completion encoder on the JS thread). What the header cells A, B and C hold for each status is listed at HeaderCell.
 */
export const Status = {
  /** rows in the record (Get, All, the last chunk of an iteration: it has ended) */
  Rows: 0,
  /** changes and lastInsertRowid set (Run, Exec, Open, Close...) */
  Done: 1,
  /** SQLite failed: extended result code and message set */
  SqliteFailed: 2,
  /** message set: the parameters do not fit the statement */
  BindFailed: 3,
  /** message set: not a valid use (empty SQL, two statements...) */
  Misuse: 4,
  /** a reader found the statement is not read-only: send it to the writer */
  NeedsWriter: 5,
  /** cancelled before or while it ran */
  Cancelled: 6,
  /** a row held an integer a JS number cannot hold (and bigints were not asked for) */
  IntegerOverflow: 7,
  /** rows in the record, and the iteration has more (a chunk never ends exactly at the last row) */
  RowsMore: 8,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** What a completion cell's float64 payload means, by the cell's one-byte tag. */
export const CellTag = {
  /** null */
  Null: 0,
  /** the payload is the number */
  Number: 1,
  /** the payload's bits are an int64 (read through a BigInt64Array) */
  Bigint: 2,
  /** the payload indexes the batch's object array (strings, buffers, name arrays) */
  Object: 3,
  /** undefined */
  Undefined: 4,
} as const;
export type CellTag = (typeof CellTag)[keyof typeof CellTag];

/**
 * Positions of the header cells that open every request's record in a completion batch.
 *   Rows, RowsMore: A = column names (only when they changed, always at an iteration's start),
 *                   B = column count, C = undefined, then RowCells row cells
 *   Done:           A = changes, B = lastInsertRowid, C = its group commit (undefined: none committed with it)
 *   SqliteFailed:   A = extended result code, B = message, C = the worker that ran it
 *   BindFailed, Misuse, IntegerOverflow: B = message
 *   NeedsWriter, Cancelled: nothing
 * Every status: the native timings and what the request did (QueuedMicros ... GroupSize), then
 * RowCells row cells, then ExtraCells cells: with RequestFlag::Counters, SQLite's statement
 * counters FULLSCAN_STEP, SORT, AUTOINDEX, VM_STEP (4 cells; 0 cells otherwise).
 */
export const HeaderCell = {
  /** the request's slot */
  Slot: 0,
  /** a Status */
  Status: 1,
  /** first status-specific value */
  A: 2,
  /** second status-specific value */
  B: 3,
  /** third status-specific value */
  C: 4,
  /** µs from submit (JS thread) until a worker started it (steady clock) */
  QueuedMicros: 5,
  /** µs the worker ran it (for a group commit: the group, COMMIT included) */
  ExecMicros: 6,
  /** rows it returned */
  Rows: 7,
  /** rows it changed (every statement of an exec script or batch) */
  Changes: 8,
  /** the worker that ran it (WRITER_WORKER: the writer) */
  Worker: 9,
  /** writes committed together, it included (0: none committed with it) */
  GroupSize: 10,
  /** cells after the row cells */
  ExtraCells: 11,
  /** how many row cells follow the header */
  RowCells: 12,
} as const;
export type HeaderCell = (typeof HeaderCell)[keyof typeof HeaderCell];

/** Cells in a completion record's header. */
export const HEADER_CELLS = 13;

/**
 * An InsertRows block (lib/input/row-block.ts writes it, native/addon/convert.cc reads it): one byte
 * buffer holding BLOCK_HEADER_CELLS float64 cells (BlockCell), then one 8-byte payload per value
 * (rows x columns, row-major), then one ValueTag byte per value. Text values travel as UTF-16 in
 * one Uint16Array, blobs as a list of byte arrays, both in value order.
 * What a value of an InsertRows block is, by its one-byte tag; the payload says the rest.
 */
export const ValueTag = {
  /** NULL (null and undefined) */
  Null: 0,
  /** the payload is a float64: INTEGER when it is a safe integer other than -0, else REAL (booleans are 0 and 1) */
  Number: 1,
  /** the payload's bits are an int64 (range checked by lib/) */
  Bigint: 2,
  /** the payload is a float64: the string's length in UTF-16 units, taken in order from the block's text */
  Text: 3,
  /** the payload is a float64: the blob's length in bytes; its bytes are the block's next blob */
  Blob: 4,
} as const;
export type ValueTag = (typeof ValueTag)[keyof typeof ValueTag];

/** Positions of the float64 header cells of an InsertRows block. */
export const BlockCell = {
  /** rows in the block */
  Rows: 0,
  /** values per row (the INSERT's parameters) */
  Columns: 1,
  /** index of the block's first row in the whole insert (named by errors) */
  FirstRow: 2,
  /** UTF-16 units of text in the block */
  TextUnits: 3,
} as const;
export type BlockCell = (typeof BlockCell)[keyof typeof BlockCell];

/** Float64 cells in an InsertRows block's header. */
export const BLOCK_HEADER_CELLS = 4;

/** The worker index that names the writer (readers are numbered from 0). */
export const WRITER_WORKER = -1;

/** Bytes of row data (16 a cell, plus text and blob bytes) after which an iteration chunk ends, even below `chunkRows` rows (one row at least). */
export const ITERATE_CHUNK_BYTES = 1048576;
