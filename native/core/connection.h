// Owns one sqlite3 connection and everything done with it: opening and configuring it, running
// requests (bind, step, copy rows out), and closing it.
//
// Every method runs on the one worker thread that owns the connection (SQLITE_OPEN_NOMUTEX with
// SQLITE_THREADSAFE=2: SQLite itself does no locking, so the connection must never be shared).
// The only cross-thread input is a request's atomic `cancelled` flag and the engine's abort
// flag, both polled from SQLite's progress handler on this same thread: no other thread ever
// calls into this connection, so there is no interrupt-while-closing race.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "request.h"
#include "statement_cache.h"
#include "sqlite3.h"

namespace litepool {

enum class Role : std::uint8_t { Writer, Reader };

struct ConnectionConfig {
  std::string path;
  bool create = true;                 // SQLITE_OPEN_CREATE
  bool memory = false;                // ':memory:' (no WAL, one connection)
  int busyTimeoutMs = 5000;
  int cacheSizeKiB = 16000;
  std::size_t statementCacheSize = 128;
  std::string synchronous = "NORMAL";  // NORMAL | FULL | OFF | EXTRA
  std::vector<std::string> pragmas;   // complete "PRAGMA x = y" statements, run on every connection
};

class Connection {
 public:
  Connection(Role role, const ConnectionConfig& config, const std::atomic<bool>* abort);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Role role() const noexcept { return role_; }

  // Worker thread. Opens and configures the connection; reports through `request`.
  void open(Request& request);
  // Worker thread. Runs one Get/All/Run/Exec request; reports through `request`.
  void execute(Request& request);
  // Worker thread. The writer optimizes and checkpoints first; then the connection closes.
  void close(Request* request);

  // Worker thread. Runs IterateStart / IterateNext / IterateEnd. One iteration per connection
  // at a time: the connection is pinned to the iterating lease.
  void iterate(Request& request);
  // Worker thread. Finalizes the open iteration, if any.
  void endIteration() noexcept;
  // Worker thread. Rolls back a transaction left open; true when there was one.
  bool rollBackOpenTransaction();

  bool isOpen() const noexcept { return db_ != nullptr; }

 private:
  void runPragmas(Request& request);
  bool exec(const char* sql, Request& request);
  CachedStatement* prepare(Request& request, CachedStatement& scratch, bool useCache = true);
  void stepChunk(Request& request);
  bool bind(sqlite3_stmt* stmt, Request& request);
  void collectRow(sqlite3_stmt* stmt, int columns, Request& request);
  void fail(Request& request);
  void finishStatement(CachedStatement* statement, CachedStatement& scratch);
  void rollBackIfLeftOpen(Request& request);
  static int onProgress(void* self);
  static int onBusy(void* self, int attempt);

  const Role role_;
  const ConnectionConfig config_;
  const std::atomic<bool>* const abort_;
  sqlite3* db_ = nullptr;
  StatementCache cache_;
  Request* current_ = nullptr;  // the request being run (read by the progress handler)
  sqlite3_stmt* iteration_ = nullptr;  // the open iteration's statement (never cached)

};

}  // namespace litepool
