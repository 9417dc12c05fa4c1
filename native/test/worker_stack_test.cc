// Owns the engine tests of its worker threads' stacks (worker_thread.h): every worker thread,
// the writer and each reader, runs with the configured stack (kWorkerStackBytes, read back with
// pthread_getattr_np on Linux), and SQL that SQLite parses with deep recursion runs on each of
// them. The deep statement is checked to need more stack than musl's (128 KiB) and macOS's
// (512 KiB) default for a secondary thread, so that it would fail there without the explicit
// stack. Fixtures: pool_harness.h.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "check.h"
#include "pool_harness.h"
#include "worker_thread.h"

using namespace litepool;
using namespace litepool::test;

namespace {

// `SELECT 1+1+…+1`: 999 additions, one below SQLite's expression depth limit (1,000), sum 1,000.
// SQLite's parser and code generator recurse once per operator: on an x86-64 glibc build without
// sanitizers it needs more than 512 KiB of stack and runs within 1 MiB.
std::string deepSql() {
  std::string sql = "SELECT 1";
  for (int i = 0; i < 999; ++i) sql += "+1";
  return sql;
}

// Any thread (a SQL function): the stack size of the calling thread, -1 where it cannot be read.
void stackSizeFunction(sqlite3_context* context, int, sqlite3_value**) {
#if defined(__linux__)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) {
    sqlite3_result_int64(context, -1);
    return;
  }
  std::size_t size = 0;
  pthread_attr_getstacksize(&attr, &size);
  pthread_attr_destroy(&attr);
  sqlite3_result_int64(context, static_cast<sqlite3_int64>(size));
#else
  sqlite3_result_int64(context, -1);
#endif
}

// Every connection opened from now on (the engine's too) gets litepool_test_stack_size().
int registerStackSize(sqlite3* db, const char**, const void*) {
  return sqlite3_create_function(db, "litepool_test_stack_size", 0, SQLITE_UTF8, nullptr, &stackSizeFunction, nullptr, nullptr);
}

// Opens a pool with `readers` readers and pins each one (a pinned reader leaves the shared ring,
// so each Pin lands on another reader); returns their indexes.
std::vector<int> pinEveryReader(Harness& h) {
  std::vector<int> readers;
  for (int i = 0; i < h.engine.readerCount(); ++i) {
    Request& pin = h.roundTrip(Op::Pin, Target::Readers, "");
    CHECK_EQ(pin.status, Status::Done);
    readers.push_back(static_cast<int>(pin.changes));
    h.releaseLast();
  }
  return readers;
}

void unpin(Harness& h, const std::vector<int>& readers) {
  for (int reader : readers) {
    Request& unpin = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, reader);
    CHECK_EQ(unpin.status, Status::Done);
    h.releaseLast();
  }
}

}  // namespace

TEST(every_worker_thread_runs_on_the_configured_stack) {
#if defined(__linux__)
  CHECK_EQ(sqlite3_auto_extension(reinterpret_cast<void (*)()>(&registerStackSize)), SQLITE_OK);
  TempDir dir;
  Harness h(configFor(dir.file("stack.db"), 3));
  h.open();
  const auto expected = static_cast<std::int64_t>(kWorkerStackBytes);
  CHECK_EQ(h.scalar(Target::Writer, "SELECT litepool_test_stack_size()"), expected);
  const std::vector<int> readers = pinEveryReader(h);
  CHECK_EQ(readers.size(), std::size_t{3});
  for (int reader : readers) {
    Request& request = h.roundTrip(Op::Get, Target::PinnedReader, "SELECT litepool_test_stack_size()", {}, 0, reader);
    CHECK_EQ(request.status, Status::Rows);
    CHECK_EQ(integerAt(request, 0), expected);
    h.releaseLast();
  }
  unpin(h, readers);
  h.close();
  sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&registerStackSize));
#endif
}

TEST(deeply_nested_sql_runs_on_the_writer_and_on_every_reader) {
  TempDir dir;
  Harness h(configFor(dir.file("deep.db"), 2));
  h.open();
  const std::string sql = deepSql();
  CHECK_EQ(h.scalar(Target::Writer, sql), std::int64_t{1000});
  const std::vector<int> readers = pinEveryReader(h);
  for (int reader : readers) {
    Request& request = h.roundTrip(Op::Get, Target::PinnedReader, sql, {}, 0, reader);
    CHECK_EQ(request.status, Status::Rows);
    CHECK_EQ(integerAt(request, 0), std::int64_t{1000});
    h.releaseLast();
  }
  unpin(h, readers);
  // Through the shared ring too (any reader), and while the writer is busy with the same.
  std::vector<std::uint32_t> slots;
  for (int i = 0; i < 8; ++i) slots.push_back(h.submit(Op::Get, i % 4 == 0 ? Target::Writer : Target::Readers, sql));
  for (std::uint32_t slot : h.collect(slots.size())) {
    CHECK_EQ(h.engine.request(slot).status, Status::Rows);
    CHECK_EQ(integerAt(h.engine.request(slot), 0), std::int64_t{1000});
    h.engine.releaseSlot(slot);
  }
  h.close();
}

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {

// Runs deepSql() on a fresh connection in a child process, on a thread with `stackBytes` of
// stack: 0 when it ran, 3 when SQLite refused it, anything else when the child died (a stack
// overflow is SIGSEGV).
int runDeepInChild(std::size_t stackBytes) {
  const pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stackBytes);
    pthread_t thread;
    const auto body = [](void*) -> void* {
      sqlite3* db = nullptr;
      sqlite3_open(":memory:", &db);
      const int rc = sqlite3_exec(db, deepSql().c_str(), nullptr, nullptr, nullptr);
      _exit(rc == SQLITE_OK ? 0 : 3);
    };
    if (pthread_create(&thread, &attr, body, nullptr) != 0) _exit(4);
    pthread_join(thread, nullptr);
    _exit(5);
  }
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

// Uninstrumented builds only: the sanitizers change frame sizes and handle the overflow themselves.
TEST(the_deep_statement_needs_more_than_a_small_default_stack) {
  const int small = runDeepInChild(std::size_t{512} << 10);  // macOS (musl's 128 KiB is smaller)
  if (small == 0 || small == 3) test::fail(__FILE__, __LINE__, "the deep statement ran (or was refused) on 512 KiB: " + std::to_string(small));
  CHECK_EQ(runDeepInChild(kWorkerStackBytes), 0);
}
#endif

TEST_MAIN()
