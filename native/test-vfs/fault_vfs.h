// Owns the fault-injection VFS of the test build: a SQLite VFS named "litepool-fault" that
// forwards every call to the default VFS and, when a test asks, fails a chosen call (the Nth
// xRead, xWrite, xSync, xTruncate, xLock or xShmLock on the chosen kinds of file) with a chosen
// result code, or turns a read into a short read. It is compiled only into the fault-injection
// build of the addon (LITEPOOL_FAULT_VFS, scripts/build-fault-addon.sh), never into a release.
//
// Pure C++ over sqlite3.h, no N-API. The VFS methods run on whichever worker thread owns the
// connection; arm(), clear() and the counters may be called from any thread (every shared field
// is atomic).
#pragma once

#include <cstdint>

namespace litepool::fault {

inline constexpr const char* kVfsName = "litepool-fault";

// The calls a fault can be injected into.
enum class Call : int { Read, Write, Sync, Truncate, Lock, ShmLock };
inline constexpr int kCallCount = 6;

// The kinds of file a fault applies to (a bit mask).
enum FileKind : int { kMainDb = 1, kWal = 2, kJournal = 4, kOtherFile = 8, kAnyFile = 15 };

struct Plan {
  Call call = Call::Write;
  // The Nth matching call from now fails (1: the next one).
  std::int64_t nth = 1;
  // The result code the failing call returns (SQLITE_IOERR_WRITE, SQLITE_FULL...).
  int code = 0;
  int files = kAnyFile;
  // After the first failure, every matching call fails until clear().
  bool sticky = false;
  // Read only: the failing read returns the first half of its bytes and SQLITE_IOERR_SHORT_READ
  // (SQLite's contract for reading past the end of a file) instead of `code`.
  bool shortRead = false;
};

// Any thread. Registers the VFS (not as the default) once; SQLite is initialized first.
void registerVfs();
// Any thread. Arms one fault for plan.call, replacing what that call had armed.
void arm(const Plan& plan);
// Any thread. Disarms every fault; calls succeed again from now on.
void clear();
// Any thread. How many times `call` has run through the VFS (on any file) since the process began.
std::uint64_t calls(Call call);
// Any thread. How many calls have been failed on purpose since the process began.
std::uint64_t faults();

}  // namespace litepool::fault
