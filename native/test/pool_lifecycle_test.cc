// Owns the engine tests of its life (engine.h, worker.cc): abort with work in flight and when
// idle, close draining queued work then checkpointing, the configured close checkpoint
// (TRUNCATE, PASSIVE or none), an in-memory database on the writer alone,
// slots running out and coming back clean, open failures, a reader thread that cannot start,
// wake-ups around the end of polling, and time slicing of long statements. Fixtures: pool_harness.h.
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "check.h"
#include "pool_harness.h"

using namespace litepool;
using namespace litepool::test;
using namespace std::chrono_literals;

TEST(abort_with_work_in_flight_joins_and_reports_only_cancelled_or_valid) {
  TempDir dir;
  Harness h(configFor(dir.file("abort.db")));
  h.open();
  constexpr int kRows = 500;
  createItems(h, kRows);

  // Two readers and the writer are busy with statements that never end on their own.
  enum class Kind { Forever, Read, Write };
  std::unordered_map<std::uint32_t, std::pair<Kind, int>> submitted;
  submitted.emplace(h.submit(Op::Get, Target::Readers, kForever), std::pair{Kind::Forever, 0});
  submitted.emplace(h.submit(Op::Get, Target::Readers, kForever), std::pair{Kind::Forever, 0});
  submitted.emplace(h.submit(Op::Run, Target::Writer, kForever), std::pair{Kind::Forever, 0});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    const EngineStats stats = h.engine.stats();
    if (stats.readersBusy >= 2 && stats.writerBusy) break;
    CHECK(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(1ms);
  }
  // Then a flood of ordinary work that is queued, running or done when abort() comes.
  for (int i = 0; i < 3000; ++i) {
    const int id = 1 + i % kRows;
    submitted.emplace(h.submit(Op::Get, Target::Readers, "SELECT id, name FROM items WHERE id = ?", {Param::i(id)}),
                      std::pair{Kind::Read, id});
    if (i % 6 == 0) {
      submitted.emplace(h.submit(Op::Run, Target::Writer, "INSERT INTO items(name) VALUES (?)", {Param::t("late")}),
                        std::pair{Kind::Write, 0});
    }
  }
  std::this_thread::sleep_for(5ms);
  const auto start = std::chrono::steady_clock::now();
  h.engine.abort();
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < 10s);
  h.engine.abort();  // idempotent

  // Every thread is gone: whatever is in the completion ring is all that will ever arrive.
  std::set<std::uint32_t> seen;
  int cancelled = 0, valid = 0, interrupted = 0, forevers = 0, writesRun = 0;
  std::uint32_t slot;
  h.engine.rearm();
  while (h.engine.popCompletion(slot)) {
    CHECK(seen.insert(slot).second);
    const auto it = submitted.find(slot);
    CHECK(it != submitted.end());
    const auto [kind, id] = it->second;
    const Request& request = h.engine.request(slot);
    if (kind == Kind::Forever) ++forevers;
    if (request.status == Status::Cancelled) {
      ++cancelled;
    } else if (kind == Kind::Forever) {
      // Interrupted by the abort flag before its own cancelled flag was set (see engine.cc abort()).
      CHECK_EQ(request.status, Status::SqliteFailed);
      CHECK_EQ(request.errcode, SQLITE_INTERRUPT);
      ++interrupted;
    } else if (kind == Kind::Read) {
      CHECK_EQ(request.status, Status::Rows);
      CHECK_EQ(integerAt(request, 0), std::int64_t{id});
      CHECK_EQ(textAt(request, 1), "item-" + std::to_string(id));
      ++valid;
    } else {
      CHECK_EQ(request.status, Status::Done);
      CHECK_EQ(request.changes, std::int64_t{1});
      ++valid;
      ++writesRun;
    }
    h.engine.releaseSlot(slot);
  }
  CHECK_EQ(forevers, 3);  // the running statements were interrupted, not abandoned
  // The writer was stuck in its endless statement until abort(), so none of the writes queued
  // behind it (FIFO) can have run.
  CHECK_EQ(writesRun, 0);
  std::printf("  abort took %lld ms; %d cancelled, %d valid, %d interrupted, %zu never started\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()), cancelled,
              valid, interrupted, submitted.size() - seen.size());
}

// A pool opened on a new file and aborted before any write (an open() that fails once the writer
// is open, a process exit right after an open): the writer reads through the WAL from its open on,
// so it closes last with the WAL open and removes -wal and -shm (readers alone would leave them).
TEST(abort_right_after_opening_a_new_file_leaves_no_wal_files) {
  TempDir dir;
  for (int round = 0; round < 20; ++round) {
    const std::string path = dir.file("fresh-" + std::to_string(round) + ".db");
    Harness h(configFor(path, 2));
    h.open();
    h.engine.abort();
    CHECK(std::filesystem::exists(path));
    CHECK(!std::filesystem::exists(path + "-wal"));
    CHECK(!std::filesystem::exists(path + "-shm"));
  }
}

TEST(abort_of_an_idle_engine_joins_parked_workers) {
  TempDir dir;
  Harness h(configFor(dir.file("idle.db")));
  h.open();
  std::this_thread::sleep_for(50ms);  // long past the spin phase: every worker is parked
  const auto start = std::chrono::steady_clock::now();
  h.engine.abort();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  std::uint32_t slot;
  CHECK(!h.engine.popCompletion(slot));
}

TEST(close_drains_queued_work_then_checkpoints_and_joins) {
  TempDir dir;
  const std::string path = dir.file("close.db");
  {
    Harness h(configFor(path));
    h.open();
    h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    std::vector<std::uint32_t> work;
    for (int i = 0; i < 300; ++i) {
      work.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (?)", {Param::t(std::to_string(i))}));
      if (i % 3 == 0) work.push_back(h.submit(Op::All, Target::Readers, "SELECT count(*) FROM t"));
    }
    // Close requests queue behind the work: readers take one Close each and stop; the writer's
    // Close runs after every write queued before it.
    std::set<std::uint32_t> closes;
    for (int i = 0; i < 4; ++i) closes.insert(h.submit(Op::Close, Target::Readers, ""));
    const std::uint32_t writerClose = h.submit(Op::Close, Target::Writer, "");
    closes.insert(writerClose);
    const auto done = h.collect(work.size() + closes.size());
    std::size_t writesDone = 0;
    for (std::uint32_t slot : done) {
      const Request& request = h.engine.request(slot);
      if (slot == writerClose) {
        // The writer reports its close checkpoint (TRUNCATE): not busy, the WAL emptied.
        CHECK_EQ(request.status, Status::Rows);
        CHECK_EQ(integerAt(request, 0), std::int64_t{0});
        CHECK_EQ(integerAt(request, 1), std::int64_t{0});
        CHECK_EQ(writesDone, std::size_t{300});
      } else if (closes.count(slot)) {
        CHECK_EQ(request.status, Status::Done);
      } else if (request.op == Op::Run) {
        CHECK_EQ(request.status, Status::Done);
        ++writesDone;
      } else {
        CHECK_EQ(request.status, Status::Rows);
        CHECK(integerAt(request, 0) <= 300);
      }
      h.engine.releaseSlot(slot);
    }
    h.engine.join();
    const EngineStats stats = h.engine.stats();
    CHECK(!stats.writerBusy);
    CHECK_EQ(stats.readersBusy, 0);
  }
  // The last connection closed after wal_checkpoint(TRUNCATE): nothing is left in the WAL.
  std::error_code missing;
  const auto walSize = std::filesystem::file_size(path + "-wal", missing);
  CHECK(missing || walSize == 0);
  RawConnection after(path);
  CHECK_EQ(after.scalar("SELECT count(*) FROM t"), std::int64_t{300});
  CHECK_EQ(after.scalar("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), std::int64_t{0});
}

TEST(close_runs_the_configured_checkpoint_or_none) {
  // Another connection keeps the database open, as a WAL replicator would: SQLite's own
  // checkpoint of the last connection to close then stays out of the picture.
  for (const char* mode : {"TRUNCATE", "PASSIVE", ""}) {
    TempDir dir;
    const std::string path = dir.file("close-mode.db");
    std::uintmax_t walBefore = 0;
    std::uintmax_t dbBefore = 0;
    std::fclose(std::fopen(path.c_str(), "w"));  // an empty file is an empty database
    RawConnection outside(path);
    outside.exec("PRAGMA journal_mode = WAL; CREATE TABLE t(v); PRAGMA wal_checkpoint(TRUNCATE);");
    {
      EngineConfig config = configFor(path);
      config.connection.closeCheckpoint = mode;
      Harness h(std::move(config));
      h.open();
      h.mustRun(Op::Exec, Target::Writer, "PRAGMA wal_autocheckpoint = 0");
      for (int i = 0; i < 200; ++i) {
        h.mustRun(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (?)", {Param::t(std::string(500, 'x'))});
      }
      walBefore = std::filesystem::file_size(path + "-wal");
      dbBefore = std::filesystem::file_size(path);
      const std::vector<std::int64_t> reported = h.close();
      // The writer's Close reports the checkpoint it ran: busy, log frames, checkpointed, µs.
      if (std::string(mode).empty()) {
        CHECK(reported.empty());
      } else {
        CHECK_EQ(reported.size(), std::size_t{4});
        CHECK_EQ(reported[0], std::int64_t{0});
        CHECK(reported[3] >= 0);
        if (std::string(mode) == "PASSIVE") CHECK(reported[2] > 0 && reported[2] == reported[1]);
      }
    }
    std::error_code missing;
    const std::uintmax_t walAfter = std::filesystem::file_size(path + "-wal", missing);
    const std::uintmax_t dbAfter = std::filesystem::file_size(path);
    CHECK(!missing);
    CHECK(walBefore > 0);
    if (std::string(mode) == "TRUNCATE") {
      CHECK_EQ(walAfter, std::uintmax_t{0});
    } else if (std::string(mode) == "PASSIVE") {
      // Frames copied into the database file; the WAL keeps its size for the next writer.
      CHECK(walAfter >= walBefore);
      CHECK(dbAfter > dbBefore);
    } else {
      // No checkpoint: the pages are still only in the WAL.
      CHECK(walAfter >= walBefore);
      CHECK_EQ(dbAfter, dbBefore);
    }
    CHECK_EQ(outside.scalar("SELECT count(*) FROM t"), std::int64_t{200});
  }
}

TEST(memory_database_runs_everything_on_the_writer) {
  EngineConfig config = configFor("", 0);
  config.connection.memory = true;
  Harness h(std::move(config));
  h.open();
  CHECK_EQ(h.engine.readerCount(), 0);
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(v); INSERT INTO t VALUES (1), (2), (3);");
  // Requests for the readers land on the writer, which sees the same in-memory database.
  std::vector<std::uint32_t> slots;
  for (int i = 0; i < 100; ++i) slots.push_back(h.submit(Op::Get, Target::Readers, "SELECT sum(v) FROM t"));
  CHECK(h.collect(slots.size()) == slots);
  for (std::uint32_t slot : slots) {
    CHECK_EQ(integerAt(h.engine.request(slot), 0), std::int64_t{6});
    h.engine.releaseSlot(slot);
  }
  CHECK_EQ(h.engine.stats().writerCompleted, std::uint64_t{1 + 100});
  h.close();
}

TEST(slots_run_out_and_come_back_clean) {
  TempDir dir;
  EngineConfig config = configFor(dir.file("slots.db"), 1);
  config.slots = 8;
  Harness h(std::move(config));
  h.open();
  std::vector<std::uint32_t> held;
  for (int i = 0; i < 8; ++i) {
    const std::uint32_t slot = h.engine.acquireSlot();
    CHECK(slot != UINT32_MAX);
    held.push_back(slot);
  }
  CHECK_EQ(h.engine.acquireSlot(), UINT32_MAX);
  CHECK_EQ(h.engine.stats().slotsInUse, 8u);
  for (std::uint32_t slot : held) h.engine.releaseSlot(slot);
  // A slot that carried a big result comes back empty.
  Request& big = h.roundTrip(Op::All, Target::Readers,
                             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) "
                             "SELECT x, printf('%0500d', x) FROM c");
  CHECK_EQ(big.status, Status::Rows);
  CHECK_EQ(big.cells.size(), std::size_t{10000});
  h.releaseLast();
  for (int i = 0; i < 8; ++i) {
    const std::uint32_t slot = h.engine.acquireSlot();
    const Request& request = h.engine.request(slot);
    CHECK(request.cells.empty() && request.cellBytes.empty() && request.params.empty() && request.message.empty());
    CHECK(!request.cancelled.load());
    CHECK(request.cellBytes.capacity() <= (std::size_t{1} << 20));
    held[static_cast<std::size_t>(i)] = slot;
  }
  for (std::uint32_t slot : held) h.engine.releaseSlot(slot);
  h.close();
}

TEST(open_failures_are_reported_and_the_engine_still_joins) {
  TempDir dir;
  {
    Harness h(configFor(dir.file("missing-dir/x.db")));
    const std::uint32_t slot = h.engine.startWriter();
    CHECK_EQ(h.collect(1)[0], slot);
    CHECK_EQ(h.engine.request(slot).status, Status::SqliteFailed);
    CHECK_EQ(h.engine.request(slot).errcode & 0xff, SQLITE_CANTOPEN);
    h.engine.releaseSlot(slot);
    h.engine.abort();
  }
  {
    const std::string garbage = dir.file("garbage.db");
    std::ofstream(garbage) << std::string(4096, 'x');
    Harness h(configFor(garbage));
    const std::uint32_t slot = h.engine.startWriter();
    CHECK_EQ(h.collect(1)[0], slot);
    CHECK_EQ(h.engine.request(slot).status, Status::SqliteFailed);
    CHECK_EQ(h.engine.request(slot).errcode, SQLITE_NOTADB);
    h.engine.releaseSlot(slot);
    h.engine.join();  // the writer thread ended by itself
  }
}

// A reader thread that cannot be created (the system refuses a thread; injected here through
// EngineConfig::testFailReaderStart) makes startReaders() throw after the readers before it
// started. Those open their connections and run on; abort() stops and joins them and the writer
// without waiting for the readers that never ran (the writer closes last, once the readers it
// waits for are gone, for at most 5 s: counted, the missing ones kept it waiting all of that).
TEST(a_reader_thread_that_cannot_start_fails_start_readers_and_abort_does_not_wait_for_it) {
  TempDir dir;
  const std::string path = dir.file("reader-start.db");
  EngineConfig config = configFor(path, 4);
  config.testFailReaderStart = 2;
  Harness h(std::move(config));
  const std::uint32_t writerOpen = h.engine.startWriter();
  CHECK_EQ(h.collect(1)[0], writerOpen);
  CHECK_EQ(h.engine.request(writerOpen).status, Status::Done);
  h.engine.releaseSlot(writerOpen);
  bool threw = false;
  try {
    h.engine.startReaders();
  } catch (const std::system_error& error) {
    threw = true;
    CHECK_EQ(error.code().value(), EAGAIN);
  }
  CHECK(threw);
  // The two readers that started open their connections and complete their Open requests.
  for (std::uint32_t slot : h.collect(2)) {
    CHECK_EQ(h.engine.request(slot).op, Op::Open);
    CHECK_EQ(h.engine.request(slot).status, Status::Done);
    h.engine.releaseSlot(slot);
  }
  const auto start = std::chrono::steady_clock::now();
  h.engine.abort();
  const auto took = std::chrono::steady_clock::now() - start;
  std::printf("  abort took %lld ms\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  CHECK(took < 2s);
  std::uint32_t slot;
  CHECK(!h.engine.popCompletion(slot));
  // The writer closed last, after the readers that ran: the WAL was checkpointed and removed.
  CHECK(!std::filesystem::exists(path + "-wal"));
}

// Requests submitted one at a time, with pauses around the end of the poll window: the poller
// either takes each request or a parked reader is woken for it (a lost wake-up would hang
// roundTrip until its watchdog, Harness::kHangTimeout).
TEST(requests_around_the_end_of_polling_are_never_lost) {
  TempDir dir;
  for (std::uint32_t spinMicros : {0u, 1u, 20u}) {
    EngineConfig config = configFor(dir.file("poll-" + std::to_string(spinMicros) + ".db"));
    config.spinMicros = spinMicros;
    Harness h(std::move(config));
    h.open();
    std::uint32_t seed = 12345;
    for (int i = 0; i < 3000; ++i) {
      seed = seed * 1664525u + 1013904223u;
      const auto pause = std::chrono::microseconds((seed >> 16) % 40);
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
      CHECK_EQ(h.scalar(Target::Readers, "SELECT ?", {Param::i(i)}), std::int64_t{i});
    }
    h.close();
  }
}

// A reader polling the shared ring takes a Pin while a plain read is pushed right after it: the
// read must still be taken by another reader (Engine::handOff), even though the polling reader,
// now pinned, never looks at the shared ring again. Before handOff, submit() counted that reader
// as the read's poller and woke nobody: the read waited for ever. The window (between the poller
// taking the Pin and leaving the pollers) is a few instructions wide in production; the test
// widens it to 2 ms and polls for long, so that every round meets it.
TEST(a_read_pushed_while_a_poller_takes_a_pin_is_taken_by_another_reader) {
  TempDir dir;
  EngineConfig config = configFor(dir.file("pin-race.db"), 2);
  config.spinMicros = 200000;
  config.testPauseAfterTakeMicros = 2000;
  Harness h(std::move(config));
  h.open();
  for (int i = 0; i < 200; ++i) {
    CHECK_EQ(h.scalar(Target::Readers, "SELECT ?", {Param::i(i)}), std::int64_t{i});  // a reader now polls
    const std::uint32_t pin = h.submit(Op::Pin, Target::Readers, "");
    const std::uint32_t read = h.submit(Op::Get, Target::Readers, "SELECT ?", {Param::i(-i)});
    int reader = -1;
    for (std::uint32_t slot : h.collect(2)) {
      const Request& request = h.engine.request(slot);
      if (slot == pin) {
        CHECK_EQ(request.status, Status::Done);
        reader = static_cast<int>(request.changes);
      } else {
        CHECK_EQ(slot, read);
        CHECK_EQ(request.status, Status::Rows);
        CHECK_EQ(integerAt(request, 0), std::int64_t{-i});
      }
      h.engine.releaseSlot(slot);
    }
    CHECK(reader >= 0);
    Request& unpin = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, reader);
    CHECK_EQ(unpin.status, Status::Done);
    h.releaseLast();
  }
  h.close();
}

// A worker that runs one long statement yields from inside it (the progress handler), once per
// quantum at most; with a quantum of 0 it never does.
TEST(long_statements_yield_once_per_timeslice) {
  const std::string longQuery =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) SELECT count(*) FROM n";
  TempDir dir;
  {
    EngineConfig config = configFor(dir.file("slice.db"));
    config.timesliceMicros = 1000;
    Harness h(std::move(config));
    h.open();
    const auto started = std::chrono::steady_clock::now();
    CHECK_EQ(h.scalar(Target::Readers, longQuery), std::int64_t{2000000});
    const auto elapsedMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    const std::uint64_t yields = h.engine.stats().yields;
    CHECK(elapsedMs >= 10);
    CHECK(yields >= 1);
    CHECK(yields <= static_cast<std::uint64_t>(elapsedMs) + 1);
    h.close();
  }
  {
    EngineConfig config = configFor(dir.file("noslice.db"));
    config.timesliceMicros = 0;
    Harness h(std::move(config));
    h.open();
    CHECK_EQ(h.scalar(Target::Readers, longQuery), std::int64_t{2000000});
    CHECK_EQ(h.engine.stats().yields, std::uint64_t{0});
    h.close();
  }
}

TEST_MAIN()
