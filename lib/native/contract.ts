// Owns the numbers lib/ and the addon speak in: request ops, targets and flags, completion
// statuses, the cell tags and header layout of completion batches, and the worker index that
// names the writer. The native side (native/core/request.h, native/addon/batch_encoder.h) uses
// the same values; lib/ takes them from this file only.

/** What a request does. */
export const Op = {
  Get: 0,
  All: 1,
  Run: 2,
  Exec: 3,
  Open: 4,
  Close: 5,
  Pin: 6,
  Unpin: 7,
  Reset: 8,
  IterateStart: 9,
  IterateNext: 10,
  IterateEnd: 11,
  Batch: 12,
  Reopen: 13,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Where a request runs: any reader, the writer, or one reader pinned to a lease. */
export const Target = { Readers: 0, Writer: 1, PinnedReader: 2 } as const;
export type Target = (typeof Target)[keyof typeof Target];

/** Bits of a request's flags. */
export const RequestFlag = {
  SafeIntegers: 1,
  WantNames: 2,
  KeepTransaction: 4,
  ReturnRows: 8,
  Groupable: 16,
  ExpectTransaction: 32,
} as const;
export type RequestFlag = (typeof RequestFlag)[keyof typeof RequestFlag];

/** How a request finished (the status cell of its completion record). */
export const Status = {
  Rows: 0,
  Done: 1,
  SqliteFailed: 2,
  BindFailed: 3,
  Misuse: 4,
  NeedsWriter: 5,
  Cancelled: 6,
  IntegerOverflow: 7,
  RowsMore: 8,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** What a cell of a completion batch holds. */
export const CellTag = { Null: 0, Number: 1, Bigint: 2, Object: 3, Undefined: 4 } as const;
export type CellTag = (typeof CellTag)[keyof typeof CellTag];

/** Positions of the cells in a completion record's header. */
export const HeaderCell = { Slot: 0, Status: 1, A: 2, B: 3, C: 4, RowCells: 5 } as const;
export type HeaderCell = (typeof HeaderCell)[keyof typeof HeaderCell];

/** Cells in a completion record's header. */
export const HEADER_CELLS = 6;

/** The worker index that names the writer (readers are 0..N-1). */
export const WRITER_WORKER = -1;
