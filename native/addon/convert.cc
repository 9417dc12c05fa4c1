// Owns the conversion between JS values and the request record: see convert.h.
// Raw N-API calls on purpose: this is the per-request hot path.
#include "convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace litepool {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

void appendString(napi_env env, napi_value value, std::string& out) {
  size_t length = 0;
  napi_get_value_string_utf8(env, value, nullptr, 0, &length);
  const size_t offset = out.size();
  out.resize(offset + length + 1);
  size_t written = 0;
  napi_get_value_string_utf8(env, value, out.data() + offset, length + 1, &written);
  out.resize(offset + written);
}

}  // namespace

// JS thread.
void readString(napi_env env, napi_value value, std::string& out) {
  out.clear();
  appendString(env, value, out);
}

// JS thread.
void readSql(napi_env env, napi_value sql, Request& request) { readString(env, sql, request.sql); }

// JS thread: one parameter value of JS type `kind`.
static void readValue(napi_env env, napi_value value, napi_valuetype kind, Request& request, Value& param) {
  switch (kind) {
    case napi_number: {
      double number;
      napi_get_value_double(env, value, &number);
      // -0 stays a REAL: as an INTEGER it would lose its sign.
      if (std::trunc(number) == number && std::fabs(number) <= kMaxSafeInteger && !(number == 0 && std::signbit(number))) {
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

// JS thread. `values` is an array, undefined (no parameters), or one bare number, string,
// bigint or boolean: the one positional parameter (see lib/request/job.ts).
void readParams(napi_env env, napi_value values, napi_value names, Request& request) {
  napi_valuetype kind;
  napi_typeof(env, values, &kind);
  if (kind == napi_number || kind == napi_string || kind == napi_bigint || kind == napi_boolean) {
    request.params.emplace_back();
    readValue(env, values, kind, request, request.params.back());
    return;
  }
  if (kind != napi_object) return;
  uint32_t count = 0;
  napi_get_array_length(env, values, &count);
  const std::size_t first = request.params.size();
  request.params.resize(first + count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value value;
    napi_get_element(env, values, i, &value);
    napi_typeof(env, value, &kind);
    readValue(env, value, kind, request, request.params[first + i]);
  }
  napi_typeof(env, names, &kind);
  if (kind != napi_object) return;
  request.namedParams = true;
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

// JS thread. A handful of N-API calls and memcpys per block, none per value: the values were
// encoded on the JS side in one pass, and the writer thread decodes them (Connection::insertRows).
void readRowBlock(napi_env env, napi_value block, napi_value extras, Request& request) {
  RowBlock& out = request.block;
  out.clear();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, block, &type, &length, &data, nullptr, nullptr) != napi_ok || data == nullptr) return;
  const auto* bytes = static_cast<const unsigned char*>(data);
  double header[BLOCK_HEADER_CELLS];
  std::memcpy(header, bytes, sizeof(header));
  out.rows = static_cast<std::uint32_t>(header[static_cast<int>(BlockCell::Rows)]);
  out.columns = static_cast<std::uint32_t>(header[static_cast<int>(BlockCell::Columns)]);
  out.firstRow = static_cast<std::uint64_t>(header[static_cast<int>(BlockCell::FirstRow)]);
  const auto textUnits = static_cast<std::size_t>(header[static_cast<int>(BlockCell::TextUnits)]);
  const std::size_t values = static_cast<std::size_t>(out.rows) * out.columns;
  if (length < sizeof(header) + values * 9) {
    out.rows = 0;  // a block shorter than its header says: nothing to insert (lib/ never sends one)
    return;
  }
  out.payloads.resize(values);
  std::memcpy(out.payloads.data(), bytes + sizeof(header), values * 8);
  out.tags.assign(bytes + sizeof(header) + values * 8, bytes + sizeof(header) + values * 9);
  uint32_t count = 0;
  napi_get_array_length(env, extras, &count);
  if (count == 0) return;
  napi_value text;
  napi_get_element(env, extras, 0, &text);
  if (napi_get_typedarray_info(env, text, &type, &length, &data, nullptr, nullptr) == napi_ok && data != nullptr) {
    const std::size_t units = std::min(textUnits, length);
    out.text.resize(units);
    std::memcpy(out.text.data(), data, units * 2);
  }
  for (uint32_t i = 1; i < count; ++i) {
    napi_value blob;
    napi_get_element(env, extras, i, &blob);
    data = nullptr;
    length = 0;
    napi_get_typedarray_info(env, blob, &type, &length, &data, nullptr, nullptr);
    if (length) out.blobs.append(static_cast<const char*>(data), length);
  }
}

}  // namespace litepool
