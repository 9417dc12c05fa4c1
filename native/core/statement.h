// Owns the pieces every way of running a statement shares (statement.cc, transaction.cc): the
// handle that finishes a statement after use, the step loops, and copying rows out of SQLite.
//
// Everything here runs on the worker thread that owns the connection the statement belongs to.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "request.h"
#include "statement_cache.h"
#include "sqlite3.h"

namespace litepool {

// A prepared statement in use by one request, finished when the handle goes out of scope (or at
// finish()): a cached statement is reset and its bindings cleared, so it stays prepared for the
// next request; an uncached one is finalized. Connection::prepare() fills it.
class StatementHandle {
 public:
  StatementHandle() = default;
  ~StatementHandle() { finish(); }
  StatementHandle(const StatementHandle&) = delete;
  StatementHandle& operator=(const StatementHandle&) = delete;

  explicit operator bool() const noexcept { return entry_ != nullptr; }
  CachedStatement* operator->() const noexcept { return entry_; }
  CachedStatement& entry() const noexcept { return *entry_; }
  sqlite3_stmt* stmt() const noexcept { return entry_->stmt; }

  // Points the handle at a statement of the cache, which keeps it until the handle is finished.
  void useCached(CachedStatement* entry) noexcept {
    entry_ = entry;
    ++entry->handles;
  }
  // Takes ownership of an uncached statement; returns its description to fill in.
  CachedStatement& useUncached(sqlite3_stmt* stmt) noexcept {
    uncached_.stmt = stmt;
    entry_ = &uncached_;
    return uncached_;
  }
  // Hands the uncached statement over to the caller, who finalizes it later (an iteration).
  sqlite3_stmt* release() noexcept {
    sqlite3_stmt* stmt = uncached_.stmt;
    uncached_.stmt = nullptr;
    entry_ = nullptr;
    return stmt;
  }
  // Finishes the statement now. Idempotent.
  void finish() noexcept {
    if (entry_ == &uncached_) {
      sqlite3_finalize(uncached_.stmt);
      uncached_.stmt = nullptr;
    } else if (entry_ != nullptr) {
      sqlite3_reset(entry_->stmt);
      sqlite3_clear_bindings(entry_->stmt);
      --entry_->handles;
    }
    entry_ = nullptr;
  }

 private:
  CachedStatement* entry_ = nullptr;
  CachedStatement uncached_;
};

// Ends `request` as a misuse (not a valid use of the API), with `message`.
inline void setMisuse(Request& request, std::string message) {
  request.status = Status::Misuse;
  request.message = std::move(message);
}

// Steps `stmt` until it is done, discarding rows, and returns the last result code (SQLITE_DONE,
// or the error). `last` is the result of the step before, if any: only SQLITE_ROW steps on, so a
// statement that already finished or failed is left alone.
inline int stepToEnd(sqlite3_stmt* stmt, int last = SQLITE_ROW) noexcept {
  int rc = last;
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
  return rc;
}

// Copies the current row of `stmt` into the request's cells (text and blob bytes into cellBytes).
void collectRow(sqlite3_stmt* stmt, int columns, Request& request);

// Copies the current row (`last` is SQLITE_ROW) and every row after it; returns the last result
// code. With any other `last` it copies nothing and returns it.
inline int collectRows(sqlite3_stmt* stmt, int columns, Request& request, int last) {
  int rc = last;
  while (rc == SQLITE_ROW) {
    collectRow(stmt, columns, request);
    rc = sqlite3_step(stmt);
  }
  return rc;
}

// V8's longest string, in UTF-16 units (v8::String::kMaxLength): V8 refuses to make a string of
// more bytes than that, whatever they decode to (String::NewFromUtf8, String::NewFromOneByte).
inline constexpr std::uint32_t kMaxJsStringLength = sizeof(void*) == 4 ? (1u << 28) - 16 : (1u << 29) - 24;

// Any thread. Whether every value of the rows in `request` becomes a JS value in the completion
// encoder (native/addon/batch_encoder.cc), which otherwise fails the request (IntegerOverflow, or
// SQLITE_TOOBIG) and drops its column names: no integer beyond 2^53 without bigints
// (RequestFlag::SafeIntegers), no text longer than V8's longest string. (A blob fails only when
// memory runs out, which cannot be foreseen.)
bool reachesJs(const Request& request) noexcept;

// Any thread. Whether a statement whose authorizer saw `actions` (bit = action code) may share a
// group commit: row changes (and the reads and functions they use) may; DDL, PRAGMA, ATTACH,
// transaction control, VACUUM (no authorizer action at all) and the like may not.
bool isGroupable(std::uint64_t actions) noexcept;

}  // namespace litepool
