// Owns one sqlite3 connection: see connection.h. Every function here runs on the worker thread
// that owns the connection.
#include "connection.h"

#include <cstring>
#include <string_view>

namespace litepool {

namespace {

// How many virtual machine instructions run between two checks for cancellation.
constexpr int kProgressInterval = 1000;

bool isAscii(const unsigned char* bytes, std::size_t length) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    if (word & 0x8080808080808080ull) return false;
  }
  for (; i < length; ++i) {
    if (bytes[i] & 0x80) return false;
  }
  return true;
}

bool onlySpace(const char* begin, const char* end) noexcept {
  for (const char* p = begin; p < end; ++p) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\f' && *p != '\v' && *p != ';') return false;
  }
  return true;
}

void setMisuse(Request& request, std::string message) {
  request.status = Status::Misuse;
  request.message = std::move(message);
}

void setBindFailure(Request& request, std::string message) {
  request.status = Status::BindFailed;
  request.message = std::move(message);
}

}  // namespace

Connection::Connection(Role role, const ConnectionConfig& config, const std::atomic<bool>* abort, Timeslice* timeslice)
    : role_(role), config_(config), abort_(abort), timeslice_(timeslice), cache_(config.statementCacheSize) {}

Connection::~Connection() { close(nullptr); }

// Worker thread.
int Connection::onProgress(void* self) {
  auto* connection = static_cast<Connection*>(self);
  if (connection->timeslice_) connection->timeslice_->check();
  if (connection->abort_ && connection->abort_->load(std::memory_order_relaxed)) return 1;
  Request* request = connection->current_;
  return request && request->cancelled.load(std::memory_order_relaxed) ? 1 : 0;
}

// Worker thread. SQLite's own busy_timeout sleeps without looking up; this one gives up at once
// when the request is cancelled or the engine aborts, and otherwise waits up to busyTimeoutMs.
int Connection::onBusy(void* self, int attempt) {
  static constexpr int kDelaysMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  static constexpr int kSteps = static_cast<int>(sizeof(kDelaysMs) / sizeof(kDelaysMs[0]));
  auto* connection = static_cast<Connection*>(self);
  if (onProgress(self)) return 0;
  int waited = 0;
  for (int i = 0; i < attempt && i < kSteps; ++i) waited += kDelaysMs[i];
  if (attempt > kSteps) waited += (attempt - kSteps) * kDelaysMs[kSteps - 1];
  const int delay = attempt < kSteps ? kDelaysMs[attempt] : kDelaysMs[kSteps - 1];
  const int remaining = connection->config_.busyTimeoutMs - waited;
  if (remaining <= 0) return 0;
  sqlite3_sleep(delay < remaining ? delay : remaining);
  return 1;
}

// Worker thread (while preparing). Records what the statement does; never denies anything.
int Connection::onAuthorize(void* self, int action, const char*, const char*, const char*, const char*) {
  if (action >= 0 && action < 64) static_cast<Connection*>(self)->authorized_ |= std::uint64_t{1} << action;
  return SQLITE_OK;
}

// Any thread. Row changes (and the reads and functions they use) may share a transaction; DDL,
// PRAGMA, ATTACH, transaction control, VACUUM (no authorizer action at all) and the like may not.
bool Connection::isGroupable(std::uint64_t actions) noexcept {
  constexpr auto bit = [](int action) { return std::uint64_t{1} << action; };
  const std::uint64_t writes = bit(SQLITE_INSERT) | bit(SQLITE_UPDATE) | bit(SQLITE_DELETE);
  const std::uint64_t allowed = writes | bit(SQLITE_READ) | bit(SQLITE_SELECT) | bit(SQLITE_FUNCTION) | bit(SQLITE_RECURSIVE);
  return (actions & writes) != 0 && (actions & ~allowed) == 0;
}

// Worker thread. Runs one cached control statement (BEGIN, SAVEPOINT, COMMIT...).
bool Connection::control(const std::string& sql, Request& report) {
  CachedStatement scratch;
  CachedStatement* statement = prepare(sql, report, scratch);
  if (!statement) return false;
  int rc;
  while ((rc = sqlite3_step(statement->stmt)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) fail(report);
  finishStatement(statement, scratch);
  return rc == SQLITE_DONE;
}

// Writer thread.
bool Connection::canGroup(const Request& request) {
  if (request.op != Op::Run || !(request.flags & flags::kGroupable) || !db_ || !sqlite3_get_autocommit(db_)) return false;
  if (request.cancelled.load(std::memory_order_relaxed)) return false;
  CachedStatement scratch;
  CachedStatement* statement = prepare(request.sql, probe_, scratch);
  if (!statement) return false;
  const bool groupable = statement->groupable;
  if (statement == &scratch) sqlite3_finalize(scratch.stmt);
  return groupable;
}

// Writer thread.
void Connection::executeGroup(Request* const* group, std::size_t count) {
  static const std::string kBegin = "BEGIN IMMEDIATE";
  static const std::string kSavepoint = "SAVEPOINT litepool_group";
  static const std::string kRelease = "RELEASE litepool_group";
  static const std::string kRollbackTo = "ROLLBACK TO litepool_group";
  static const std::string kCommit = "COMMIT";
  const auto succeeded = [](const Request& r) { return r.status == Status::Done || r.status == Status::Rows; };
  const auto runAlone = [this](Request& r) {
    r.clearOutput();
    if (r.cancelled.load(std::memory_order_relaxed)) {
      r.status = Status::Cancelled;
    } else {
      execute(r);
    }
  };
  Request scratch;
  if (!control(kBegin, scratch)) {
    for (std::size_t i = 0; i < count; ++i) runAlone(*group[i]);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Request& request = *group[i];
    if (request.cancelled.load(std::memory_order_relaxed)) {
      request.status = Status::Cancelled;
      continue;
    }
    control(kSavepoint, scratch);
    const std::uint32_t flagsBefore = request.flags;
    request.flags |= flags::kKeepTransaction;
    execute(request);
    request.flags = flagsBefore;
    if (sqlite3_get_autocommit(db_)) {
      // The failure rolled the whole transaction back (an I/O error, an interrupted write...):
      // the entries before this one never committed. Run them, and the rest, one by one.
      for (std::size_t j = 0; j < i; ++j) {
        if (succeeded(*group[j])) runAlone(*group[j]);
      }
      for (std::size_t j = i + 1; j < count; ++j) runAlone(*group[j]);
      return;
    }
    if (succeeded(request)) {
      control(kRelease, scratch);
    } else {
      control(kRollbackTo, scratch);
      control(kRelease, scratch);
    }
  }
  if (!control(kCommit, scratch)) {
    rollBackOpenTransaction();
    for (std::size_t i = 0; i < count; ++i) {
      Request& request = *group[i];
      if (!succeeded(request)) continue;
      request.clearOutput();
      request.status = Status::SqliteFailed;
      request.errcode = scratch.errcode;
      request.message = "the group commit failed: " + scratch.message;
    }
  }
}

// Writer thread.
void Connection::executeBatch(Request& request) {
  if (transactionLost(request)) return;
  current_ = &request;
  const bool nested = !sqlite3_get_autocommit(db_);
  static const std::string kBegin = "BEGIN IMMEDIATE";
  static const std::string kCommit = "COMMIT";
  static const std::string kSavepoint = "SAVEPOINT litepool_batch";
  static const std::string kRelease = "RELEASE litepool_batch";
  static const std::string kRollbackTo = "ROLLBACK TO litepool_batch";
  const auto undo = [&] {
    Request scratch;
    if (nested) {
      control(kRollbackTo, scratch);
      control(kRelease, scratch);
    } else {
      rollBackOpenTransaction();
    }
    request.cells.clear();
    request.cellBytes.clear();
    current_ = nullptr;
  };
  if (!control(nested ? kSavepoint : kBegin, request)) {
    current_ = nullptr;
    return;
  }
  for (std::size_t k = 0; k < request.batch.size(); ++k) {
    const BatchEntry& entry = request.batch[k];
    const std::string where = "batch statement " + std::to_string(k + 1) + ": ";
    CachedStatement scratch;
    CachedStatement* statement = prepare(entry.sql, request, scratch);
    if (!statement) {
      request.message = where + request.message;
      undo();
      return;
    }
    if (statement->controlsTransaction) {
      setMisuse(request, where + "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) is not allowed in a batch: the batch is its own transaction");
      finishStatement(statement, scratch);
      undo();
      return;
    }
    if (!bind(statement->stmt, request, entry.firstParam, entry.paramCount, entry.named)) {
      request.message = where + request.message;
      finishStatement(statement, scratch);
      undo();
      return;
    }
    int rc;
    while ((rc = sqlite3_step(statement->stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      fail(request);
      request.message = where + request.message;
      finishStatement(statement, scratch);
      undo();
      return;
    }
    if (sqlite3_get_autocommit(db_)) {
      // Something ended the batch's transaction (a trigger's RAISE(ROLLBACK), OR ROLLBACK...):
      // what ran before is gone or committed separately, so the batch cannot claim success.
      setMisuse(request, where + "the statement ended the batch's transaction");
      request.status = Status::SqliteFailed;
      request.errcode = SQLITE_ABORT;
      finishStatement(statement, scratch);
      undo();
      return;
    }
    Value changes;
    changes.type = ValueType::Integer;
    changes.integer = statement->readonly ? 0 : sqlite3_changes64(db_);
    Value rowid;
    rowid.type = ValueType::Integer;
    rowid.integer = sqlite3_last_insert_rowid(db_);
    request.cells.push_back(changes);
    request.cells.push_back(rowid);
    finishStatement(statement, scratch);
  }
  if (!control(nested ? kRelease : kCommit, request)) {
    undo();
    return;
  }
  request.status = Status::Rows;
  request.columnCount = 2;
  current_ = nullptr;
}

// Worker thread.
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
    if (sqlite3_prepare_v3(db_, cursor, static_cast<int>(end - cursor), 0, &stmt, &tail) != SQLITE_OK) {
      fail(request);
      return false;
    }
    if (!stmt) break;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      fail(request);
      sqlite3_finalize(stmt);
      return false;
    }
    sqlite3_finalize(stmt);
    cursor = tail;
  }
  return true;
}

// Worker thread.
void Connection::open(Request& request) {
  current_ = &request;
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
    current_ = nullptr;
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
  // Reading the schema first makes a file that is not a database fail here, with SQLITE_NOTADB.
  setup += "PRAGMA schema_version;";
  if (role_ == Role::Writer && !config_.memory) setup += "PRAGMA journal_mode = WAL;";
  setup += "PRAGMA cache_size = -" + std::to_string(config_.cacheSizeKiB) + ";";
  setup += "PRAGMA synchronous = " + config_.synchronous + ";";
  if (role_ == Role::Reader) setup += "PRAGMA query_only = ON;";
  for (const auto& pragma : config_.pragmas) setup += pragma + ";";
  if (!exec(setup.c_str(), request)) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  } else {
    request.status = Status::Done;
  }
  current_ = nullptr;
}

// Worker thread. The writer leaves the database tidy; every connection finalizes its statements.
void Connection::close(Request* request) {
  if (!db_) return;
  if (request && role_ == Role::Writer && !config_.memory) {
    current_ = request;
    Request scratch;
    // Both are best effort: a busy checkpoint (another process reading) is not a failed close.
    exec("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);", scratch);
    current_ = nullptr;
  }
  endIteration();
  cache_.clear();
  sqlite3_close_v2(db_);
  db_ = nullptr;
  if (request) request->status = Status::Done;
}

// Worker thread. Finds the statement in the cache or prepares it. Returns nullptr with `request`
// filled when the SQL does not prepare or is not exactly one statement.
CachedStatement* Connection::prepare(const std::string& sql, Request& request, CachedStatement& scratch, bool useCache) {
  useCache = useCache && cache_.capacity() > 0;
  if (useCache) {
    if (CachedStatement* hit = cache_.find(sql)) return hit;
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const char* begin = sql.data();
  const char* end = begin + sql.size();
  const unsigned prepareFlags = useCache ? SQLITE_PREPARE_PERSISTENT : 0;
  authorized_ = 0;
  if (sqlite3_prepare_v3(db_, begin, static_cast<int>(sql.size()), prepareFlags, &stmt, &tail) != SQLITE_OK) {
    fail(request);
    return nullptr;
  }
  if (!stmt) {
    setMisuse(request, "the SQL contains no statement");
    return nullptr;
  }
  if (tail && !onlySpace(tail, end)) {
    // More text follows: fine if it is only comments, an error if it is another statement.
    sqlite3_stmt* next = nullptr;
    const int rc = sqlite3_prepare_v3(db_, tail, static_cast<int>(end - tail), 0, &next, nullptr);
    sqlite3_finalize(next);
    if (rc != SQLITE_OK || next) {
      sqlite3_finalize(stmt);
      setMisuse(request, "the SQL holds more than one statement; use exec() to run several statements");
      return nullptr;
    }
  }
  CachedStatement* entry;
  if (useCache) {
    entry = cache_.insert(sql, stmt);
  } else {
    scratch.stmt = stmt;
    entry = &scratch;
  }
  entry->readonly = sqlite3_stmt_readonly(stmt) != 0;
  entry->groupable = isGroupable(authorized_);
  entry->controlsTransaction = (authorized_ & ((std::uint64_t{1} << SQLITE_TRANSACTION) | (std::uint64_t{1} << SQLITE_SAVEPOINT))) != 0;
  entry->reprepareCount = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_REPREPARE, 0);
  entry->reportNames = true;
  return entry;
}

// Worker thread. Uncached statements are finalized; cached ones stay prepared.
void Connection::finishStatement(CachedStatement* statement, CachedStatement& scratch) {
  if (statement == &scratch) {
    sqlite3_finalize(scratch.stmt);
    scratch.stmt = nullptr;
  } else {
    sqlite3_reset(statement->stmt);
    sqlite3_clear_bindings(statement->stmt);
  }
}

// Worker thread. Binds every parameter; false (and `request` filled) when they do not fit.
bool Connection::bind(sqlite3_stmt* stmt, Request& request, std::uint32_t first, std::uint32_t count, bool named) {
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

  std::size_t matched = 0;
  std::vector<bool> used(count, false);
  for (int index = 1; index <= expected; ++index) {
    const char* name = sqlite3_bind_parameter_name(stmt, index);
    if (!name || name[0] == '?') {
      setBindFailure(request, "the statement has positional parameters (?); pass an array, not an object");
      return false;
    }
    const std::string_view key(name + 1);
    std::size_t found = count;
    for (std::size_t i = 0; i < count; ++i) {
      if (paramNames[i] == key) {
        found = i;
        break;
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

// Worker thread. Copies the current row out of SQLite into the request's cell arena.
void Connection::collectRow(sqlite3_stmt* stmt, int columns, Request& request) {
  for (int column = 0; column < columns; ++column) {
    Value cell;
    switch (sqlite3_column_type(stmt, column)) {
      case SQLITE_INTEGER:
        cell.type = ValueType::Integer;
        cell.integer = sqlite3_column_int64(stmt, column);
        break;
      case SQLITE_FLOAT:
        cell.type = ValueType::Real;
        cell.real = sqlite3_column_double(stmt, column);
        break;
      case SQLITE_TEXT: {
        const auto* text = sqlite3_column_text(stmt, column);
        const auto length = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
        cell.type = ValueType::Text;
        cell.offset = request.cellBytes.size();
        cell.length = static_cast<std::uint32_t>(length);
        cell.ascii = isAscii(text, length);
        request.cellBytes.append(reinterpret_cast<const char*>(text), length);
        break;
      }
      case SQLITE_BLOB: {
        const void* blob = sqlite3_column_blob(stmt, column);
        const auto length = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
        cell.type = ValueType::Blob;
        cell.offset = request.cellBytes.size();
        cell.length = static_cast<std::uint32_t>(length);
        if (length) request.cellBytes.append(static_cast<const char*>(blob), length);
        break;
      }
      default:
        cell.type = ValueType::Null;
        break;
    }
    request.cells.push_back(cell);
  }
}

// Worker thread. A pooled connection must go back in autocommit mode: a transaction left open
// by a stray BEGIN would swallow every later request on it.
void Connection::rollBackIfLeftOpen(Request& request) {
  if (request.flags & flags::kKeepTransaction) return;
  if (!rollBackOpenTransaction()) return;
  if (request.status == Status::Rows || request.status == Status::Done) {
    setMisuse(request,
              "the statement left a transaction open, so it was rolled back; use db.transaction() or db.acquire() for "
              "transactions");
  }
}

// Worker thread.
bool Connection::rollBackOpenTransaction() {
  endIteration();
  if (!db_ || sqlite3_get_autocommit(db_)) return false;
  // The rollback must not be interrupted by the cancellation of the request that left the
  // transaction open: detach that request from the progress handler while it runs.
  Request* running = current_;
  current_ = nullptr;
  Request scratch;
  exec("ROLLBACK", scratch);
  current_ = running;
  return true;
}

// Worker thread.
void Connection::endIteration() noexcept {
  if (iteration_) sqlite3_finalize(iteration_);
  iteration_ = nullptr;
}

// Worker thread. Steps the open iteration for up to chunkRows rows.
void Connection::stepChunk(Request& request) {
  const int columns = sqlite3_column_count(iteration_);
  std::uint32_t rows = 0;
  int rc = SQLITE_ROW;
  while (rows < request.chunkRows && (rc = sqlite3_step(iteration_)) == SQLITE_ROW) {
    collectRow(iteration_, columns, request);
    ++rows;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    fail(request);
    endIteration();
    return;
  }
  request.columnCount = static_cast<std::uint32_t>(columns);
  if (request.op == Op::IterateStart) {
    request.columnNames.clear();
    for (int column = 0; column < columns; ++column) {
      const char* name = sqlite3_column_name(iteration_, column);
      request.columnNames.emplace_back(name ? name : "");
    }
    request.namesAttached = true;
  }
  if (rc == SQLITE_DONE) {
    request.status = Status::Rows;
    endIteration();
  } else {
    request.status = Status::RowsMore;
  }
}

// Worker thread.
void Connection::iterate(Request& request) {
  if (request.op == Op::IterateEnd && !db_) {
    request.status = Status::Done;
    return;
  }
  if (request.op != Op::IterateEnd && transactionLost(request)) return;
  current_ = &request;
  if (request.op == Op::IterateEnd) {
    endIteration();
    request.status = Status::Done;
    current_ = nullptr;
    return;
  }
  if (request.op == Op::IterateNext) {
    if (!iteration_) {
      setMisuse(request, "no iteration is open on this connection");
    } else {
      stepChunk(request);
    }
    current_ = nullptr;
    return;
  }
  endIteration();
  CachedStatement scratch;
  if (!prepare(request.sql, request, scratch, false)) {
    current_ = nullptr;
    return;
  }
  if (role_ == Role::Reader && !scratch.readonly) {
    sqlite3_finalize(scratch.stmt);
    request.status = Status::NeedsWriter;
    current_ = nullptr;
    return;
  }
  if (!bind(scratch.stmt, request, 0, static_cast<std::uint32_t>(request.params.size()), !request.paramNames.empty())) {
    sqlite3_finalize(scratch.stmt);
    current_ = nullptr;
    return;
  }
  iteration_ = scratch.stmt;
  scratch.stmt = nullptr;
  stepChunk(request);
  current_ = nullptr;
}

// Worker thread. A statement of a transaction that SQLite already rolled back (an interrupted
// write, an I/O error, SQLITE_FULL...) must not run in autocommit mode as if nothing happened.
bool Connection::transactionLost(Request& request) {
  if (!db_) {
    // The connection could not be reopened: report it (a broken connection) until it can.
    request.status = Status::SqliteFailed;
    request.errcode = SQLITE_CANTOPEN;
    request.message = "the connection is closed: it could not be reopened after it was replaced";
    return true;
  }
  if (!(request.flags & flags::kExpectTransaction) || !sqlite3_get_autocommit(db_)) return false;
  setMisuse(request,
            "the transaction is no longer active: an earlier statement failed in a way that made SQLite roll it back "
            "(an interrupted write, an I/O error, a full disk...)");
  request.status = Status::SqliteFailed;
  request.errcode = SQLITE_ABORT;
  return true;
}

// Worker thread.
void Connection::execute(Request& request) {
  if (transactionLost(request)) return;
  current_ = &request;
  if (request.op == Op::Exec) {
    if (exec(request.sql.c_str(), request)) {
      request.status = Status::Done;
      request.changes = sqlite3_changes64(db_);
      request.lastInsertRowid = sqlite3_last_insert_rowid(db_);
    }
    rollBackIfLeftOpen(request);
    current_ = nullptr;
    return;
  }

  CachedStatement scratch;
  CachedStatement* statement = prepare(request.sql, request, scratch);
  if (!statement) {
    current_ = nullptr;
    return;
  }
  sqlite3_stmt* stmt = statement->stmt;
  if (role_ == Role::Reader && !statement->readonly) {
    request.status = Status::NeedsWriter;
    finishStatement(statement, scratch);
    current_ = nullptr;
    return;
  }
  if (!bind(stmt, request, 0, static_cast<std::uint32_t>(request.params.size()), !request.paramNames.empty())) {
    finishStatement(statement, scratch);
    current_ = nullptr;
    return;
  }

  int rc = sqlite3_step(stmt);
  // Column count and names are read after the first step: a re-prepare (schema change) happens
  // inside it and may change them.
  const int columns = sqlite3_column_count(stmt);
  const int reprepares = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_REPREPARE, 0);
  if (reprepares != statement->reprepareCount || statement->columnNames.size() != static_cast<std::size_t>(columns)) {
    statement->reprepareCount = reprepares;
    statement->reportNames = true;
  }
  if (statement->reportNames) {
    statement->columnNames.clear();
    for (int column = 0; column < columns; ++column) {
      const char* name = sqlite3_column_name(stmt, column);
      statement->columnNames.emplace_back(name ? name : "");
    }
  }

  const bool returnRows = request.op == Op::Run && (request.flags & flags::kReturnRows) && columns > 0;
  switch (request.op) {
    case Op::Get:
      if (rc == SQLITE_ROW) {
        collectRow(stmt, columns, request);
        // A read-only statement may stop at its first row; a write must run to completion.
        rc = statement->readonly ? SQLITE_DONE : sqlite3_step(stmt);
        while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
      }
      break;
    case Op::All:
      while (rc == SQLITE_ROW) {
        collectRow(stmt, columns, request);
        rc = sqlite3_step(stmt);
      }
      break;
    default:
      if (returnRows) {
        while (rc == SQLITE_ROW) {
          collectRow(stmt, columns, request);
          rc = sqlite3_step(stmt);
        }
      }
      while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
      break;
  }

  if (rc != SQLITE_DONE) {
    fail(request);
  } else if (request.op == Op::Run && !returnRows) {
    request.status = Status::Done;
    request.changes = statement->readonly ? 0 : sqlite3_changes64(db_);
    request.lastInsertRowid = sqlite3_last_insert_rowid(db_);
  } else {
    request.status = Status::Rows;
    request.columnCount = static_cast<std::uint32_t>(columns);
    if (statement->reportNames || (request.flags & flags::kWantNames)) {
      request.columnNames = statement->columnNames;
      request.namesAttached = true;
      statement->reportNames = false;
    }
  }
  finishStatement(statement, scratch);
  rollBackIfLeftOpen(request);
  current_ = nullptr;
}

}  // namespace litepool
