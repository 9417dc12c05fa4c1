// Owns binding a request's parameters to a prepared statement (Connection::bind): positional
// values in order, or named values matched to the statement's placeholders by name (the
// placeholder names read once per prepared statement; the given names searched one by one, or
// through a hash map when there are many). Get, All, Run, iterations (statement.cc) and Batch
// entries (transaction.cc) bind through it. See connection.h for the other parts.
//
// Every function here runs on the worker thread that owns the connection.
#include <string_view>
#include <unordered_map>

#include "connection.h"

namespace litepool {

namespace {

// Worker thread.
void setBindFailure(Request& request, std::string message) {
  request.status = Status::BindFailed;
  request.message = std::move(message);
}

}  // namespace

// Worker thread. Binds params[first, first + count); false (and `request` filled) when they do
// not fit the statement.
bool Connection::bind(CachedStatement& statement, Request& request, std::uint32_t first, std::uint32_t count, bool named) {
  sqlite3_stmt* const stmt = statement.stmt;
  const int expected = sqlite3_bind_parameter_count(stmt);
  const Value* params = request.params.data() + first;
  const std::string* paramNames = request.paramNames.data() + first;
  const auto bindOne = [&](int index, const Value& value) {
    const char* bytes = request.paramBytes.data() + (value.type == ValueType::Text || value.type == ValueType::Blob ? value.offset : 0);
    switch (value.type) {
      case ValueType::Null: return sqlite3_bind_null(stmt, index);
      case ValueType::Integer: return sqlite3_bind_int64(stmt, index, value.integer);
      case ValueType::Real: return sqlite3_bind_double(stmt, index, value.real);
      case ValueType::Text: return sqlite3_bind_text64(stmt, index, bytes, value.length, SQLITE_STATIC, SQLITE_UTF8);
      case ValueType::Blob:
        return value.length == 0 ? sqlite3_bind_zeroblob(stmt, index, 0)
                                 : sqlite3_bind_blob64(stmt, index, bytes, value.length, SQLITE_STATIC);
    }
    return SQLITE_MISUSE;
  };

  // EXPLAIN needs no values: its placeholders stay NULL when none are given (query plan lookups).
  if (count == 0 && sqlite3_stmt_isexplain(stmt) != 0) return true;
  if (!named) {
    if (static_cast<int>(count) != expected) {
      setBindFailure(request, "the statement takes " + std::to_string(expected) + " parameter" + (expected == 1 ? "" : "s") +
                                  ", but " + std::to_string(count) + " were given");
      return false;
    }
    for (int i = 0; i < expected; ++i) {
      if (bindOne(i + 1, params[i]) != SQLITE_OK) {
        fail(request);
        return false;
      }
    }
    return true;
  }

  // The statement's placeholder names, read once per prepared statement: SQLite finds each one by
  // a search from the first (sqlite3_bind_parameter_name), so reading them at every bind would make
  // every bind quadratic in the number of placeholders. (SQLite's own prepare is quadratic in the
  // number of distinct names already.)
  std::vector<std::string>& placeholders = statement.parameterNames;
  if (placeholders.size() != static_cast<std::size_t>(expected)) {
    placeholders.clear();
    placeholders.reserve(static_cast<std::size_t>(expected));
    for (int index = 1; index <= expected; ++index) {
      const char* name = sqlite3_bind_parameter_name(stmt, index);
      placeholders.emplace_back(name ? name : "?");
    }
  }
  std::size_t matched = 0;
  std::vector<bool> used(count, false);
  // The given names, by name: searched one by one when there are a few, through a hash map built
  // once per bind when there are many (a search per placeholder would make binding quadratic, and
  // binding cannot be interrupted).
  constexpr std::uint32_t kSearchedNames = 16;
  std::unordered_map<std::string_view, std::size_t> byName;
  if (count > kSearchedNames) {
    byName.reserve(count);
    for (std::size_t i = 0; i < count; ++i) byName.emplace(paramNames[i], i);
  }
  for (int index = 1; index <= expected; ++index) {
    const std::string& name = placeholders[static_cast<std::size_t>(index - 1)];
    if (name[0] == '?') {
      setBindFailure(request, "the statement has positional parameters (?); pass an array, not an object");
      return false;
    }
    const std::string_view key = std::string_view(name).substr(1);
    std::size_t found = count;
    if (count > kSearchedNames) {
      const auto it = byName.find(key);
      if (it != byName.end()) found = it->second;
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        if (paramNames[i] == key) {
          found = i;
          break;
        }
      }
    }
    if (found == count) {
      setBindFailure(request, "missing named parameter '" + std::string(key) + "' (" + name + ")");
      return false;
    }
    if (!used[found]) {
      used[found] = true;
      ++matched;
    }
    if (bindOne(index, params[found]) != SQLITE_OK) {
      fail(request);
      return false;
    }
  }
  if (matched != count) {
    for (std::size_t i = 0; i < used.size(); ++i) {
      if (!used[i]) {
        setBindFailure(request, "unknown named parameter '" + paramNames[i] + "': the statement does not use it");
        return false;
      }
    }
  }
  return true;
}

}  // namespace litepool
