// Owns the numbers lib/ and the native code speak to each other in: what a request does (Op),
// where it runs (Target), its flags (RequestFlag), how it ended (Status), the layout of a
// completion record (CellTag, HeaderCell, HEADER_CELLS), the layout of an InsertRows block of
// values (ValueTag, BlockCell, BLOCK_HEADER_CELLS), plus the worker index of the writer.
//
// This file is the one source. scripts/gen-contract.mjs reads it and writes lib/native/contract.ts
// (`npm run gen:contract`); test/06-contract.test.ts fails when that file is stale, or when the
// compiled addon (its `contract` export, native/addon/contract_export.cc) reports other numbers.
//
// The generator reads three forms only, so keep to them (one item per line, values written out):
//   enum class Name : type {  Member = 0,  // comment  };
//   namespace Name {  inline constexpr type Member = 1u << 0;  // comment  }
//   inline constexpr type NAME = value;  // comment
// A `//` comment on the line before an item, or after a member, becomes its TSDoc.
#pragma once

#include <cstdint>

namespace litepool {

// What a request does.
enum class Op : std::uint8_t {
  Get = 0,            // first row of one statement
  All = 1,            // every row of one statement
  Run = 2,            // one statement, rows discarded; reports changes and last insert rowid
  Exec = 3,           // several statements, no parameters
  Open = 4,           // open this worker's connection (first request every worker gets)
  Close = 5,          // finish: the writer also optimizes and checkpoints (one row: busy, log frames, checkpointed frames, µs); then the connection closes
  Pin = 6,            // reader only: from now on take requests from this reader's own ring only
  Unpin = 7,          // reader only: roll back what the lease left open, then serve the shared ring again
  Reset = 8,          // roll back a transaction left open (a lease or transaction ended); changes = 1 if it did
  IterateStart = 9,   // prepare one statement and return its first chunk (up to `chunkRows` rows); open while rows remain
  IterateNext = 10,   // the next chunk (up to `chunkRows` rows) of the open iteration
  IterateEnd = 11,    // finalize the open iteration (and unpin a reader held for it)
  Batch = 12,         // several statements with their parameters, atomically
  Reopen = 13,        // replace the connection (idle too long, or broken); a reader stays pinned after it; changes = 1, or 0 when a lease or an iteration holds the reader (nothing replaced)
  InsertRows = 14,    // run one single-row INSERT once per row of a packed block of values (insertMany)
  Checkpoint = 15,    // writer: checkpoint the WAL in mode `chunkRows` (a CheckpointMode); one row: busy, log frames, checkpointed frames
  BackupStart = 16,   // writer: start an online backup of its database into the file named by `sql`
  BackupStep = 17,    // writer: copy up to `chunkRows` pages of the open backup; one row: done, remaining pages, total pages, the step's µs
  BackupEnd = 18,     // writer: finish the open backup and close its file (runs even when cancelled)
};

// How a checkpoint treats readers and writers (the values of SQLITE_CHECKPOINT_*).
enum class CheckpointMode : std::uint8_t {
  Passive = 0,   // copy what no reader still needs, without waiting
  Full = 1,      // wait for writers, then copy everything readers allow
  Restart = 2,   // as Full, then wait for readers so the next writer starts the WAL over
  Truncate = 3,  // as Restart, and truncate the -wal file to zero bytes
};

// Where a request goes: the shared reader ring, the writer, or one pinned reader's own ring.
enum class Target : std::uint8_t {
  Readers = 0,       // any unpinned reader (the writer when the pool has no readers)
  Writer = 1,        // the one read-write connection, in FIFO order
  PinnedReader = 2,  // the reader a Pin request reported (its index travels with the request)
};

// Bits of a request's flags.
namespace RequestFlag {
inline constexpr std::uint32_t SafeIntegers = 1u << 0;       // INTEGER columns come back as bigint
inline constexpr std::uint32_t WantNames = 1u << 1;          // always report column names
inline constexpr std::uint32_t KeepTransaction = 1u << 2;    // part of a transaction or lease: may leave it open
inline constexpr std::uint32_t ReturnRows = 1u << 3;         // Run: a statement with result columns (RETURNING) reports its rows
inline constexpr std::uint32_t Groupable = 1u << 4;          // Run: may share one transaction with its neighbours (group commit)
inline constexpr std::uint32_t ExpectTransaction = 1u << 5;  // part of an open transaction: refuse to run outside it
inline constexpr std::uint32_t Counters = 1u << 6;           // report SQLite's statement counters (ExtraCells)
inline constexpr std::uint32_t HoldReader = 1u << 7;         // IterateStart on the shared ring: rows remain? the reader pins itself (Worker says which) until the last chunk or IterateEnd
inline constexpr std::uint32_t RefuseTransactionEnd = 1u << 8;  // a caller's statement in db.transaction() or db.read(): BEGIN, COMMIT, END, ROLLBACK (not ROLLBACK TO) refused (Misuse)
inline constexpr std::uint32_t FirstChunkOnly = 1u << 9;  // IterateStart on the shared ring with no reader to spare for it: rows remain? the statement ends after this chunk (RowsMore; lib/ starts over holding a reader)
inline constexpr std::uint32_t Internal = 1u << 10;  // the pool's own request (lib/): may set the PRAGMAs a caller's statement may not (query_only on readers, busy_timeout)
inline constexpr std::uint32_t ReadOnly = 1u << 11;  // a caller's statement in a read lease, snapshot or iteration holding the writer (no readers): PRAGMA query_only refused, as on a reader
inline constexpr std::uint32_t NoBusyWait = 1u << 12;  // the pool's own best-effort request (PRAGMA optimize at open): SQLITE_BUSY at once instead of waiting busyTimeout for another connection's lock
}  // namespace RequestFlag

// How a request ended: set by the worker that ran it (IntegerOverflow, or SqliteFailed with
// SQLITE_TOOBIG for a value JS cannot hold, by the completion encoder on the JS thread). What the header cells A, B and C hold for each status is listed at HeaderCell.
enum class Status : std::uint8_t {
  Rows = 0,             // rows in the record (Get, All, the last chunk of an iteration: it has ended)
  Done = 1,             // changes and lastInsertRowid set (Run, Exec, Open, Close...)
  SqliteFailed = 2,     // SQLite failed: extended result code and message set
  BindFailed = 3,       // message set: the parameters do not fit the statement
  Misuse = 4,           // message set: not a valid use (empty SQL, two statements...)
  NeedsWriter = 5,      // a reader found the statement is not read-only: send it to the writer
  Cancelled = 6,        // cancelled before or while it ran
  IntegerOverflow = 7,  // a row held an integer a JS number cannot hold (and bigints were not asked for)
  RowsMore = 8,         // rows in the record, and the iteration has more (a chunk never ends exactly at the last row)
};

// What a completion cell's float64 payload means, by the cell's one-byte tag.
enum class CellTag : std::uint8_t {
  Null = 0,       // null
  Number = 1,     // the payload is the number
  Bigint = 2,     // the payload's bits are an int64 (read through a BigInt64Array)
  Object = 3,     // the payload indexes the batch's object array (strings, buffers, name arrays)
  Undefined = 4,  // undefined
};

// Positions of the header cells that open every request's record in a completion batch.
//   Rows, RowsMore: A = column names (only when they changed, always at an iteration's start),
//                   B = column count, C = undefined, then RowCells row cells
//   Done:           A = changes, B = lastInsertRowid, C = its group commit (undefined: none committed with it)
//   SqliteFailed:   A = extended result code, B = message, C = the worker that ran it
//   BindFailed, Misuse, IntegerOverflow: B = message
//   NeedsWriter, Cancelled: nothing
// Every status: the native timings and what the request did (QueuedMicros ... GroupSize), then
// RowCells row cells, then ExtraCells cells: with RequestFlag::Counters, SQLite's statement
// counters FULLSCAN_STEP, SORT, AUTOINDEX, VM_STEP (4 cells; 0 cells otherwise).
enum class HeaderCell : std::uint8_t {
  Slot = 0,           // the request's slot
  Status = 1,         // a Status
  A = 2,              // first status-specific value
  B = 3,              // second status-specific value
  C = 4,              // third status-specific value
  QueuedMicros = 5,   // µs from submit (JS thread) until a worker started it (steady clock)
  ExecMicros = 6,     // µs the worker ran it (for a group commit: the group, COMMIT included)
  Rows = 7,           // rows it returned
  Changes = 8,        // rows it changed (every statement of an exec script or batch)
  Worker = 9,         // the worker that ran it (WRITER_WORKER: the writer)
  GroupSize = 10,     // writes committed together, it included (0: none committed with it)
  ExtraCells = 11,    // cells after the row cells
  RowCells = 12,      // how many row cells follow the header
};

// Cells in a completion record's header.
inline constexpr std::uint32_t HEADER_CELLS = 13;

// An InsertRows block (lib/input/row-block.ts writes it, native/addon/convert.cc reads it): one byte
// buffer holding BLOCK_HEADER_CELLS float64 cells (BlockCell), then one 8-byte payload per value
// (rows x columns, row-major), then one ValueTag byte per value. Text values travel as UTF-16 in
// one Uint16Array, blobs as a list of byte arrays, both in value order.
// What a value of an InsertRows block is, by its one-byte tag; the payload says the rest.
enum class ValueTag : std::uint8_t {
  Null = 0,    // NULL (null and undefined)
  Number = 1,  // the payload is a float64: INTEGER when it is a safe integer other than -0, else REAL (booleans are 0 and 1)
  Bigint = 2,  // the payload's bits are an int64 (range checked by lib/)
  Text = 3,    // the payload is a float64: the string's length in UTF-16 units, taken in order from the block's text
  Blob = 4,    // the payload is a float64: the blob's length in bytes; its bytes are the block's next blob
};

// Positions of the float64 header cells of an InsertRows block.
enum class BlockCell : std::uint8_t {
  Rows = 0,       // rows in the block
  Columns = 1,    // values per row (the INSERT's parameters)
  FirstRow = 2,   // index of the block's first row in the whole insert (named by errors)
  TextUnits = 3,  // UTF-16 units of text in the block
};

// Float64 cells in an InsertRows block's header.
inline constexpr std::uint32_t BLOCK_HEADER_CELLS = 4;

// The worker index that names the writer (readers are numbered from 0).
inline constexpr int WRITER_WORKER = -1;

// Bytes of row data (16 a cell, plus text and blob bytes) after which an iteration chunk ends, even below `chunkRows` rows (one row at least).
inline constexpr std::uint32_t ITERATE_CHUNK_BYTES = 1048576;

static_assert(HEADER_CELLS == static_cast<std::uint32_t>(HeaderCell::RowCells) + 1, "the row count closes the header");
static_assert(BLOCK_HEADER_CELLS == static_cast<std::uint32_t>(BlockCell::TextUnits) + 1, "the text length closes a block's header");

}  // namespace litepool
