// Owns one sqlite3 connection and everything done with it: opening and configuring it, running
// requests (bind, step, copy rows out), and closing it.
//
// Every method but the constructor and destructor runs on the one worker thread that owns the
// connection (SQLITE_OPEN_NOMUTEX with SQLITE_THREADSAFE=2: SQLite itself does no locking, so the
// connection must never be shared).
// The only cross-thread input is a request's atomic `cancelled` flag and the engine's abort
// flag, both polled from SQLite's progress handler on this same thread: no other thread ever
// calls into this connection, so there is no interrupt-while-closing race.
//
// The implementation is split by topic:
//   connection.cc      open, close, the SQLite callbacks (progress, busy, authorizer), failures
//   statement.cc       one statement: prepare (through the cache), bind, step, copy rows out;
//                      Get, All, Run, Exec and iterations (statement.h: the helpers they share;
//                      column_names.h: the column names a result carries)
//   bind.cc            binding a request's parameters, by position or by name
//   schema_refresh.cc  a PRAGMA or an EXPLAIN prepared on the current schema
//   transaction.cc     transactions: group commit, Batch, and rolling back what a request left open
//   insert_rows.cc     InsertRows: one single-row INSERT run once per row of a packed block
//   maintenance.cc     checkpoints, online backups from this connection, the age of a transaction
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "request.h"
#include "statement.h"
#include "statement_cache.h"
#include "timeslice.h"
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
  // The writer's checkpoint on close: TRUNCATE | PASSIVE, or empty for none (a WAL replicator
  // such as Litestream owns checkpoints that restart the WAL).
  std::string closeCheckpoint = "TRUNCATE";
  std::string vfs;                    // SQLite VFS name; empty: the default VFS
};

// What a WAL index header says: frames in the log (mxFrame), frames copied back into the
// database (nBackfill), and the page size.
struct WalIndex {
  std::uint32_t frames = 0;
  std::uint32_t backfilled = 0;
  std::uint32_t pageSize = 0;
};

class Connection {
 public:
  // JS thread (the engine builds its workers there). `timeslice` (may be null) is the owning
  // worker's: the progress handler checks it, so a long statement yields its core too.
  Connection(Role role, const ConnectionConfig& config, const std::atomic<bool>* abort, Timeslice* timeslice);
  // The thread that destroys the engine, after joining the worker: closes the connection if it
  // is still open.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Role role() const noexcept { return role_; }
  // Worker thread. True while the connection is open (false after a reopen that failed).
  bool isOpen() const noexcept { return db_ != nullptr; }

  // Worker thread. Opens and configures the connection; reports through `request`.
  void open(Request& request);
  // Worker thread. The writer optimizes and runs config.closeCheckpoint first, and reports that
  // checkpoint through `request` as one row (busy, log frames, checkpointed frames, its µs; no row
  // when there was none or it failed); then the connection closes.
  void close(Request* request);

  // Worker thread. Runs one Get/All/Run/Exec request; reports through `request`.
  void execute(Request& request);
  // Worker thread. Runs IterateStart / IterateNext / IterateEnd. One iteration per connection
  // at a time: the connection is pinned to the iterating lease (or held by the iteration, see
  // Engine::holdForIteration). A chunk never ends on the last row: it steps one row past its
  // last one, so a result that fits comes back as Status::Rows, with nothing left open.
  void iterate(Request& request);
  // Worker thread. Finalizes the open iteration, if any.
  void endIteration() noexcept;

  // Worker thread. Rolls back a transaction left open; true when there was one.
  bool rollBackOpenTransaction();
  // Writer thread. True when `request` may join a group commit: a Run request marked groupable
  // whose statement only changes rows (SQLite's authorizer saw nothing but INSERT, UPDATE,
  // DELETE and reads), with no transaction open.
  bool canGroup(const Request& request);
  // Writer thread. Runs the requests in one BEGIN IMMEDIATE ... COMMIT, each inside its own
  // SAVEPOINT so that a failing one rolls back alone. Outputs are final only after COMMIT: when
  // COMMIT fails, every request that had succeeded reports that failure instead. True when the
  // group committed; false when its BEGIN or COMMIT failed, or a failure rolled it back (its
  // writes then ran one by one, each in its own transaction).
  bool executeGroup(Request* const* group, std::size_t count);
  // Writer thread. Runs a Batch request: every statement or none.
  void executeBatch(Request& request);
  // Writer thread. Runs an InsertRows request: its INSERT once per row of its block, in the open
  // transaction (KeepTransaction) or in one of its own; stops at the first failing row (its index
  // is in the message).
  void insertRows(Request& request);

  // maintenance.cc
  // Writer thread. sqlite3_wal_checkpoint_v2 in mode `request.chunkRows`; one row of three cells.
  void checkpoint(Request& request);
  // Writer thread. BackupStart, BackupStep, BackupEnd: an online backup of this connection's
  // database (so its own writes never restart it), one step per request.
  void backup(Request& request);
  // Worker thread. Finishes an open backup and closes its file; false when finishing failed.
  bool endBackup(Request* report) noexcept;
  // Writer thread, closing: the config.closeCheckpoint checkpoint, best effort (a busy checkpoint,
  // another process reading, is not a failed close); one row in `request` and true when it ran.
  bool closeCheckpoint(Request& request);
  // Worker thread, after every request: notes when the connection entered a transaction, and
  // returns it (steady-clock ms; 0 when none is open).
  std::int64_t noteTransactionState() noexcept;
  // Worker thread. The WAL index header as SQLite itself maps it (the -shm file is never opened
  // or closed here: closing any descriptor of it would drop every POSIX lock this process holds
  // on it, SQLite's WAL locks included). False without a WAL index (not WAL, not open yet).
  bool walIndex(WalIndex& index) noexcept;

 private:
  // Worker thread. Makes `request` the one the progress and busy handlers look at (they stop
  // SQLite when it is cancelled) for as long as the guard lives, then restores the previous one.
  // A null request detaches the handlers from any request (a rollback that must not be stopped).
  class RunningRequest {
   public:
    RunningRequest(Connection& connection, Request* request) noexcept
        : connection_(connection), previous_(connection.current_) {
      connection.current_ = request;
    }
    ~RunningRequest() { connection_.current_ = previous_; }
    RunningRequest(const RunningRequest&) = delete;
    RunningRequest& operator=(const RunningRequest&) = delete;

   private:
    Connection& connection_;
    Request* const previous_;
  };

  // connection.cc
  static int onProgress(void* self);
  bool interruptRequested() const noexcept;
  bool groupCancelled() const noexcept;
  bool statementRunning() noexcept;
  int stepIteration() noexcept;
  std::int64_t changesSince(std::int64_t totalBefore) noexcept;
  static int onBusy(void* self, int attempt);
  static int onAuthorize(void* self, int action, const char*, const char*, const char*, const char*);
  void fail(Request& request);
  bool exec(const char* sql, Request& request);

  // statement.cc
  bool prepare(const std::string& sql, Request& request, StatementHandle& out, bool useCache = true);
  bool runStatement(Request& request);
  void stepChunk(Request& request);

  // bind.cc
  bool bind(CachedStatement& statement, Request& request, std::uint32_t first, std::uint32_t count, bool named);

  // schema_refresh.cc
  bool prepareOnCurrentSchema(const std::string& sql, Request& request, sqlite3_stmt*& stmt);
  bool refreshSchema();

  // insert_rows.cc
  bool insertBlock(Request& request);
  std::uint32_t groupRows(const RowBlock& block);
  bool bindFailed(Request& request, std::uint64_t row);

  // transaction.cc
  bool control(const std::string& sql, Request& report);
  bool runBatchEntry(Request& request, const BatchEntry& entry);
  bool transactionLost(Request& request);
  bool refusesTransactionEnd(Request& request, bool endsTransaction);
  void rollBackIfLeftOpen(Request& request);

  const Role role_;
  const ConnectionConfig config_;
  const std::atomic<bool>* const abort_;
  Timeslice* const timeslice_;
  sqlite3* db_ = nullptr;
  StatementCache cache_;
  Request* current_ = nullptr;         // the request being run (see RunningRequest)
  // The writer, while a group's BEGIN IMMEDIATE runs (no request is current then): the group's
  // members. The busy handler stops waiting once every one of them is cancelled.
  Request* const* beginningGroup_ = nullptr;
  std::size_t beginningGroupSize_ = 0;
  sqlite3_stmt* iteration_ = nullptr;  // the open iteration's statement, out of the cache while open
  CachedStatement iterationEntry_;     // its SQL and what prepare() learnt of it (stmt == iteration_)
  bool iterationRowReady_ = false;     // iteration_ stands on a row the last chunk did not copy
  bool steppingIteration_ = false;     // in sqlite3_step(iteration_) (see statementRunning())
  std::uint64_t authorized_ = 0;       // authorizer actions seen while preparing (bit = action code)
  Request probe_;                      // scratch for canGroup()'s prepare
  std::string utf8_;                   // scratch of insertRows(): the UTF-8 text of one block
  sqlite3* backupDb_ = nullptr;        // the destination of the open backup, if any
  sqlite3_backup* backup_ = nullptr;   // the open backup, if any
  std::int64_t transactionSinceMs_ = 0;  // steady-clock ms when the open transaction began (0: none)
  bool opening_ = false;                 // in open(): its setup may set the journal and locking modes
  bool probing_ = false;                 // in canGroup()'s prepare: onAuthorize denies every PRAGMA
};

}  // namespace litepool
