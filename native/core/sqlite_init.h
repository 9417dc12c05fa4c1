// Owns process-wide SQLite initialization.
#pragma once

namespace litepool {

// Any thread; idempotent and thread-safe. Runs sqlite3_initialize() once per process.
void ensureSqliteInitialized();

}  // namespace litepool
