// Owns preparing a PRAGMA or an EXPLAIN against the connection's current schema: the connection
// first reloads a schema another connection changed (refreshSchema), and the statement is
// prepared again when it was reloaded (Connection::prepare, statement.cc, says why). See
// connection.h for the other parts.
//
// Every function here runs on the worker thread that owns the connection.
#include "connection.h"

namespace litepool {

// Worker thread, from prepare() with `stmt` a PRAGMA or an EXPLAIN it just prepared from `sql`.
// Brings the schema up to date; when it was reloaded, prepares `sql` again (uncached) into `stmt`,
// authorized_ then holding what that prepare saw; otherwise keeps `stmt` and restores authorized_
// (the schema check's own prepare changes it). False, with `request` filled, when the new prepare
// fails (`stmt` is finalized then).
bool Connection::prepareOnCurrentSchema(const std::string& sql, Request& request, sqlite3_stmt*& stmt) {
  const std::uint64_t actions = authorized_;
  if (refreshSchema()) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
    authorized_ = 0;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &stmt, nullptr) != SQLITE_OK || !stmt) {
      if (stmt) sqlite3_finalize(stmt);
      fail(request);
      return false;
    }
  } else {
    authorized_ = actions;
  }
  return true;
}

// Worker thread. Brings the connection's copy of the main database's schema up to date: steps a
// statement that checks its schema cookie, which makes SQLite reload a schema another connection
// changed. True when it was reloaded (the statement was re-prepared); false when it had not
// changed, or the check failed (nothing is known then). Attached databases are left alone: their
// files may be locked by other processes, and a check would wait for them (busyTimeout) on every
// PRAGMA and EXPLAIN; a PRAGMA or EXPLAIN about one may answer from its older schema.
bool Connection::refreshSchema() {
  static const std::string kCheck = "SELECT 1 FROM main.sqlite_schema LIMIT 0";
  Request scratch;
  StatementHandle check;
  if (!prepare(kCheck, scratch, check)) return false;
  const int before = sqlite3_stmt_status(check.stmt(), SQLITE_STMTSTATUS_REPREPARE, 0);
  const int rc = stepToEnd(check.stmt());
  return rc == SQLITE_DONE && sqlite3_stmt_status(check.stmt(), SQLITE_STMTSTATUS_REPREPARE, 0) != before;
}

}  // namespace litepool
