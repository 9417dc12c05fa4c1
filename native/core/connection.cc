// Owns a connection's life and its SQLite callbacks: opening and configuring it, closing it, the
// progress, busy and authorizer handlers, turning a SQLite failure into a request's outcome, and
// running a script of statements. See connection.h for the other parts.
//
// Every function here runs on the worker thread that owns the connection, except the constructor.
#include "connection.h"

#include <cstring>

namespace litepool {

namespace {

// How many virtual machine instructions run between two checks for cancellation.
constexpr int kProgressInterval = 1000;

}  // namespace

// JS thread (Engine::startWriter/startReaders build the worker): keeps the configuration only;
// the worker's thread opens the connection.
Connection::Connection(Role role, const ConnectionConfig& config, const std::atomic<bool>* abort, Timeslice* timeslice)
    : role_(role), config_(config), abort_(abort), timeslice_(timeslice), cache_(config.statementCacheSize) {}

// The worker's thread closed the connection when it ended; this closes one that is still open
// (on the thread that destroys the engine, after joining the worker).
Connection::~Connection() { close(nullptr); }

// Worker thread (SQLite calls it every kProgressInterval instructions). Non-zero stops the
// statement with SQLITE_INTERRUPT.
int Connection::onProgress(void* self) {
  auto* connection = static_cast<Connection*>(self);
  if (connection->timeslice_) connection->timeslice_->check();
  // SQLite also calls this handler on its way out of sqlite3_step(), after the statement halted:
  // an autocommit write or a COMMIT has committed by then, and interrupting would report a
  // committed change as cancelled. Only a statement still running is interrupted.
  return connection->interruptRequested() && connection->statementRunning() ? 1 : 0;
}

// Worker thread. The running request was cancelled or the engine aborts.
bool Connection::interruptRequested() const noexcept {
  if (abort_ && abort_->load(std::memory_order_relaxed)) return true;
  return current_ && current_->cancelled.load(std::memory_order_relaxed);
}

// Writer thread, from the busy handler of a group's BEGIN IMMEDIATE: every member of the group is
// cancelled, so nobody waits for the lock any more. One cancelled member alone does not stop the
// wait: the others still want to commit.
bool Connection::groupCancelled() const noexcept {
  if (beginningGroup_ == nullptr) return false;
  for (std::size_t i = 0; i < beginningGroupSize_; ++i) {
    if (!beginningGroup_[i]->cancelled.load(std::memory_order_relaxed)) return false;
  }
  return true;
}

// Worker thread, from the progress handler once an interrupt is requested (rare: the scan is not
// on the hot path). True while a statement of this connection is still running: busy (stepped,
// not halted), other than an open iteration paused between its chunks.
bool Connection::statementRunning() noexcept {
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(db_, nullptr); stmt; stmt = sqlite3_next_stmt(db_, stmt)) {
    if (!sqlite3_stmt_busy(stmt)) continue;
    if (stmt == iteration_ && !steppingIteration_) continue;
    return true;
  }
  return false;
}

// Worker thread. One step of the open iteration (statementRunning() counts it while it runs).
int Connection::stepIteration() noexcept {
  steppingIteration_ = true;
  const int rc = sqlite3_step(iteration_);
  steppingIteration_ = false;
  return rc;
}

// Worker thread. The rows the statement just run changed: sqlite3_changes() only for a statement
// that counts them (INSERT, UPDATE, DELETE: they add to total_changes when they end), since
// sqlite3_changes() keeps the previous such statement's count through DDL and PRAGMAs.
std::int64_t Connection::changesSince(std::int64_t totalBefore) noexcept {
  return sqlite3_total_changes64(db_) != totalBefore ? sqlite3_changes64(db_) : 0;
}

// Worker thread. SQLite's own busy_timeout sleeps without looking up; this one gives up at once
// when the request is cancelled (a group's BEGIN: every member of the group) or the engine
// aborts, at once for a request that must not wait (RequestFlag::NoBusyWait), and otherwise
// waits up to busyTimeoutMs.
int Connection::onBusy(void* self, int attempt) {
  static constexpr int kDelaysMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  static constexpr int kSteps = static_cast<int>(sizeof(kDelaysMs) / sizeof(kDelaysMs[0]));
  auto* connection = static_cast<Connection*>(self);
  if (connection->interruptRequested() || connection->groupCancelled()) return 0;
  const Request* request = connection->current_;
  if (request != nullptr && (request->flags & RequestFlag::NoBusyWait)) return 0;
  int waited = 0;
  for (int i = 0; i < attempt && i < kSteps; ++i) waited += kDelaysMs[i];
  if (attempt > kSteps) waited += (attempt - kSteps) * kDelaysMs[kSteps - 1];
  const int delay = attempt < kSteps ? kDelaysMs[attempt] : kDelaysMs[kSteps - 1];
  const int remaining = connection->config_.busyTimeoutMs - waited;
  if (remaining <= 0) return 0;
  sqlite3_sleep(delay < remaining ? delay : remaining);
  return 1;
}

namespace {

// Worker thread (pure). A PRAGMA that only reports, whatever value it is given (a table, an index,
// a row limit): it changes nothing on the connection.
bool reportingPragma(const char* name) noexcept {
  static constexpr const char* kReporting[] = {"table_info",       "table_xinfo",       "table_list",      "index_info",
                                               "index_xinfo",      "index_list",        "foreign_key_list", "foreign_key_check",
                                               "integrity_check",  "quick_check"};
  for (const char* reporting : kReporting) {
    if (sqlite3_stricmp(name, reporting) == 0) return true;
  }
  return false;
}

}  // namespace

// Worker thread (while preparing). Records what the statement does. Denies, with SQLITE_AUTH,
// setting PRAGMAs the pool owns once the connection is open: the journal mode and the locking
// mode (a writer out of WAL mode, or holding its lock, would shut the readers out), and, to a
// caller's statement (not the pool's own, RequestFlag::Internal), busy_timeout (it would replace
// onBusy, which gives up when its request is cancelled) and a reader's query_only (a reader, or
// a read lease on one, would write, and its write lock would make the writer fail with BUSY),
// also to a read-only request on the writer (RequestFlag::ReadOnly: a read lease, snapshot or
// iteration holding the writer of a pool without readers, which keeps query_only on meanwhile),
// which may set no PRAGMA at all (only the reporting ones take a value) and not ATTACH or DETACH.
// While the writer looks ahead for a group commit (probing_), every PRAGMA is denied.
// A PRAGMA is prepared for every request (never cached: Connection::prepare), so this check sees
// every one.
int Connection::onAuthorize(void* self, int action, const char* name, const char* value, const char*, const char*) {
  auto* connection = static_cast<Connection*>(self);
  if (action >= 0 && action < 64) connection->authorized_ |= std::uint64_t{1} << action;
  if (connection->opening_) return SQLITE_OK;
  // The writer looking ahead for a group commit (canGroup) must not apply a PRAGMA that SQLite
  // applies while preparing it (query_only, cache_size...) before the writes queued ahead of it
  // ran, or at all if it is cancelled: refused there, the request is simply not grouped.
  if (action == SQLITE_PRAGMA && connection->probing_) return SQLITE_DENY;
  const Request* request = connection->current_;
  const bool readOnlySession = request != nullptr && (request->flags & RequestFlag::ReadOnly) && !(request->flags & RequestFlag::Internal);
  // A read-only session on the writer leaves it as it found it: no ATTACH or DETACH.
  if (readOnlySession && (action == SQLITE_ATTACH || action == SQLITE_DETACH)) return SQLITE_DENY;
  if (action != SQLITE_PRAGMA || value == nullptr || name == nullptr) return SQLITE_OK;
  if (sqlite3_stricmp(name, "journal_mode") == 0 || sqlite3_stricmp(name, "locking_mode") == 0) return SQLITE_DENY;
  if (request != nullptr && (request->flags & RequestFlag::Internal)) return SQLITE_OK;
  if (sqlite3_stricmp(name, "busy_timeout") == 0) return SQLITE_DENY;
  if (connection->role_ == Role::Reader && sqlite3_stricmp(name, "query_only") == 0) return SQLITE_DENY;
  // ...nor sets anything on it (query_only, foreign_keys, synchronous...): only the PRAGMAs that
  // report (table_info(t) and the like) may take a value there.
  if (readOnlySession && !reportingPragma(name)) return SQLITE_DENY;
  return SQLITE_OK;
}

// Worker thread. Reports the connection's last error through `request`, or Cancelled when the
// running request was cancelled or the engine aborts (the error is then the interruption).
void Connection::fail(Request& request) {
  const bool aborting = abort_ && abort_->load(std::memory_order_relaxed);
  if (aborting || (current_ && current_->cancelled.load(std::memory_order_relaxed))) {
    request.status = Status::Cancelled;
    return;
  }
  request.status = Status::SqliteFailed;
  request.errcode = sqlite3_extended_errcode(db_);
  request.message = sqlite3_errmsg(db_);
}

// Worker thread. Runs SQL without parameters or results; false (and `request` filled) on error.
bool Connection::exec(const char* sql, Request& request) {
  const char* cursor = sql;
  const char* end = sql + std::strlen(sql);
  while (cursor < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    authorized_ = 0;
    if (sqlite3_prepare_v3(db_, cursor, static_cast<int>(end - cursor), 0, &stmt, &tail) != SQLITE_OK) {
      fail(request);
      return false;
    }
    if (!stmt) break;
    const bool endsTransaction = (authorized_ & (std::uint64_t{1} << SQLITE_TRANSACTION)) != 0 && sqlite3_stmt_isexplain(stmt) == 0;
    if (refusesTransactionEnd(request, endsTransaction)) {
      sqlite3_finalize(stmt);
      return false;
    }
    // A placeholder would bind NULL without a word: exec() takes no parameters.
    if (sqlite3_bind_parameter_count(stmt) > 0) {
      request.status = Status::BindFailed;
      request.message = "exec() takes no parameters, but the SQL holds a placeholder (" +
                        std::string(sqlite3_bind_parameter_name(stmt, 1) ? sqlite3_bind_parameter_name(stmt, 1) : "?") +
                        "); run it with run(sql, params)";
      sqlite3_finalize(stmt);
      return false;
    }
    const int rc = stepToEnd(stmt);
    if (rc != SQLITE_DONE) fail(request);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return false;
    cursor = tail;
  }
  return true;
}

// Worker thread.
void Connection::open(Request& request) {
  RunningRequest running(*this, &request);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (config_.create || config_.memory) flags |= SQLITE_OPEN_CREATE;
  const char* path = config_.memory ? ":memory:" : config_.path.c_str();
  const int rc = sqlite3_open_v2(path, &db_, flags, config_.vfs.empty() ? nullptr : config_.vfs.c_str());
  if (rc != SQLITE_OK) {
    request.status = Status::SqliteFailed;
    request.errcode = db_ ? sqlite3_extended_errcode(db_) : rc;
    request.message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return;
  }
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_busy_handler(db_, &Connection::onBusy, this);
  sqlite3_progress_handler(db_, kProgressInterval, &Connection::onProgress, this);
  sqlite3_set_authorizer(db_, &Connection::onAuthorize, this);

  std::string setup;
  // The writer switches to WAL first, then reads the schema through it: its connection holds the
  // WAL open from here on, so whichever connection closes last (the writer, see
  // Engine::waitForReadersGone) checkpoints and removes -wal and -shm, even when nothing was
  // written. Reading the schema makes a file that is not a database fail here, with SQLITE_NOTADB.
  if (role_ == Role::Writer && !config_.memory) setup += "PRAGMA journal_mode = WAL;";
  setup += "PRAGMA schema_version;";
  setup += "PRAGMA cache_size = -" + std::to_string(config_.cacheSizeKiB) + ";";
  setup += "PRAGMA synchronous = " + config_.synchronous + ";";
  if (role_ == Role::Reader) setup += "PRAGMA query_only = ON;";
  for (const auto& pragma : config_.pragmas) setup += pragma + ";";
  // The pool's own connections open at once: one may find another recovering the WAL index
  // (SQLITE_BUSY_RECOVERY), which takes moments. Retried for up to kOpenRecoveryMs whatever
  // busyTimeout says (0 would fail an open now and then); other failures are final.
  constexpr int kOpenRecoveryMs = 5000;
  opening_ = true;
  bool ready = exec(setup.c_str(), request);
  for (int waited = 0; !ready && request.errcode == SQLITE_BUSY_RECOVERY && waited < kOpenRecoveryMs; waited += 5) {
    sqlite3_sleep(5);
    request.errcode = 0;
    request.message.clear();
    ready = exec(setup.c_str(), request);
  }
  opening_ = false;
  if (!ready) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  } else {
    request.status = Status::Done;
  }
}

// Worker thread. The writer leaves the database tidy; every connection finalizes its statements.
void Connection::close(Request* request) {
  if (!db_) return;
  endBackup(nullptr);
  bool reported = false;
  if (request && role_ == Role::Writer && !config_.memory) {
    RunningRequest running(*this, request);
    Request scratch;
    // Best effort, as the checkpoint is: statistics that cannot be written are not a failed close.
    exec("PRAGMA optimize;", scratch);
    if (!config_.closeCheckpoint.empty()) {
      reported = closeCheckpoint(*request);
    }
  }
  transactionSinceMs_ = 0;
  endIteration();
  cache_.clear();
  sqlite3_close_v2(db_);
  db_ = nullptr;
  if (request && !reported) request->status = Status::Done;
}

// Worker thread. The statement goes back to the cache, ready for the next request with its SQL.
void Connection::endIteration() noexcept {
  if (iteration_ && !iterationEntry_.cacheable) {
    sqlite3_finalize(iteration_);  // a PRAGMA or an EXPLAIN: never kept (Connection::prepare)
  } else if (iteration_) {
    sqlite3_reset(iteration_);
    sqlite3_clear_bindings(iteration_);
    try {
      cache_.giveBack(std::move(iterationEntry_));
    } catch (...) {
      sqlite3_finalize(iteration_);  // out of memory: the cache does not keep it
    }
  }
  iteration_ = nullptr;
  iterationEntry_ = CachedStatement{};
  iterationRowReady_ = false;
}

}  // namespace litepool
