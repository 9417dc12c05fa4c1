// Owns the fault-injection VFS of the test build: see fault_vfs.h.
//
// A FaultFile wraps the default VFS's file object, which SQLite allocates right behind it
// (szOsFile covers both). Every io method forwards to the real one after asking the rule of its
// call whether this call is the one to fail. Memory-mapped reads (xFetch) are refused, so that
// every page read goes through xRead, where a fault can reach it.
#include "fault_vfs.h"

#include <atomic>
#include <cstring>
#include <mutex>

#include "sqlite3.h"
#include "sqlite_init.h"

namespace litepool::fault {

namespace {

struct Rule {
  std::atomic<std::int64_t> countdown{0};  // > 0: armed; the matching call that takes it to 0 fails
  std::atomic<int> code{0};
  std::atomic<int> files{kAnyFile};
  std::atomic<bool> sticky{false};
  std::atomic<bool> failing{false};  // a sticky rule that fired: every matching call fails
  std::atomic<bool> shortRead{false};
  std::atomic<std::uint64_t> calls{0};
};

Rule rules[kCallCount];
std::atomic<std::uint64_t> faultCount{0};

struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;  // the default VFS's file, allocated right after this struct
  int kind;
};

sqlite3_vfs* realVfs = nullptr;
sqlite3_vfs faultVfs;

// Worker threads. 0 when the call goes through, else the code it must fail with.
int check(Call call, int kind, bool* shortRead = nullptr) {
  Rule& rule = rules[static_cast<int>(call)];
  rule.calls.fetch_add(1, std::memory_order_relaxed);
  if ((rule.files.load(std::memory_order_acquire) & kind) == 0) return 0;
  bool fire = rule.failing.load(std::memory_order_acquire);
  if (!fire) {
    std::int64_t left = rule.countdown.load(std::memory_order_acquire);
    while (left > 0) {
      if (rule.countdown.compare_exchange_weak(left, left - 1, std::memory_order_acq_rel)) {
        fire = left == 1;
        if (fire && rule.sticky.load(std::memory_order_acquire)) rule.failing.store(true, std::memory_order_release);
        break;
      }
    }
  }
  if (!fire) return 0;
  faultCount.fetch_add(1, std::memory_order_relaxed);
  if (shortRead) *shortRead = rule.shortRead.load(std::memory_order_acquire);
  return rule.code.load(std::memory_order_acquire);
}

sqlite3_file* real(sqlite3_file* file) { return reinterpret_cast<FaultFile*>(file)->real; }
int kindOf(sqlite3_file* file) { return reinterpret_cast<FaultFile*>(file)->kind; }

// ---- io methods: worker threads (the thread that owns the connection) ----

int fileClose(sqlite3_file* file) {
  sqlite3_file* inner = real(file);
  const int rc = inner->pMethods ? inner->pMethods->xClose(inner) : SQLITE_OK;
  file->pMethods = nullptr;
  return rc;
}

int fileRead(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  bool shortRead = false;
  const int code = check(Call::Read, kindOf(file), &shortRead);
  if (code == 0 && !shortRead) return real(file)->pMethods->xRead(real(file), buffer, amount, offset);
  if (shortRead) {
    const int rc = real(file)->pMethods->xRead(real(file), buffer, amount, offset);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
    // SQLite's contract for a short read: the bytes not read are zero.
    std::memset(static_cast<char*>(buffer) + amount / 2, 0, static_cast<std::size_t>(amount - amount / 2));
    return SQLITE_IOERR_SHORT_READ;
  }
  return code;
}

int fileWrite(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  const int code = check(Call::Write, kindOf(file));
  return code ? code : real(file)->pMethods->xWrite(real(file), buffer, amount, offset);
}

int fileTruncate(sqlite3_file* file, sqlite3_int64 size) {
  const int code = check(Call::Truncate, kindOf(file));
  return code ? code : real(file)->pMethods->xTruncate(real(file), size);
}

int fileSync(sqlite3_file* file, int flags) {
  const int code = check(Call::Sync, kindOf(file));
  return code ? code : real(file)->pMethods->xSync(real(file), flags);
}

int fileSize(sqlite3_file* file, sqlite3_int64* size) { return real(file)->pMethods->xFileSize(real(file), size); }

int fileLock(sqlite3_file* file, int level) {
  const int code = check(Call::Lock, kindOf(file));
  return code ? code : real(file)->pMethods->xLock(real(file), level);
}

int fileUnlock(sqlite3_file* file, int level) { return real(file)->pMethods->xUnlock(real(file), level); }

int fileCheckReservedLock(sqlite3_file* file, int* out) {
  return real(file)->pMethods->xCheckReservedLock(real(file), out);
}

int fileControl(sqlite3_file* file, int op, void* arg) {
  // mmap would let page reads bypass xRead (and its faults): keep it off.
  if (op == SQLITE_FCNTL_MMAP_SIZE) {
    if (arg) *static_cast<sqlite3_int64*>(arg) = 0;
    return SQLITE_OK;
  }
  const int rc = real(file)->pMethods->xFileControl(real(file), op, arg);
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK && arg) {
    char** name = static_cast<char**>(arg);
    char* wrapped = sqlite3_mprintf("%s/%z", kVfsName, *name);
    *name = wrapped;
  }
  return rc;
}

int fileSectorSize(sqlite3_file* file) { return real(file)->pMethods->xSectorSize(real(file)); }

int fileDeviceCharacteristics(sqlite3_file* file) { return real(file)->pMethods->xDeviceCharacteristics(real(file)); }

int fileShmMap(sqlite3_file* file, int page, int pageSize, int extend, void volatile** out) {
  return real(file)->pMethods->xShmMap(real(file), page, pageSize, extend, out);
}

int fileShmLock(sqlite3_file* file, int offset, int count, int flags) {
  // Unlocks always go through: a fault there would leave a lock behind that nothing can clear.
  if (flags & SQLITE_SHM_LOCK) {
    const int code = check(Call::ShmLock, kindOf(file));
    if (code) return code;
  }
  return real(file)->pMethods->xShmLock(real(file), offset, count, flags);
}

void fileShmBarrier(sqlite3_file* file) { real(file)->pMethods->xShmBarrier(real(file)); }

int fileShmUnmap(sqlite3_file* file, int deleteFlag) { return real(file)->pMethods->xShmUnmap(real(file), deleteFlag); }

int fileFetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;  // no mapping: SQLite reads the page with xRead
  return SQLITE_OK;
}

int fileUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods faultMethods = {
    3,
    fileClose,
    fileRead,
    fileWrite,
    fileTruncate,
    fileSync,
    fileSize,
    fileLock,
    fileUnlock,
    fileCheckReservedLock,
    fileControl,
    fileSectorSize,
    fileDeviceCharacteristics,
    fileShmMap,
    fileShmLock,
    fileShmBarrier,
    fileShmUnmap,
    fileFetch,
    fileUnfetch,
};

// ---- VFS methods: any thread that opens a connection or a file ----

int vfsOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* outFlags) {
  auto* wrapper = reinterpret_cast<FaultFile*>(file);
  wrapper->real = reinterpret_cast<sqlite3_file*>(wrapper + 1);
  wrapper->real->pMethods = nullptr;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    wrapper->kind = kMainDb;
  } else if (flags & SQLITE_OPEN_WAL) {
    wrapper->kind = kWal;
  } else if (flags & SQLITE_OPEN_MAIN_JOURNAL) {
    wrapper->kind = kJournal;
  } else {
    wrapper->kind = kOtherFile;
  }
  const int rc = realVfs->xOpen(realVfs, name, wrapper->real, flags, outFlags);
  // SQLite calls xClose only when pMethods is set; it must be set exactly when the real file is.
  file->pMethods = wrapper->real->pMethods ? &faultMethods : nullptr;
  return rc;
}

int vfsDelete(sqlite3_vfs*, const char* name, int syncDir) { return realVfs->xDelete(realVfs, name, syncDir); }
int vfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) { return realVfs->xAccess(realVfs, name, flags, out); }
int vfsFullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return realVfs->xFullPathname(realVfs, name, size, out);
}
void* vfsDlOpen(sqlite3_vfs*, const char* name) { return realVfs->xDlOpen(realVfs, name); }
void vfsDlError(sqlite3_vfs*, int size, char* out) { realVfs->xDlError(realVfs, size, out); }
void (*vfsDlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) { return realVfs->xDlSym(realVfs, handle, symbol); }
void vfsDlClose(sqlite3_vfs*, void* handle) { realVfs->xDlClose(realVfs, handle); }
int vfsRandomness(sqlite3_vfs*, int size, char* out) { return realVfs->xRandomness(realVfs, size, out); }
int vfsSleep(sqlite3_vfs*, int micros) { return realVfs->xSleep(realVfs, micros); }
int vfsCurrentTime(sqlite3_vfs*, double* out) { return realVfs->xCurrentTime(realVfs, out); }
int vfsGetLastError(sqlite3_vfs*, int size, char* out) { return realVfs->xGetLastError(realVfs, size, out); }
int vfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return realVfs->xCurrentTimeInt64(realVfs, out); }
int vfsSetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return realVfs->xSetSystemCall(realVfs, name, call);
}
sqlite3_syscall_ptr vfsGetSystemCall(sqlite3_vfs*, const char* name) { return realVfs->xGetSystemCall(realVfs, name); }
const char* vfsNextSystemCall(sqlite3_vfs*, const char* name) { return realVfs->xNextSystemCall(realVfs, name); }

}  // namespace

// Any thread.
void registerVfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    ensureSqliteInitialized();
    realVfs = sqlite3_vfs_find(nullptr);
    std::memset(&faultVfs, 0, sizeof faultVfs);
    faultVfs.iVersion = 3;
    faultVfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + realVfs->szOsFile;
    faultVfs.mxPathname = realVfs->mxPathname;
    faultVfs.zName = kVfsName;
    faultVfs.xOpen = vfsOpen;
    faultVfs.xDelete = vfsDelete;
    faultVfs.xAccess = vfsAccess;
    faultVfs.xFullPathname = vfsFullPathname;
    faultVfs.xDlOpen = vfsDlOpen;
    faultVfs.xDlError = vfsDlError;
    faultVfs.xDlSym = vfsDlSym;
    faultVfs.xDlClose = vfsDlClose;
    faultVfs.xRandomness = vfsRandomness;
    faultVfs.xSleep = vfsSleep;
    faultVfs.xCurrentTime = vfsCurrentTime;
    faultVfs.xGetLastError = vfsGetLastError;
    faultVfs.xCurrentTimeInt64 = vfsCurrentTimeInt64;
    faultVfs.xSetSystemCall = vfsSetSystemCall;
    faultVfs.xGetSystemCall = vfsGetSystemCall;
    faultVfs.xNextSystemCall = vfsNextSystemCall;
    sqlite3_vfs_register(&faultVfs, 0);
  });
}

// Any thread.
void arm(const Plan& plan) {
  Rule& rule = rules[static_cast<int>(plan.call)];
  rule.countdown.store(0, std::memory_order_release);
  rule.failing.store(false, std::memory_order_release);
  rule.code.store(plan.code, std::memory_order_release);
  rule.files.store(plan.files, std::memory_order_release);
  rule.sticky.store(plan.sticky, std::memory_order_release);
  rule.shortRead.store(plan.shortRead, std::memory_order_release);
  rule.countdown.store(plan.nth < 1 ? 1 : plan.nth, std::memory_order_release);
}

// Any thread.
void clear() {
  for (Rule& rule : rules) {
    rule.countdown.store(0, std::memory_order_release);
    rule.failing.store(false, std::memory_order_release);
  }
}

// Any thread.
std::uint64_t calls(Call call) { return rules[static_cast<int>(call)].calls.load(std::memory_order_relaxed); }

// Any thread.
std::uint64_t faults() { return faultCount.load(std::memory_order_relaxed); }

}  // namespace litepool::fault
