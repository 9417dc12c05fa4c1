// Owns the statements of a connection that share a transaction: group commit (several writes in
// one BEGIN IMMEDIATE ... COMMIT, each in its own SAVEPOINT), Batch requests (every statement or
// none), and what happens to a transaction a request left open or SQLite rolled back. See
// connection.h for the other parts.
//
// Every function here runs on the worker thread that owns the connection (group commit and
// Batch: the writer).
#include <string>

#include "connection.h"

namespace litepool {

namespace {

// The transaction control statements, run through the statement cache like any other.
const std::string kBegin = "BEGIN IMMEDIATE";
const std::string kCommit = "COMMIT";

// A named savepoint: its three statements.
struct Savepoint {
  explicit Savepoint(const std::string& name)
      : open("SAVEPOINT " + name), release("RELEASE " + name), rollbackTo("ROLLBACK TO " + name) {}
  const std::string open;
  const std::string release;
  const std::string rollbackTo;
};

const Savepoint kGroupMember("litepool_group");  // around each write of a group commit
const Savepoint kNestedBatch("litepool_batch");  // a Batch run inside an open transaction

// The request's owner: it ended with rows or done.
bool succeeded(const Request& request) { return request.status == Status::Done || request.status == Status::Rows; }

}  // namespace

// Worker thread. Runs one cached control statement (BEGIN, SAVEPOINT, COMMIT...); false (and
// `report` filled) on failure.
bool Connection::control(const std::string& sql, Request& report) {
  StatementHandle statement;
  if (!prepare(sql, report, statement)) return false;
  const int rc = stepToEnd(statement.stmt());
  if (rc != SQLITE_DONE) fail(report);
  return rc == SQLITE_DONE;
}

// Writer thread.
bool Connection::canGroup(const Request& request) {
  if (request.op != Op::Run || !(request.flags & RequestFlag::Groupable) || !db_ || !sqlite3_get_autocommit(db_)) return false;
  if (request.cancelled.load(std::memory_order_relaxed)) return false;
  StatementHandle statement;
  // Prepared only to look (onAuthorize denies PRAGMAs meanwhile: SQLite applies some as it prepares them).
  probing_ = true;
  const bool prepared = prepare(request.sql, probe_, statement);
  probing_ = false;
  return prepared && statement->groupable;
}

// Writer thread.
bool Connection::executeGroup(Request* const* group, std::size_t count) {
  const auto runAlone = [this](Request& r) {
    r.clearOutput();
    if (r.cancelled.load(std::memory_order_relaxed)) {
      r.status = Status::Cancelled;
    } else {
      execute(r);
    }
  };
  Request scratch;
  beginningGroup_ = group;  // the busy handler gives up once every member is cancelled
  beginningGroupSize_ = count;
  const bool begun = control(kBegin, scratch);
  beginningGroup_ = nullptr;
  if (!begun) {
    // Nothing ran (typically SQLITE_BUSY: another connection held the write lock for all of
    // busyTimeout, or until every member was cancelled). The group fails as one: running its
    // writes one by one would make each wait busyTimeout again, and a lock let go meanwhile would
    // commit a later write before an earlier one that already failed. Each reports BEGIN's error
    // (a retry policy retries them in order).
    const bool aborting = scratch.status == Status::Cancelled;
    for (std::size_t i = 0; i < count; ++i) {
      Request& request = *group[i];
      request.clearOutput();
      if (aborting || request.cancelled.load(std::memory_order_relaxed)) {
        request.status = Status::Cancelled;
        continue;
      }
      request.status = Status::SqliteFailed;
      request.errcode = scratch.errcode;
      request.message = "the group's BEGIN IMMEDIATE failed: " + scratch.message;
    }
    return false;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Request& request = *group[i];
    if (request.cancelled.load(std::memory_order_relaxed)) {
      request.status = Status::Cancelled;
      continue;
    }
    control(kGroupMember.open, scratch);
    const std::uint32_t flagsBefore = request.flags;
    request.flags |= RequestFlag::KeepTransaction;
    execute(request);
    request.flags = flagsBefore;
    if (sqlite3_get_autocommit(db_)) {
      // The failure rolled the whole transaction back (an I/O error, an interrupted write...):
      // the entries before this one never committed. Run them, and the rest, one by one.
      for (std::size_t j = 0; j < i; ++j) {
        if (succeeded(*group[j])) runAlone(*group[j]);
      }
      for (std::size_t j = i + 1; j < count; ++j) runAlone(*group[j]);
      return false;
    }
    if (!succeeded(request)) control(kGroupMember.rollbackTo, scratch);
    control(kGroupMember.release, scratch);
  }
  if (control(kCommit, scratch)) return true;
  rollBackOpenTransaction();
  // A constraint checked at COMMIT (a deferred foreign key) was left unresolved by one of the
  // writes: they run again one by one, as they would have without grouping, so only that one
  // fails. Any other failure (an I/O error) is the group's: every write that had succeeded
  // reports it, none committed.
  const bool constraint = (scratch.errcode & 0xff) == SQLITE_CONSTRAINT;
  for (std::size_t i = 0; i < count; ++i) {
    Request& request = *group[i];
    if (!succeeded(request)) continue;
    if (constraint) {
      runAlone(request);
      continue;
    }
    request.clearOutput();
    request.status = Status::SqliteFailed;
    request.errcode = scratch.errcode;
    request.message = "the group commit failed: " + scratch.message;
  }
  return false;
}

// Writer thread. Opens its own transaction, or a savepoint inside the one already open (a batch
// in a transaction or lease), so that a failing statement undoes the whole batch and only it.
void Connection::executeBatch(Request& request) {
  if (transactionLost(request)) return;
  RunningRequest running(*this, &request);
  const bool nested = !sqlite3_get_autocommit(db_);
  if (!control(nested ? kNestedBatch.open : kBegin, request)) return;
  bool ok = true;
  for (std::size_t k = 0; ok && k < request.batch.size(); ++k) {
    if (runBatchEntry(request, request.batch[k])) continue;
    request.message = "batch statement " + std::to_string(k + 1) + ": " + request.message;
    ok = false;
  }
  if (ok && control(nested ? kNestedBatch.release : kCommit, request)) {
    request.status = Status::Rows;
    request.columnCount = 2;
    request.changes = 0;
    for (std::size_t k = 0; k < request.cells.size(); k += 2) request.changes += request.cells[k].integer;
    return;
  }
  if (nested) {
    Request scratch;
    control(kNestedBatch.rollbackTo, scratch);
    control(kNestedBatch.release, scratch);
  } else {
    rollBackOpenTransaction();
  }
  request.cells.clear();
  request.cellBytes.clear();
}

// Writer thread. Runs one statement of a batch and appends its changes and last insert rowid to
// the request's cells; false (and `request` filled) when it fails.
bool Connection::runBatchEntry(Request& request, const BatchEntry& entry) {
  StatementHandle statement;
  if (!prepare(entry.sql, request, statement)) return false;
  if (statement->controlsTransaction) {
    setMisuse(request, "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) is not allowed in a batch: the batch is its own transaction");
    return false;
  }
  if (!bind(statement.entry(), request, entry.firstParam, entry.paramCount, entry.named)) return false;
  const std::int64_t totalBefore = sqlite3_total_changes64(db_);
  if (stepToEnd(statement.stmt()) != SQLITE_DONE) {
    fail(request);
    return false;
  }
  if (sqlite3_get_autocommit(db_)) {
    // Something ended the batch's transaction (a trigger's RAISE(ROLLBACK), OR ROLLBACK...):
    // what ran before is gone or committed separately, so the batch cannot claim success.
    setMisuse(request, "the statement ended the batch's transaction");
    request.status = Status::SqliteFailed;
    request.errcode = SQLITE_ABORT;
    return false;
  }
  Value changes;
  changes.type = ValueType::Integer;
  changes.integer = statement->readonly ? 0 : changesSince(totalBefore);
  Value rowid;
  rowid.type = ValueType::Integer;
  rowid.integer = sqlite3_last_insert_rowid(db_);
  request.cells.push_back(changes);
  request.cells.push_back(rowid);
  return true;
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
  if (!(request.flags & RequestFlag::ExpectTransaction) || !sqlite3_get_autocommit(db_)) return false;
  setMisuse(request,
            "the transaction is no longer active: an earlier statement failed in a way that made SQLite roll it back "
            "(an interrupted write, an I/O error, a full disk...)");
  request.status = Status::SqliteFailed;
  request.errcode = SQLITE_ABORT;
  return true;
}

// Worker thread. True (and `request` refused as a misuse) when a caller's statement inside
// db.transaction() or db.read() would begin or end a transaction itself: a COMMIT there would
// make what ran so far permanent whatever the callback does next, or end a read snapshot early.
bool Connection::refusesTransactionEnd(Request& request, bool endsTransaction) {
  if (!endsTransaction || !(request.flags & RequestFlag::RefuseTransactionEnd)) return false;
  setMisuse(request,
            "BEGIN, COMMIT, END and ROLLBACK cannot run inside db.transaction() or db.read(): the pool begins and ends "
            "their transaction (db.transaction() commits when the callback resolves and rolls back when it throws; "
            "SAVEPOINT or a nested tx.transaction() undoes part of it)");
  return true;
}

// Worker thread. A pooled connection must go back in autocommit mode: a transaction left open
// by a stray BEGIN would swallow every later request on it.
void Connection::rollBackIfLeftOpen(Request& request) {
  if (request.flags & RequestFlag::KeepTransaction) return;
  if (!rollBackOpenTransaction()) return;
  if (succeeded(request)) {
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
  RunningRequest detached(*this, nullptr);
  Request scratch;
  exec("ROLLBACK", scratch);
  return true;
}

}  // namespace litepool
