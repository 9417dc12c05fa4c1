// Owns the encoding of completion batches: see batch_encoder.h. Raw N-API calls on purpose:
// this is the per-request hot path. Every function runs on the JS thread.
#include "batch_encoder.h"

#include <cstring>
#include <string>

#include "sqlite3.h"

namespace litepool {

namespace {

bool isSafe(std::int64_t value) { return value <= 9007199254740991LL && value >= -9007199254740991LL; }

bool hasRows(const Request& request) { return request.status == Status::Rows || request.status == Status::RowsMore; }

// Takes away the exception a failed N-API call may have left pending (Node throws for a Buffer
// too long or an allocation that failed): with one pending, every later call that may run JS
// fails, onBatch included, and the exception would surface as an uncaught one after it.
void clearException(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value ignored = nullptr;
  napi_get_and_clear_last_exception(env, &ignored);
}

// The index of header cell `position` of the record that starts at `record`.
std::uint32_t headerCell(std::uint32_t record, HeaderCell position) { return record + static_cast<std::uint32_t>(position); }

}  // namespace

std::size_t BatchEncoder::cellsFor(const Request& request) noexcept {
  return HEADER_CELLS + (hasRows(request) ? request.cells.size() : 0) + (request.hasCounters ? request.counters.size() : 0);
}

bool BatchEncoder::begin(napi_env env, std::size_t cells) {
  length_ = 0;
  objects_.clear();
  buffer_ = nullptr;
  void* data = nullptr;
  // N-API calls fail while a worker thread's environment terminates: every status is checked,
  // and a batch whose memory cannot be had is refused rather than written through a null pointer.
  if (cells <= retainedCells_) {
    if (napi_get_reference_value(env, retained_, &buffer_) != napi_ok || buffer_ == nullptr) return false;
    if (napi_get_arraybuffer_info(env, buffer_, &data, nullptr) != napi_ok) return false;
    capacity_ = retainedCells_;
  } else if (cells <= kRetainedCells) {
    // Grows the kept buffer: at least double, at most kRetainedCells.
    std::size_t size = retainedCells_ == 0 ? 1024 : retainedCells_ * 2;
    while (size < cells) size *= 2;
    if (size > kRetainedCells) size = kRetainedCells;
    if (napi_create_arraybuffer(env, size * (sizeof(double) + 1), &data, &buffer_) != napi_ok) return false;
    napi_ref kept = nullptr;
    if (napi_create_reference(env, buffer_, 1, &kept) != napi_ok) return false;
    if (retained_ != nullptr) napi_delete_reference(env, retained_);
    retained_ = kept;
    retainedCells_ = size;
    capacity_ = size;
  } else {
    if (napi_create_arraybuffer(env, cells * (sizeof(double) + 1), &data, &buffer_) != napi_ok) return false;
    capacity_ = cells;
  }
  if (data == nullptr) return false;
  nums_ = static_cast<double*>(data);
  tags_ = static_cast<std::uint8_t*>(data) + capacity_ * sizeof(double);
  return true;
}

const std::vector<napi_value>* BatchEncoder::arguments(napi_env env) {
  napi_value capacity = nullptr;
  napi_value length = nullptr;
  napi_value undefined = nullptr;
  napi_create_uint32(env, static_cast<std::uint32_t>(capacity_), &capacity);
  napi_create_uint32(env, length_, &length);
  napi_get_undefined(env, &undefined);
  if (buffer_ == nullptr || capacity == nullptr || length == nullptr || undefined == nullptr) return nullptr;
  const bool inlined = objects_.size() <= kInlineObjects;
  napi_value objects = undefined;
  if (!inlined) {
    napi_value array = nullptr;
    if (napi_create_array_with_length(env, objects_.size(), &array) == napi_ok && array != nullptr) {
      // A failed creation left an element null: napi_set_element refuses it and the cell reads undefined.
      for (std::size_t i = 0; i < objects_.size(); ++i) napi_set_element(env, array, static_cast<std::uint32_t>(i), objects_[i]);
      objects = array;
    }
    // Without the array every object cell reads undefined (lib/ takes the empty `inline` list).
  }
  arguments_.assign({buffer_, capacity, objects, length});
  if (inlined) {
    // A failed creation left a value null: it reads undefined.
    for (napi_value value : objects_) arguments_.push_back(value != nullptr ? value : undefined);
  }
  return &arguments_;
}

void BatchEncoder::end() {
  if (objects_.capacity() > kRetainedObjects) {
    std::vector<napi_value>().swap(objects_);
  } else {
    objects_.clear();
  }
  arguments_.clear();
}

void BatchEncoder::release(napi_env env) {
  if (retained_ != nullptr && env != nullptr) napi_delete_reference(env, retained_);
  retained_ = nullptr;
  retainedCells_ = 0;
  std::vector<napi_value>().swap(objects_);
  std::vector<napi_value>().swap(arguments_);
}

void BatchEncoder::integer(std::uint32_t at, std::int64_t value, bool asBigint) {
  if (!asBigint) {
    number(at, static_cast<double>(value));
    return;
  }
  std::memcpy(&nums_[at], &value, sizeof(value));
  tags_[at] = static_cast<std::uint8_t>(CellTag::Bigint);
}

void BatchEncoder::object(std::uint32_t at, napi_value value) {
  put(at, CellTag::Object, static_cast<double>(objects_.size()));
  objects_.push_back(value);
}

bool BatchEncoder::text(napi_env env, std::uint32_t at, const char* data, std::size_t length, bool ascii) {
  napi_value value = nullptr;
  const napi_status status = ascii ? napi_create_string_latin1(env, data, length, &value)
                                   : napi_create_string_utf8(env, data, length, &value);
  if (status != napi_ok || value == nullptr) {
    // Longer than the longest JS string (V8 refuses it), or out of memory.
    clearException(env);
    undefined(at);
    return false;
  }
  object(at, value);
  return true;
}

bool BatchEncoder::blob(napi_env env, std::uint32_t at, const char* data, std::size_t length) {
  void* copy = nullptr;
  napi_value buffer = nullptr;
  if (napi_create_buffer_copy(env, length, data, &copy, &buffer) != napi_ok || buffer == nullptr) {
    // Longer than the longest Buffer, or out of memory: Node may have thrown for it.
    clearException(env);
    undefined(at);
    return false;
  }
  object(at, buffer);
  return true;
}

BatchEncoder::CellResult BatchEncoder::cell(napi_env env, const Request& request, const Value& value, bool safeIntegers) {
  const std::uint32_t at = length_;
  switch (value.type) {
    case ValueType::Null:
      put(at, CellTag::Null, 0);
      break;
    case ValueType::Integer:
      if (!safeIntegers && !isSafe(value.integer)) return CellResult::UnsafeInteger;
      integer(at, value.integer, safeIntegers);
      break;
    case ValueType::Real:
      number(at, value.real);
      break;
    case ValueType::Text:
      if (!text(env, at, request.cellBytes.data() + value.offset, value.length, value.ascii)) return CellResult::TooBig;
      break;
    case ValueType::Blob:
      if (!blob(env, at, request.cellBytes.data() + value.offset, value.length)) return CellResult::TooBig;
      break;
    default:
      undefined(at);
      break;
  }
  ++length_;
  return CellResult::Ok;
}

void BatchEncoder::header(napi_env env, std::uint32_t record, std::uint32_t slot, const Request& request, bool safeIntegers) {
  const std::uint32_t a = headerCell(record, HeaderCell::A);
  const std::uint32_t b = headerCell(record, HeaderCell::B);
  const std::uint32_t c = headerCell(record, HeaderCell::C);
  number(headerCell(record, HeaderCell::Slot), slot);
  number(headerCell(record, HeaderCell::Status), static_cast<double>(request.status));
  switch (request.status) {
    case Status::Rows:
    case Status::RowsMore:
      if (request.namesAttached) {
        napi_value names = nullptr;
        napi_create_array_with_length(env, request.columnNames.size(), &names);
        for (std::size_t i = 0; i < request.columnNames.size(); ++i) {
          napi_value name = nullptr;
          napi_create_string_utf8(env, request.columnNames[i].data(), request.columnNames[i].size(), &name);
          napi_set_element(env, names, static_cast<std::uint32_t>(i), name);
        }
        object(a, names);
      } else {
        undefined(a);
      }
      number(b, request.columnCount);
      undefined(c);
      break;
    case Status::Done:
      number(a, static_cast<double>(request.changes));
      integer(b, request.lastInsertRowid, safeIntegers || !isSafe(request.lastInsertRowid));
      if (request.group != 0) {
        number(c, static_cast<double>(request.group));
      } else {
        undefined(c);
      }
      break;
    case Status::SqliteFailed:
      number(a, request.errcode);
      text(env, b, request.message.data(), request.message.size(), false);
      number(c, request.worker);
      break;
    case Status::BindFailed:
    case Status::Misuse:
    case Status::IntegerOverflow:
      undefined(a);
      text(env, b, request.message.data(), request.message.size(), false);
      undefined(c);
      break;
    case Status::NeedsWriter:
    case Status::Cancelled:
      undefined(a);
      undefined(b);
      undefined(c);
      break;
  }
  // What every record carries: the native timings and what the request did (for observers).
  number(headerCell(record, HeaderCell::QueuedMicros), request.queuedMicros);
  number(headerCell(record, HeaderCell::ExecMicros), request.execMicros);
  const bool returnedRows = hasRows(request) && request.op != Op::Batch && request.columnCount > 0;
  number(headerCell(record, HeaderCell::Rows), returnedRows ? static_cast<double>(request.cells.size() / request.columnCount) : 0);
  number(headerCell(record, HeaderCell::Changes), static_cast<double>(request.changes));
  number(headerCell(record, HeaderCell::Worker), request.worker);
  number(headerCell(record, HeaderCell::GroupSize), request.groupSize);
  number(headerCell(record, HeaderCell::ExtraCells), 0);
  number(headerCell(record, HeaderCell::RowCells), 0);
}

void BatchEncoder::counters(std::uint32_t record, const Request& request) {
  if (!request.hasCounters) return;
  for (const std::int64_t count : request.counters) number(length_++, static_cast<double>(count));
  number(headerCell(record, HeaderCell::ExtraCells), static_cast<double>(request.counters.size()));
}

void BatchEncoder::add(napi_env env, std::uint32_t slot, const Request& request) {
  const bool safeIntegers = (request.flags & RequestFlag::SafeIntegers) != 0;
  const std::uint32_t record = length_;
  const std::size_t objectsBefore = objects_.size();
  length_ += HEADER_CELLS;
  header(env, record, slot, request, safeIntegers);
  if (!hasRows(request)) {
    counters(record, request);
    return;
  }
  if (request.op == Op::Batch) {
    // One (changes, lastInsertRowid) pair per statement, as run() reports them: changes a number,
    // the rowid a bigint when bigints were asked for or a number cannot hold it. Never a failure:
    // the batch has committed.
    for (std::size_t i = 0; i < request.cells.size(); ++i) {
      const std::int64_t value = request.cells[i].integer;
      if (i % 2 == 0) {
        number(length_++, static_cast<double>(value));
      } else {
        integer(length_++, value, safeIntegers || !isSafe(value));
      }
    }
    number(headerCell(record, HeaderCell::RowCells), static_cast<double>(request.cells.size()));
    counters(record, request);
    return;
  }
  for (const Value& value : request.cells) {
    const CellResult result = cell(env, request, value, safeIntegers);
    if (result == CellResult::Ok) continue;
    // A value JS cannot hold: the request fails instead (its cells, and the objects made for
    // them and its names, are dropped).
    length_ = record + HEADER_CELLS;
    objects_.resize(objectsBefore);
    number(headerCell(record, HeaderCell::Rows), 0);
    if (result == CellResult::UnsafeInteger) {
      number(headerCell(record, HeaderCell::Status), static_cast<double>(Status::IntegerOverflow));
      undefined(headerCell(record, HeaderCell::A));
      const std::string message = "integer " + std::to_string(value.integer) +
                                  " is outside the safe range of a JS number; open the pool with safeIntegers: "
                                  "true to read it as a bigint";
      text(env, headerCell(record, HeaderCell::B), message.data(), message.size(), true);
      undefined(headerCell(record, HeaderCell::C));
    } else {
      // As SQLite reports a value past its own length limit (SQLITE_TOOBIG), for the worker that
      // ran it (not a broken connection: lib/ keeps it).
      number(headerCell(record, HeaderCell::Status), static_cast<double>(Status::SqliteFailed));
      number(headerCell(record, HeaderCell::A), SQLITE_TOOBIG);
      const bool isText = value.type == ValueType::Text;
      const std::string message = std::string("string or blob too big: a ") + (isText ? "TEXT" : "BLOB") + " value of " +
                                  std::to_string(value.length) + " bytes " +
                                  (isText ? "is longer than JavaScript's longest string" : "could not be made into a JavaScript Buffer");
      text(env, headerCell(record, HeaderCell::B), message.data(), message.size(), true);
      number(headerCell(record, HeaderCell::C), request.worker);
    }
    return;
  }
  number(headerCell(record, HeaderCell::RowCells), static_cast<double>(request.cells.size()));
  counters(record, request);
}

}  // namespace litepool
