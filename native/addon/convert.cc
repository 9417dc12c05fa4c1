// Owns the conversion between JS values and the request record: see convert.h.
// Raw N-API calls on purpose: this is the per-request hot path.
#include "convert.h"

#include <cmath>

namespace litepool {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

// JS-visible status numbers (mirrored in lib/native.ts).
enum JsStatus : int {
  kRows = 0,
  kDone = 1,
  kSqliteFailed = 2,
  kBindFailed = 3,
  kMisuse = 4,
  kNeedsWriter = 5,
  kCancelled = 6,
  kIntegerOverflow = 7,
  kRowsMore = 8,
};

void appendString(napi_env env, napi_value value, std::string& out) {
  size_t length = 0;
  napi_get_value_string_utf8(env, value, nullptr, 0, &length);
  const size_t offset = out.size();
  out.resize(offset + length + 1);
  size_t written = 0;
  napi_get_value_string_utf8(env, value, out.data() + offset, length + 1, &written);
  out.resize(offset + written);
}

napi_value makeInteger(napi_env env, std::int64_t value, bool asBigint) {
  napi_value result;
  if (asBigint) {
    napi_create_bigint_int64(env, value, &result);
  } else {
    napi_create_int64(env, value, &result);
  }
  return result;
}

bool isSafe(std::int64_t value) { return value <= 9007199254740991LL && value >= -9007199254740991LL; }

napi_value makeCell(napi_env env, const Request& request, const Value& cell, bool safeIntegers) {
  napi_value result;
  switch (cell.type) {
    case ValueType::Null:
      napi_get_null(env, &result);
      return result;
    case ValueType::Integer:
      return makeInteger(env, cell.integer, safeIntegers);
    case ValueType::Real:
      napi_create_double(env, cell.real, &result);
      return result;
    case ValueType::Text: {
      const char* text = request.cellBytes.data() + cell.offset;
      if (cell.ascii) {
        napi_create_string_latin1(env, text, cell.length, &result);
      } else {
        napi_create_string_utf8(env, text, cell.length, &result);
      }
      return result;
    }
    case ValueType::Blob: {
      void* copy = nullptr;
      napi_create_buffer_copy(env, cell.length, request.cellBytes.data() + cell.offset, &copy, &result);
      return result;
    }
  }
  napi_get_undefined(env, &result);
  return result;
}

}  // namespace

// JS thread.
void readSql(napi_env env, napi_value sql, Request& request) {
  request.sql.clear();
  appendString(env, sql, request.sql);
}

// JS thread.
void readParams(napi_env env, napi_value values, napi_value names, Request& request) {
  napi_valuetype kind;
  napi_typeof(env, values, &kind);
  if (kind != napi_object) return;
  uint32_t count = 0;
  napi_get_array_length(env, values, &count);
  const std::size_t first = request.params.size();
  request.params.resize(first + count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value value;
    napi_get_element(env, values, i, &value);
    Value& param = request.params[first + i];
    napi_typeof(env, value, &kind);
    switch (kind) {
      case napi_number: {
        double number;
        napi_get_value_double(env, value, &number);
        if (std::trunc(number) == number && std::fabs(number) <= kMaxSafeInteger) {
          param.type = ValueType::Integer;
          param.integer = static_cast<std::int64_t>(number);
        } else {
          param.type = ValueType::Real;
          param.real = number;
        }
        break;
      }
      case napi_string:
        param.type = ValueType::Text;
        param.offset = request.paramBytes.size();
        appendString(env, value, request.paramBytes);
        param.length = static_cast<std::uint32_t>(request.paramBytes.size() - param.offset);
        break;
      case napi_bigint: {
        bool lossless;
        param.type = ValueType::Integer;
        napi_get_value_bigint_int64(env, value, &param.integer, &lossless);
        break;
      }
      case napi_boolean: {
        bool flag;
        napi_get_value_bool(env, value, &flag);
        param.type = ValueType::Integer;
        param.integer = flag ? 1 : 0;
        break;
      }
      case napi_object: {
        void* data = nullptr;
        size_t length = 0;
        napi_typedarray_type arrayType;
        napi_get_typedarray_info(env, value, &arrayType, &length, &data, nullptr, nullptr);
        param.type = ValueType::Blob;
        param.offset = request.paramBytes.size();
        param.length = static_cast<std::uint32_t>(length);
        request.paramBytes.append(static_cast<const char*>(data), length);
        break;
      }
      default:
        param.type = ValueType::Null;
        break;
    }
  }
  napi_typeof(env, names, &kind);
  if (kind != napi_object) return;
  request.paramNames.resize(first + count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value name;
    napi_get_element(env, names, i, &name);
    request.paramNames[first + i].clear();
    appendString(env, name, request.paramNames[first + i]);
  }
}

// JS thread.
void readBatch(napi_env env, napi_value sqls, napi_value values, napi_value names, Request& request) {
  uint32_t count = 0;
  napi_get_array_length(env, sqls, &count);
  request.batch.resize(count);
  for (uint32_t k = 0; k < count; ++k) {
    BatchEntry& entry = request.batch[k];
    napi_value sql, entryValues, entryNames;
    napi_get_element(env, sqls, k, &sql);
    napi_get_element(env, values, k, &entryValues);
    napi_get_element(env, names, k, &entryNames);
    entry.sql.clear();
    appendString(env, sql, entry.sql);
    napi_valuetype kind;
    napi_typeof(env, entryNames, &kind);
    entry.named = kind == napi_object;
    // Positional entries still need placeholder names so that paramNames stays aligned with params.
    entry.firstParam = static_cast<std::uint32_t>(request.params.size());
    readParams(env, entryValues, entryNames, request);
    entry.paramCount = static_cast<std::uint32_t>(request.params.size()) - entry.firstParam;
    if (request.paramNames.size() < request.params.size()) request.paramNames.resize(request.params.size());
  }
}

// JS thread.
void appendResult(napi_env env, napi_value batch, std::uint32_t& length, std::uint32_t slot, const Request& request) {
  const bool safeIntegers = (request.flags & flags::kSafeIntegers) != 0;
  napi_value values[5];
  napi_create_uint32(env, slot, &values[0]);
  napi_get_undefined(env, &values[2]);
  values[3] = values[2];
  values[4] = values[2];
  int status = kDone;
  switch (request.status) {
    case Status::Rows:
    case Status::RowsMore: {
      status = request.status == Status::Rows ? kRows : kRowsMore;
      if (request.namesAttached) {
        napi_create_array_with_length(env, request.columnNames.size(), &values[2]);
        for (size_t i = 0; i < request.columnNames.size(); ++i) {
          napi_value name;
          const std::string& text = request.columnNames[i];
          napi_create_string_utf8(env, text.data(), text.size(), &name);
          napi_set_element(env, values[2], static_cast<uint32_t>(i), name);
        }
      }
      napi_create_uint32(env, request.columnCount, &values[3]);
      const size_t cellCount = request.cells.size();
      napi_create_array_with_length(env, cellCount, &values[4]);
      for (size_t i = 0; i < cellCount; ++i) {
        const Value& cell = request.cells[i];
        if (!safeIntegers && cell.type == ValueType::Integer && !isSafe(cell.integer)) {
          status = kIntegerOverflow;
          const std::string message = "integer " + std::to_string(cell.integer) +
                                      " is outside the safe range of a JS number; open the pool with safeIntegers: "
                                      "true to read it as a bigint";
          napi_create_string_utf8(env, message.data(), message.size(), &values[3]);
          napi_get_undefined(env, &values[2]);
          napi_get_undefined(env, &values[4]);
          break;
        }
        napi_set_element(env, values[4], static_cast<uint32_t>(i), makeCell(env, request, cell, safeIntegers));
      }
      break;
    }
    case Status::Done:
      status = kDone;
      napi_create_double(env, static_cast<double>(request.changes), &values[2]);
      values[3] = makeInteger(env, request.lastInsertRowid, safeIntegers || !isSafe(request.lastInsertRowid));
      if (request.group != 0) napi_create_double(env, static_cast<double>(request.group), &values[4]);
      break;
    case Status::SqliteFailed:
      status = kSqliteFailed;
      napi_create_int32(env, request.errcode, &values[2]);
      napi_create_string_utf8(env, request.message.data(), request.message.size(), &values[3]);
      napi_create_int32(env, request.worker, &values[4]);
      break;
    case Status::BindFailed:
    case Status::Misuse:
      status = request.status == Status::BindFailed ? kBindFailed : kMisuse;
      napi_create_string_utf8(env, request.message.data(), request.message.size(), &values[3]);
      break;
    case Status::NeedsWriter:
      status = kNeedsWriter;
      break;
    case Status::Cancelled:
      status = kCancelled;
      break;
  }
  napi_create_int32(env, status, &values[1]);
  for (napi_value value : values) napi_set_element(env, batch, length++, value);
}

}  // namespace litepool
