// Owns running one statement on a connection: prepare (through the statement cache), bind the
// request's parameters (bind.cc), step, and copy rows out; the Get, All, Run and Exec requests
// and iterations are built from these. A PRAGMA or an EXPLAIN is prepared on the current schema
// (schema_refresh.cc); a result's column names are chosen in column_names.h. See connection.h for
// the other parts.
//
// Every function here runs on the worker thread that owns the connection.
#include <cstring>

#include "column_names.h"
#include "connection.h"

namespace litepool {

namespace {

// Worker thread (any thread: pure). Every byte < 0x80: the JS side may decode it as latin1.
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

// Worker thread (any thread: pure). Only whitespace and semicolons between begin and end.
bool onlySpace(const char* begin, const char* end) noexcept {
  for (const char* p = begin; p < end; ++p) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\f' && *p != '\v' && *p != ';') return false;
  }
  return true;
}

// Worker thread. With RequestFlag::Counters, takes SQLite's counters of `stmt` since their last
// reset into `request` (adding to what it holds) and resets them; otherwise does nothing.
void takeCounters(sqlite3_stmt* stmt, Request& request) {
  if (!(request.flags & RequestFlag::Counters)) return;
  static constexpr int kOps[4] = {SQLITE_STMTSTATUS_FULLSCAN_STEP, SQLITE_STMTSTATUS_SORT, SQLITE_STMTSTATUS_AUTOINDEX,
                                  SQLITE_STMTSTATUS_VM_STEP};
  for (int i = 0; i < 4; ++i) request.counters[i] += sqlite3_stmt_status(stmt, kOps[i], /*resetFlg=*/1);
  request.hasCounters = true;
}

// Worker thread. Zeroes the counters of `stmt` (a cached statement keeps counting across runs)
// before a run whose counters are asked for.
void resetCounters(sqlite3_stmt* stmt, const Request& request) {
  if (!(request.flags & RequestFlag::Counters)) return;
  for (int op : {SQLITE_STMTSTATUS_FULLSCAN_STEP, SQLITE_STMTSTATUS_SORT, SQLITE_STMTSTATUS_AUTOINDEX, SQLITE_STMTSTATUS_VM_STEP}) {
    sqlite3_stmt_status(stmt, op, /*resetFlg=*/1);
  }
}

// Worker thread (any thread: pure). The request's parameters were given by name: an object, even
// an empty one (its message then names the first missing parameter, as a batch's does).
bool namedParams(const Request& request) noexcept { return request.namedParams || !request.paramNames.empty(); }

}  // namespace

// Any thread.
bool reachesJs(const Request& request) noexcept {
  constexpr std::int64_t kMaxSafe = 9007199254740991LL;  // Number.MAX_SAFE_INTEGER
  const bool bigints = (request.flags & RequestFlag::SafeIntegers) != 0;
  for (const Value& value : request.cells) {
    if (value.type == ValueType::Integer && !bigints && (value.integer > kMaxSafe || value.integer < -kMaxSafe)) return false;
    if (value.type == ValueType::Text && value.length > kMaxJsStringLength) return false;
  }
  return true;
}

// Any thread.
bool isGroupable(std::uint64_t actions) noexcept {
  constexpr auto bit = [](int action) { return std::uint64_t{1} << action; };
  const std::uint64_t writes = bit(SQLITE_INSERT) | bit(SQLITE_UPDATE) | bit(SQLITE_DELETE);
  const std::uint64_t allowed = writes | bit(SQLITE_READ) | bit(SQLITE_SELECT) | bit(SQLITE_FUNCTION) | bit(SQLITE_RECURSIVE);
  return (actions & writes) != 0 && (actions & ~allowed) == 0;
}

// Worker thread. Finds the statement in the cache or prepares it into `out`. False with `request`
// filled when the SQL does not prepare or is not exactly one statement.
bool Connection::prepare(const std::string& sql, Request& request, StatementHandle& out, bool useCache) {
  useCache = useCache && cache_.capacity() > 0;
  if (useCache) {
    if (CachedStatement* hit = cache_.find(sql)) {
      out.useCached(hit);
      return true;
    }
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const char* begin = sql.data();
  const char* end = begin + sql.size();
  const unsigned prepareFlags = useCache ? SQLITE_PREPARE_PERSISTENT : 0;
  authorized_ = 0;
  if (sqlite3_prepare_v3(db_, begin, static_cast<int>(sql.size()), prepareFlags, &stmt, &tail) != SQLITE_OK) {
    fail(request);
    return false;
  }
  if (!stmt) {
    setMisuse(request, "the SQL contains no statement");
    return false;
  }
  if (tail && !onlySpace(tail, end)) {
    // More text follows: fine if it is only comments, an error if it is another statement or
    // text that is no statement at all (SQLite cannot parse it).
    sqlite3_stmt* next = nullptr;
    const int rc = sqlite3_prepare_v3(db_, tail, static_cast<int>(end - tail), 0, &next, nullptr);
    const std::string why = rc != SQLITE_OK ? sqlite3_errmsg(db_) : "";
    sqlite3_finalize(next);
    if (rc != SQLITE_OK || next) {
      sqlite3_finalize(stmt);
      setMisuse(request, rc != SQLITE_OK ? "the text after the statement is not a valid statement (" + why +
                                               "): only whitespace, ';' and comments may follow the one statement "
                                               "(exec() runs several statements)"
                                         : "the SQL holds more than one statement; use exec() to run several statements");
      return false;
    }
  }
  // A PRAGMA is prepared anew for every request, never kept, against an up-to-date schema. SQLite
  // compiles some PRAGMAs into a program that holds their answer, taken from the connection's copy
  // of the schema, and checks no schema cookie when it runs (PRAGMA index_list of a table that
  // does not exist): SQLite never re-prepares such a program after a schema change, and a
  // connection that did not make the change (a reader) has not even reloaded its copy, so a
  // fresh prepare would give the old answer as well.
  const bool pragma = (authorized_ & (std::uint64_t{1} << SQLITE_PRAGMA)) != 0;
  // An EXPLAIN likewise: it lists the program compiled when it was prepared, which SQLite does not
  // prepare again after a schema change (a kept one would describe a dropped index).
  const bool explain = sqlite3_stmt_isexplain(stmt) != 0;
  if (pragma || explain) {
    useCache = false;
    if (!prepareOnCurrentSchema(sql, request, stmt)) return false;
  }
  CachedStatement* entry;
  if (useCache) {
    entry = cache_.insert(sql, stmt);
    out.useCached(entry);
  } else {
    entry = &out.useUncached(stmt);
  }
  // EXPLAIN only describes its statement, never runs it: a reader may answer it for a write too.
  entry->readonly = sqlite3_stmt_readonly(stmt) != 0 || sqlite3_stmt_isexplain(stmt) != 0;
  entry->groupable = isGroupable(authorized_);
  entry->controlsTransaction = (authorized_ & ((std::uint64_t{1} << SQLITE_TRANSACTION) | (std::uint64_t{1} << SQLITE_SAVEPOINT))) != 0;
  entry->endsTransaction = (authorized_ & (std::uint64_t{1} << SQLITE_TRANSACTION)) != 0 && sqlite3_stmt_isexplain(stmt) == 0;
  entry->cacheable = !pragma && !explain;
  entry->reprepareCount = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_REPREPARE, 0);
  entry->reportNames = true;
  return true;
}

// Worker thread.
void collectRow(sqlite3_stmt* stmt, int columns, Request& request) {
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

// Worker thread.
void Connection::execute(Request& request) {
  if (transactionLost(request)) return;
  RunningRequest running(*this, &request);
  if (request.op == Op::Exec) {
    const sqlite3_int64 before = sqlite3_total_changes64(db_);
    if (exec(request.sql.c_str(), request)) {
      request.status = Status::Done;
      // Every statement of the script (lib/ reports it to observers; the result has no changes).
      request.changes = sqlite3_total_changes64(db_) - before;
      request.lastInsertRowid = sqlite3_last_insert_rowid(db_);
    }
    rollBackIfLeftOpen(request);
    return;
  }
  // The statement is finished (runStatement's handle) before anything is rolled back.
  if (runStatement(request)) rollBackIfLeftOpen(request);
}

// Worker thread. Runs one Get, All or Run statement. False when it never ran: it did not prepare
// or bind, or it belongs on the writer.
bool Connection::runStatement(Request& request) {
  StatementHandle statement;
  if (!prepare(request.sql, request, statement)) return false;
  if (refusesTransactionEnd(request, statement->endsTransaction)) return false;
  if (role_ == Role::Reader && !statement->readonly) {
    request.status = Status::NeedsWriter;
    return false;
  }
  sqlite3_stmt* stmt = statement.stmt();
  if (!bind(statement.entry(), request, 0, static_cast<std::uint32_t>(request.params.size()), namedParams(request))) return false;

  resetCounters(stmt, request);
  const std::int64_t totalBefore = sqlite3_total_changes64(db_);
  int rc = sqlite3_step(stmt);
  const int columns = sqlite3_column_count(stmt);
  refreshColumnNames(statement.entry(), columns);
  const bool returnRows = request.op == Op::Run && (request.flags & RequestFlag::ReturnRows) && columns > 0;
  if (request.op == Op::Get) {
    if (rc == SQLITE_ROW) {
      collectRow(stmt, columns, request);
      // A read-only statement may stop at its first row; a write must run to completion.
      if (statement->readonly) rc = SQLITE_DONE;
    }
  } else if (request.op == Op::All || returnRows) {
    rc = collectRows(stmt, columns, request, rc);
  }
  rc = stepToEnd(stmt, rc);
  takeCounters(stmt, request);

  if (rc != SQLITE_DONE) {
    fail(request);
  } else if (request.op == Op::Run && !returnRows) {
    request.status = Status::Done;
    request.changes = statement->readonly ? 0 : changesSince(totalBefore);
    request.lastInsertRowid = sqlite3_last_insert_rowid(db_);
  } else {
    request.status = Status::Rows;
    request.columnCount = static_cast<std::uint32_t>(columns);
    if (returnRows) request.changes = sqlite3_changes64(db_);
    attachColumnNames(statement.entry(), request);
  }
  return true;
}

// Worker thread.
void Connection::iterate(Request& request) {
  if (request.op == Op::IterateEnd) {
    // Also when the connection is closed (close() already ended the iteration then).
    endIteration();
    request.status = Status::Done;
    return;
  }
  if (transactionLost(request)) return;
  RunningRequest running(*this, &request);
  if (request.op == Op::IterateNext) {
    if (!iteration_) {
      setMisuse(request, "no iteration is open on this connection");
    } else {
      stepChunk(request);
    }
    return;
  }
  endIteration();
  // The iteration takes its statement out of the cache while it is open (a request with the same
  // SQL meanwhile prepares its own) and gives it back when it ends (endIteration).
  if (!cache_.take(request.sql, iterationEntry_)) {
    StatementHandle statement;
    if (!prepare(request.sql, request, statement, /*useCache=*/false)) return;
    iterationEntry_ = statement.entry();
    iterationEntry_.sql = request.sql;
    iterationEntry_.stmt = statement.release();
  }
  iteration_ = iterationEntry_.stmt;
  if (refusesTransactionEnd(request, iterationEntry_.endsTransaction)) {
    endIteration();
    return;
  }
  // An iteration yields rows: transaction control has none, and one left open by it would stay on
  // the connection (a shared reader) after the iteration's last chunk.
  if (iterationEntry_.controlsTransaction) {
    setMisuse(request, "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) cannot be iterated: use db.transaction() or db.acquire()");
    endIteration();
    return;
  }
  if (role_ == Role::Reader && !iterationEntry_.readonly) {
    request.status = Status::NeedsWriter;
    endIteration();
    return;
  }
  if (!bind(iterationEntry_, request, 0, static_cast<std::uint32_t>(request.params.size()), namedParams(request))) {
    endIteration();
    return;
  }
  // A cached statement keeps counting across runs.
  resetCounters(iteration_, request);
  stepChunk(request);
}

// Worker thread. Copies the open iteration's next chunk: up to chunkRows rows, fewer when the
// chunk reaches ITERATE_CHUNK_BYTES of row data. It steps one row past the chunk (that row stays
// current and opens the next chunk), so it knows whether the iteration has more.
void Connection::stepChunk(Request& request) {
  static_assert(sizeof(Value) == 16, "ITERATE_CHUNK_BYTES counts 16 bytes a cell");
  const int columns = sqlite3_column_count(iteration_);
  const std::uint32_t limit = request.chunkRows > 0 ? request.chunkRows : 1;
  std::uint32_t rows = 0;
  int rc = iterationRowReady_ ? SQLITE_ROW : stepIteration();
  iterationRowReady_ = false;
  while (rc == SQLITE_ROW) {
    if (rows == limit || request.cells.size() * sizeof(Value) + request.cellBytes.size() >= ITERATE_CHUNK_BYTES) {
      iterationRowReady_ = true;
      break;
    }
    collectRow(iteration_, columns, request);
    ++rows;
    rc = stepIteration();
  }
  takeCounters(iteration_, request);
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

}  // namespace litepool
