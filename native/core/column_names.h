// Owns which column names a result carries: a statement's names are read again after a
// re-prepare (or a change of shape), and sent to lib/ only when lib/ may not know them for the
// connection that ran it (a new statement, a re-prepare, a new names epoch) or asks for them.
// Connection::runStatement (statement.cc) calls both on every run, hence inline.
//
// Everything here runs on the worker thread that owns the connection the statement belongs to.
#pragma once

#include <cstddef>
#include <cstdint>

#include "request.h"
#include "statement.h"
#include "statement_cache.h"
#include "sqlite3.h"

namespace litepool {

// Worker thread. Column names are read after the first step: a re-prepare (schema change) happens inside it and
// may change them. A statement that is new, was re-prepared or changed shape reports its names.
inline void refreshColumnNames(CachedStatement& statement, int columns) {
  const int reprepares = sqlite3_stmt_status(statement.stmt, SQLITE_STMTSTATUS_REPREPARE, 0);
  if (reprepares != statement.reprepareCount || statement.columnNames.size() != static_cast<std::size_t>(columns)) {
    statement.reprepareCount = reprepares;
    statement.reportNames = true;
  }
  if (!statement.reportNames) return;
  statement.columnNames.clear();
  for (int column = 0; column < columns; ++column) {
    const char* name = sqlite3_column_name(statement.stmt, column);
    statement.columnNames.emplace_back(name ? name : "");
  }
}

// Worker thread. A result with rows carries its statement's column names when lib/ may not know
// them for this worker (lib/ keeps them per SQL text and per worker: request/sql-registry.ts): the
// statement is new or was re-prepared since its names last reached lib/ (reportNames), or lib/
// forgot every name since (another namesEpoch); and whenever asked (RequestFlag::WantNames, which
// a Run's RETURNING rows always ask). The names count as reached only with a Get or All result
// whose values all become JS values: lib/ records no others.
inline void attachColumnNames(CachedStatement& statement, Request& request) {
  const bool unknown = statement.reportNames || statement.namesEpoch != request.namesEpoch;
  if (!unknown && !(request.flags & RequestFlag::WantNames)) return;
  request.columnNames = statement.columnNames;
  request.namesAttached = true;
  if (unknown && (request.op == Op::Get || request.op == Op::All) && reachesJs(request)) {
    statement.reportNames = false;
    statement.namesEpoch = request.namesEpoch;
  }
}

}  // namespace litepool
