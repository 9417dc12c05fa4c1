// Owns process-wide SQLite initialization: see sqlite_init.h.
#include "sqlite_init.h"

#include <mutex>

#include "sqlite3.h"

namespace litepool {

// Any thread. sqlite3_initialize() is itself safe to call repeatedly; the once-flag keeps the
// global configuration (which must precede initialization) in one place.
void ensureSqliteInitialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    // SQLITE_THREADSAFE=2 already selects multi-thread mode; stating it keeps the contract visible.
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_initialize();
  });
}

}  // namespace litepool
