// Owns the request record that travels between the JS thread and a worker thread.
//
// A request lives in a slot of the engine's slab for its whole life. Ownership moves with the
// slot number through the rings, so exactly one thread touches a request's plain fields at a
// time:
//   JS thread   fills the input fields, then pushes the slot number onto a request ring;
//   worker      pops it, reads the input, writes the output fields, pushes it onto the
//               completion ring;
//   JS thread   pops it from the completion ring, reads the output, and recycles the slot.
// The only field touched by two threads at once is `cancelled` (atomic). The numbers shared with
// lib/ (Op, Status, RequestFlag...) live in contract.h.
// Buffers keep their capacity across reuse, so a steady workload allocates nothing per request.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "contract.h"

namespace litepool {

// One statement of a Batch request; its parameters are params[firstParam, firstParam + paramCount)
// (and the same range of paramNames when `named`).
struct BatchEntry {
  std::string sql;
  std::uint32_t firstParam = 0;
  std::uint32_t paramCount = 0;
  bool named = false;
};

enum class ValueType : std::uint8_t { Null, Integer, Real, Text, Blob };

// The values of an InsertRows request, as lib/ packed them (contract.h: ValueTag, BlockCell):
// rows x columns values, row-major, each an 8-byte payload and a ValueTag. Text values are taken
// in order from `text` (UTF-16, well formed: lib/ checked it), blobs in order from `blobs`.
struct RowBlock {
  std::uint32_t rows = 0;
  std::uint32_t columns = 0;
  std::uint64_t firstRow = 0;            // index of the first row in the whole insert
  std::vector<std::uint64_t> payloads;   // a float64's or an int64's bits, or a length
  std::vector<std::uint8_t> tags;        // one ValueTag per value
  std::u16string text;
  std::string blobs;

  void clear() {
    rows = 0;
    columns = 0;
    firstRow = 0;
    payloads.clear();
    tags.clear();
    text.clear();
    blobs.clear();
  }
};

// One bound parameter or one result cell. Text and blob bytes live in the owning arena.
struct Value {
  ValueType type = ValueType::Null;
  bool ascii = false;  // Text only: every byte < 0x80, so the JS side can take a latin1 fast path
  std::uint32_t length = 0;
  union {
    std::int64_t integer;
    double real;
    std::uint64_t offset;
  };
  Value() : integer(0) {}
};

struct Request {
  // ---- input: written by the JS thread before the push, read by the worker ----
  Op op = Op::Get;
  std::uint32_t flags = 0;              // RequestFlag bits
  std::string sql;
  std::vector<Value> params;
  std::vector<std::string> paramNames;  // empty: positional; else one name per param, no prefix
  bool namedParams = false;             // the parameters were an object (named), even an empty one
  std::string paramBytes;               // text and blob parameter bytes
  std::uint32_t chunkRows = 0;          // IterateStart/IterateNext: rows per chunk
  std::vector<BatchEntry> batch;        // Batch: the statements
  // What lib/ knows of column names: it starts over (a new epoch) when it forgets them all
  // (PoolWrap::forgetSql); a statement whose names reached lib/ under another epoch reports them again.
  std::uint32_t namesEpoch = 0;
  RowBlock block;                       // InsertRows: the values
  std::chrono::steady_clock::time_point submittedAt{};  // when the JS thread pushed it

  // Set by the JS thread (cancel) or a worker (shutdown); read by the worker running it.
  std::atomic<bool> cancelled{false};

  // ---- output: written by the worker before the completion push, read by the JS thread ----
  Status status = Status::Done;
  int errcode = 0;
  std::string message;
  std::uint32_t columnCount = 0;
  bool namesAttached = false;
  std::vector<std::string> columnNames;
  std::vector<Value> cells;  // row-major, columnCount per row
  std::string cellBytes;     // text and blob cell bytes
  std::int64_t changes = 0;
  std::int64_t lastInsertRowid = 0;
  int worker = WRITER_WORKER;  // which worker ran it: a reader's index, or WRITER_WORKER
  std::uint64_t group = 0;  // the group commit it was committed in (1, 2, ...), or 0: none committed with it
  double queuedMicros = 0;  // from submittedAt until a worker started it
  double execMicros = 0;    // how long the worker ran it
  std::uint32_t groupSize = 0;  // writes committed together, it included (0: none committed with it)
  bool hasCounters = false;     // RequestFlag::Counters: `counters` holds this run's counts
  std::array<std::int64_t, 4> counters{};  // FULLSCAN_STEP, SORT, AUTOINDEX, VM_STEP

  // JS thread, when the slot is handed out again: forget the previous request.
  void resetForReuse() {
    params.clear();
    paramNames.clear();
    namedParams = false;
    paramBytes.clear();
    chunkRows = 0;
    batch.clear();
    block.clear();
    cancelled.store(false, std::memory_order_relaxed);
    clearOutput();
    // A huge result (a 16 MiB blob, a million rows) must not stay resident in an idle slot.
    constexpr std::size_t kKeepBytes = 1u << 20;
    if (cellBytes.capacity() > kKeepBytes) std::string().swap(cellBytes);
    if (paramBytes.capacity() > kKeepBytes) std::string().swap(paramBytes);
    // Nor a huge script's text or parameter list: a slot is reused last-in-first-out, so the
    // busiest moment's largest request would otherwise stay resident for the pool's life.
    if (sql.capacity() > kKeepBytes) std::string().swap(sql);
    if (params.capacity() > kKeepBytes / sizeof(Value)) std::vector<Value>().swap(params);
    if (paramNames.capacity() > kKeepBytes / sizeof(std::string)) std::vector<std::string>().swap(paramNames);
    if (cells.capacity() > (kKeepBytes / sizeof(Value))) std::vector<Value>().swap(cells);
    if (block.payloads.capacity() > kKeepBytes / 8) {
      std::vector<std::uint64_t>().swap(block.payloads);
      std::vector<std::uint8_t>().swap(block.tags);
    }
    if (block.text.capacity() > kKeepBytes / 2) std::u16string().swap(block.text);
    if (block.blobs.capacity() > kKeepBytes) std::string().swap(block.blobs);
  }

  // The thread that owns the request: forgets any output (before a request is run again).
  void clearOutput() {
    status = Status::Done;
    errcode = 0;
    message.clear();
    columnCount = 0;
    namesAttached = false;
    columnNames.clear();
    cells.clear();
    cellBytes.clear();
    changes = 0;
    lastInsertRowid = 0;
    worker = WRITER_WORKER;
    group = 0;
    queuedMicros = 0;
    execMicros = 0;
    groupSize = 0;
    hasCounters = false;
    counters = {};
  }
};

}  // namespace litepool
