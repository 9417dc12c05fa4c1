// Owns the maintenance requests of a connection: WAL checkpoints (sqlite3_wal_checkpoint_v2),
// online backups run from the writer's own connection one step per request (so the pool's writes,
// made on this same connection, update the copy instead of restarting it), and when the
// connection's open transaction began (the engine publishes it for stats()). Every function here
// runs on the worker thread that owns the connection; see connection.h.
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <string>

#include "connection.h"

namespace litepool {

namespace {

// Worker thread: one row of integer cells as the request's result.
void integerRow(Request& request, std::initializer_list<std::int64_t> values) {
  request.status = Status::Rows;
  request.columnCount = static_cast<std::uint32_t>(values.size());
  for (const std::int64_t value : values) {
    Value cell;
    cell.type = ValueType::Integer;
    cell.integer = value;
    request.cells.push_back(cell);
  }
}

}  // namespace

// Worker thread (the writer).
void Connection::checkpoint(Request& request) {
  if (!db_) {
    setMisuse(request, "the connection is not open");
    return;
  }
  RunningRequest running(*this, &request);
  int log = -1;
  int done = -1;
  const int mode = static_cast<int>(request.chunkRows);
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, mode, &log, &done);
  // SQLITE_BUSY: a FULL, RESTART or TRUNCATE checkpoint could not finish (a reader or another
  // writer held on); what it did is still reported, as PRAGMA wal_checkpoint does.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    fail(request);
    return;
  }
  integerRow(request, {rc == SQLITE_BUSY ? 1 : 0, log, done});
}

// Worker thread (the writer), closing.
bool Connection::closeCheckpoint(Request& request) {
  const int mode = config_.closeCheckpoint == "PASSIVE" ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_TRUNCATE;
  int log = -1;
  int done = -1;
  const auto started = std::chrono::steady_clock::now();
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, mode, &log, &done);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) return false;
  integerRow(request, {rc == SQLITE_BUSY ? 1 : 0, log, done, static_cast<std::int64_t>(micros)});
  return true;
}

// Worker thread (the writer).
void Connection::backup(Request& request) {
  if (request.op == Op::BackupEnd) {
    if (endBackup(&request)) request.status = Status::Done;
    return;
  }
  if (!db_) {
    setMisuse(request, "the connection is not open");
    return;
  }
  if (request.op == Op::BackupStart) {
    if (backup_) {
      setMisuse(request, "a backup is already running on this pool");
      return;
    }
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(request.sql.c_str(), &backupDb_, flags, nullptr);
    // The destination is a temporary file, synced and renamed by the caller once complete: no
    // journal and no sync per step (each step would otherwise sync the file several times while
    // the writer, and so every queued write, waits).
    if (rc == SQLITE_OK) rc = sqlite3_exec(backupDb_, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) {
      backup_ = sqlite3_backup_init(backupDb_, "main", db_, "main");
      if (!backup_) rc = sqlite3_extended_errcode(backupDb_);
    }
    if (rc != SQLITE_OK) {
      request.status = Status::SqliteFailed;
      request.errcode = backupDb_ ? sqlite3_extended_errcode(backupDb_) : rc;
      request.message = backupDb_ ? sqlite3_errmsg(backupDb_) : sqlite3_errstr(rc);
      endBackup(nullptr);
      return;
    }
    request.status = Status::Done;
    return;
  }
  // BackupStep.
  if (!backup_) {
    setMisuse(request, "no backup is running on this connection");
    return;
  }
  const int pages = request.chunkRows == 0 ? -1 : static_cast<int>(request.chunkRows);
  const auto started = std::chrono::steady_clock::now();
  const int rc = sqlite3_backup_step(backup_, pages);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  // BUSY and LOCKED are transient: the next step tries again.
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
    request.status = Status::SqliteFailed;
    request.errcode = sqlite3_extended_errcode(backupDb_);
    if (request.errcode == SQLITE_OK) request.errcode = rc;
    request.message = sqlite3_errmsg(backupDb_);
    if (request.message.empty() || request.message == "not an error") request.message = sqlite3_errstr(rc);
    return;
  }
  integerRow(request, {rc == SQLITE_DONE ? 1 : 0, sqlite3_backup_remaining(backup_), sqlite3_backup_pagecount(backup_),
                       static_cast<std::int64_t>(micros)});
}

// Worker thread.
bool Connection::endBackup(Request* report) noexcept {
  bool ok = true;
  if (backup_) {
    const int rc = sqlite3_backup_finish(backup_);
    backup_ = nullptr;
    if (rc != SQLITE_OK && report) {
      report->status = Status::SqliteFailed;
      report->errcode = rc;
      report->message = sqlite3_errmsg(backupDb_);
      ok = false;
    }
  }
  if (backupDb_) {
    sqlite3_close_v2(backupDb_);
    backupDb_ = nullptr;
  }
  return ok;
}

// Worker thread.
std::int64_t Connection::noteTransactionState() noexcept {
  if (!db_ || sqlite3_get_autocommit(db_)) {
    transactionSinceMs_ = 0;
  } else if (transactionSinceMs_ == 0) {
    transactionSinceMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  return transactionSinceMs_;
}

// Worker thread. Reads the header through SQLite's own mapping of region 0 of the WAL index
// (https://www.sqlite.org/walformat.html): two 48-byte copies, equal when consistent, then the
// checkpoint info whose first field is nBackfill. A writer of another process may be updating it:
// a few reads until both copies agree.
bool Connection::walIndex(WalIndex& index) noexcept {
  if (!db_) return false;
  // Only once the connection has its WAL open (then its WAL index is mapped): mapping it first
  // would open the -shm for a connection SQLite has not put in WAL mode yet.
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK || !wal || !wal->pMethods) return false;
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file || !file->pMethods ||
      file->pMethods->iVersion < 2 || !file->pMethods->xShmMap) {
    return false;
  }
  void volatile* region = nullptr;
  // bExtend 0: the region is not grown (with the WAL open, SQLite has mapped it already).
  if (file->pMethods->xShmMap(file, 0, 32 * 1024, 0, &region) != SQLITE_OK || !region) return false;
  constexpr std::size_t kHeader = 48;
  unsigned char copy[2 * kHeader + 4];
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::memcpy(copy, const_cast<const void*>(static_cast<volatile const void*>(region)), sizeof copy);
    if (std::memcmp(copy, copy + kHeader, kHeader) == 0) break;
  }
  if (copy[12] == 0) return false;  // isInit
  std::uint16_t pageSize = 0;
  std::memcpy(&pageSize, copy + 14, sizeof pageSize);
  std::memcpy(&index.frames, copy + 16, sizeof index.frames);
  std::memcpy(&index.backfilled, copy + 96, sizeof index.backfilled);
  // The page size is stored in 16 bits: 65536 is written as 1.
  index.pageSize = pageSize == 1 ? 65536u : pageSize;
  if (index.backfilled > index.frames) index.backfilled = index.frames;
  return true;
}

}  // namespace litepool
