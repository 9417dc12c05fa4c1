// Owns the encoding of finished requests into one completion batch for lib/ (decoded by
// lib/completions.ts).
//
// Numbers travel in a shared ArrayBuffer, not as one JS value per N-API call: every value is a
// cell, a float64 payload plus a one-byte tag (CellTag). Strings, blobs and arrays (objects)
// still need N-API; the cells point into the list of them. Up to kInlineObjects of them travel
// as onBatch's trailing arguments, which V8 gathers into a rest array far faster than N-API
// stores elements one call at a time (napi_set_element was a sixth of litepool's time on the JS
// thread for point reads); a batch with more gets one JS array built element by element. Per request, a record of
// HEADER_CELLS header cells
//   slot, status, a, b, c, queued µs, exec µs, rows, changes, worker, group size, extra, n
// is followed by n row cells (Rows and RowsMore only), then `extra` cells (the statement
// counters, when asked for). The positions (HeaderCell), the tags and
// what a, b and c hold per status are the contract with lib/: see contract.h.
// A row value JS cannot hold fails its request here, its cells and names dropped: an integer
// beyond 2^53 without bigints as IntegerOverflow, a text longer than V8's longest string (or a
// blob N-API could not copy) as SqliteFailed with SQLITE_TOOBIG, as SQLite reports a value past
// its own length limit. The workers foresee all but the blob (reachesJs, core/statement.h). A batch's
// results never fail: their lastInsertRowid is a bigint when a number cannot hold it, as run()'s.
//
// Everything here runs on the JS thread.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "contract.h"
#include "request.h"

namespace litepool {

class BatchEncoder {
 public:
  // Buffers up to this many cells are kept for the next batches; a batch needing more gets a
  // buffer of its own, released with it.
  static constexpr std::size_t kRetainedCells = std::size_t{1} << 16;
  // The most objects a batch passes as trailing arguments of onBatch (see above).
  static constexpr std::size_t kInlineObjects = 1024;
  // Object lists up to this long keep their memory for the next batches.
  static constexpr std::size_t kRetainedObjects = 4 * kInlineObjects;

  BatchEncoder() = default;
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;

  // Cells `request` will take.
  static std::size_t cellsFor(const Request& request) noexcept;

  // Starts a batch of at most `cells` cells. False when the buffer cannot be had (the
  // environment is shutting down): nothing may be added then.
  bool begin(napi_env env, std::size_t cells);
  // Appends one finished request's record.
  void add(napi_env env, std::uint32_t slot, const Request& request);
  // onBatch's arguments: (buffer, capacity, objects, length, ...inline). `objects` is an array
  // when the batch has more than kInlineObjects objects, else undefined and the objects follow
  // as `inline`. Null when a fixed argument could not be created (the environment is shutting
  // down): onBatch must not be called then. Valid until the next begin() or end().
  const std::vector<napi_value>* arguments(napi_env env);
  // After onBatch: forgets the batch's objects, and gives back the memory of a list that a big
  // batch grew past kRetainedObjects (the cell buffer is bounded the same way, kRetainedCells).
  void end();
  // Releases the kept buffer (environment teardown, or the pool going away).
  void release(napi_env env);

 private:
  // Each writer sets the cell at `at` (a header cell) or, with `at` == length_, appends one.
  void number(std::uint32_t at, double value) { put(at, CellTag::Number, value); }
  void integer(std::uint32_t at, std::int64_t value, bool asBigint);
  void undefined(std::uint32_t at) { put(at, CellTag::Undefined, 0); }
  void object(std::uint32_t at, napi_value value);
  // A string or a Buffer of the bytes; false, with the cell undefined and any exception N-API left
  // pending cleared, when JS cannot have it (longer than V8's longest string, out of memory).
  bool text(napi_env env, std::uint32_t at, const char* data, std::size_t length, bool ascii);
  bool blob(napi_env env, std::uint32_t at, const char* data, std::size_t length);
  void put(std::uint32_t at, CellTag tag, double payload) {
    nums_[at] = payload;
    tags_[at] = static_cast<std::uint8_t>(tag);
  }
  enum class CellResult { Ok, UnsafeInteger, TooBig };
  // Appends one row cell; UnsafeInteger when an integer cannot be a JS number (and bigints were
  // not asked for), TooBig when a text or blob cannot become a JS value.
  CellResult cell(napi_env env, const Request& request, const Value& value, bool safeIntegers);
  // Fills the header of the record at `record` for a request that ended with `status`.
  void header(napi_env env, std::uint32_t record, std::uint32_t slot, const Request& request, bool safeIntegers);
  // Appends the statement counters of a request that has them (RequestFlag::Counters) after its
  // row cells, and records how many in its ExtraCells header cell.
  void counters(std::uint32_t record, const Request& request);

  napi_ref retained_ = nullptr;   // the kept buffer
  std::size_t retainedCells_ = 0;
  napi_value buffer_ = nullptr;   // this batch's buffer (valid in the current handle scope)
  std::vector<napi_value> objects_;    // this batch's objects (valid in the current handle scope)
  std::vector<napi_value> arguments_;  // onBatch's arguments, built by arguments()
  std::size_t capacity_ = 0;
  double* nums_ = nullptr;
  std::uint8_t* tags_ = nullptr;
  std::uint32_t length_ = 0;
};

}  // namespace litepool
