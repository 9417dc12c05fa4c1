// Owns one connection's prepared statements: an LRU cache keyed by SQL text.
//
// Used only by the worker thread that owns the connection (never shared, never locked).
// Evicted statements are finalized. Capacity 0 disables caching: the connection then finalizes
// each statement after use (see StatementHandle in statement.h).
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sqlite3.h"

namespace litepool {

struct CachedStatement {
  std::string sql;
  sqlite3_stmt* stmt = nullptr;
  bool readonly = false;
  bool groupable = false;  // only row changes (INSERT/UPDATE/DELETE and reads): may share a group commit
  bool controlsTransaction = false;  // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE
  bool endsTransaction = false;      // BEGIN, COMMIT, END, ROLLBACK (not under EXPLAIN): not ROLLBACK TO, SAVEPOINT or RELEASE
  bool cacheable = true;   // false for a PRAGMA or an EXPLAIN: never kept for another request (Connection::prepare)
  int reprepareCount = 0;  // SQLITE_STMTSTATUS_REPREPARE seen after the last run
  // Fresh or re-prepared since its names last reached lib/ with a Get or All result: the next one
  // reports them (lib/ keeps the names per SQL text and per worker: request/sql-registry.ts).
  bool reportNames = true;
  std::uint32_t namesEpoch = 0;  // the Request::namesEpoch its names last reached lib/ under
  std::vector<std::string> columnNames;
  std::vector<std::string> parameterNames;  // each placeholder's name ("?" when it has none), read at its first named bind
  int handles = 0;  // StatementHandles using it now: never evicted meanwhile (another prepare may fill the cache)
};

class StatementCache {
 public:
  explicit StatementCache(std::size_t capacity) : capacity_(capacity) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache() { clear(); }

  std::size_t capacity() const noexcept { return capacity_; }

  // Owning worker thread. The entry becomes most recently used; nullptr when absent.
  CachedStatement* find(std::string_view sql) {
    auto it = index_.find(sql);
    if (it == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &*it->second;
  }

  // Owning worker thread. Takes ownership of `stmt`; evicts and finalizes the least recently
  // used entry no handle uses when full (or holds one more while every entry is in use).
  // Requires capacity() > 0.
  CachedStatement* insert(std::string sql, sqlite3_stmt* stmt) {
    while (entries_.size() >= capacity_ && evictOldest()) {
    }
    entries_.emplace_front();
    CachedStatement& entry = entries_.front();
    entry.sql = std::move(sql);
    entry.stmt = stmt;
    index_.emplace(std::string_view(entry.sql), entries_.begin());
    return &entry;
  }

  // Owning worker thread. Moves the entry for `sql` out of the cache into `out`, its statement
  // not finalized (an iteration keeps it while it is open); false when absent or in use.
  bool take(std::string_view sql, CachedStatement& out) {
    auto it = index_.find(sql);
    if (it == index_.end() || it->second->handles > 0) return false;
    const auto node = it->second;
    index_.erase(it);
    out = std::move(*node);
    entries_.erase(node);
    return true;
  }

  // Owning worker thread. Takes back a statement (reset) that take() handed out, or one prepared
  // for the same use, as the most recently used entry; finalizes it instead when caching is off
  // or the cache holds that SQL again.
  void giveBack(CachedStatement&& entry) {
    if (capacity_ == 0 || index_.count(std::string_view(entry.sql)) != 0) {
      sqlite3_finalize(entry.stmt);
      return;
    }
    while (entries_.size() >= capacity_ && evictOldest()) {
    }
    entries_.push_front(std::move(entry));
    index_.emplace(std::string_view(entries_.front().sql), entries_.begin());
  }

  // Owning worker thread. Finalizes every statement (before the connection closes).
  void clear() {
    for (auto& entry : entries_) sqlite3_finalize(entry.stmt);
    index_.clear();
    entries_.clear();
  }

 private:
  // The least recently used entry no StatementHandle uses, finalized; false when every entry is in use.
  bool evictOldest() {
    for (auto it = entries_.end(); it != entries_.begin();) {
      --it;
      if (it->handles > 0) continue;
      index_.erase(std::string_view(it->sql));
      sqlite3_finalize(it->stmt);
      entries_.erase(it);
      return true;
    }
    return false;
  }

  const std::size_t capacity_;
  std::list<CachedStatement> entries_;  // front = most recently used; nodes never move
  std::unordered_map<std::string_view, std::list<CachedStatement>::iterator> index_;
};

}  // namespace litepool
