// Owns the engine tests of the writer and of leases (engine.h, connection.h): FIFO writes under
// contention with concurrent reads, waiting for a lock another connection holds (and being
// cancelled while waiting), the busy timeout, and a pinned reader that serves only its lease and
// comes back clean. Fixtures: pool_harness.h.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "pool_harness.h"

using namespace litepool;
using namespace litepool::test;
using namespace std::chrono_literals;

TEST(writer_under_contention_keeps_fifo_and_counts) {
  TempDir dir;
  Harness h(configFor(dir.file("writes.db")));
  h.open();
  h.mustRun(Op::Exec, Target::Writer,
            "CREATE TABLE counter(n INTEGER NOT NULL); INSERT INTO counter VALUES (0);"
            "CREATE TABLE log(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);");
  constexpr int kWrites = 2000;  // plus as many reads: 4000 of the 4096 slots in flight
  // Writes and reads interleaved, all in flight together: the writer runs its requests one by
  // one while four readers read the counter concurrently (WAL: readers never block the writer).
  std::vector<std::uint32_t> writes;
  std::set<std::uint32_t> reads;
  for (int i = 0; i < kWrites; ++i) {
    if (i % 2 == 0) {
      writes.push_back(h.submit(Op::Run, Target::Writer, "UPDATE counter SET n = n + 1"));
    } else {
      writes.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO log(seq) VALUES (?)", {Param::i(i)}));
    }
    reads.insert(h.submit(Op::Get, Target::Readers, "SELECT n FROM counter"));
  }
  const auto done = h.collect(writes.size() + reads.size());
  std::size_t nextWrite = 0;
  std::int64_t nextLogId = 1;
  for (std::uint32_t slot : done) {
    const Request& request = h.engine.request(slot);
    if (reads.count(slot)) {
      CHECK_EQ(request.status, Status::Rows);
      const std::int64_t n = integerAt(request, 0);
      CHECK(n >= 0 && n <= kWrites / 2);
    } else {
      // Writer completions come back in submission order.
      CHECK(nextWrite < writes.size());
      CHECK_EQ(slot, writes[nextWrite]);
      CHECK_EQ(request.status, Status::Done);
      CHECK_EQ(request.changes, std::int64_t{1});
      if (nextWrite % 2 == 1) CHECK_EQ(request.lastInsertRowid, nextLogId++);
      ++nextWrite;
    }
    h.engine.releaseSlot(slot);
  }
  CHECK_EQ(nextWrite, writes.size());
  CHECK_EQ(h.scalar(Target::Readers, "SELECT n FROM counter"), std::int64_t{kWrites / 2});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM log"), std::int64_t{kWrites / 2});
  // seq values were logged in submission order.
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM log a JOIN log b ON b.id = a.id + 1 WHERE b.seq <= a.seq"),
           std::int64_t{0});
  h.close();
}

TEST(writer_waits_for_a_lock_held_elsewhere_and_can_be_cancelled) {
  TempDir dir;
  const std::string path = dir.file("busy.db");
  Harness h(configFor(path));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)");

  RawConnection other(path);
  other.exec("BEGIN IMMEDIATE");  // another connection holds the write lock
  std::vector<std::uint32_t> slots;
  for (int i = 0; i < 20; ++i) slots.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (?)", {Param::i(i)}));
  std::this_thread::sleep_for(300ms);
  std::uint32_t early;
  h.engine.rearm();
  CHECK(!h.engine.popCompletion(early));  // the first insert waits in the busy handler
  CHECK(h.engine.stats().writerBusy);
  h.engine.cancel(slots[5]);  // still queued: skipped when its turn comes
  other.exec("COMMIT");
  const auto done = h.collect(slots.size());
  CHECK(done == slots);
  for (std::size_t i = 0; i < done.size(); ++i) {
    CHECK_EQ(h.engine.request(done[i]).status, i == 5 ? Status::Cancelled : Status::Done);
    h.engine.releaseSlot(done[i]);
  }
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{19});

  // Cancelling the request that waits in the busy handler ends the wait early.
  other.exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  const std::uint32_t blocked = h.submit(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (100)");
  std::this_thread::sleep_for(100ms);
  h.engine.cancel(blocked);
  CHECK_EQ(h.collect(1)[0], blocked);
  CHECK_EQ(h.engine.request(blocked).status, Status::Cancelled);
  h.engine.releaseSlot(blocked);
  CHECK(std::chrono::steady_clock::now() - start < 3s);  // well before the 5 s busy timeout
  other.exec("ROLLBACK");
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{19});
  h.close();
}

TEST(busy_timeout_fails_with_sqlite_busy) {
  TempDir dir;
  const std::string path = dir.file("timeout.db");
  EngineConfig config = configFor(path, 1);
  config.connection.busyTimeoutMs = 200;
  Harness h(std::move(config));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(v)");
  RawConnection other(path);
  other.exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  Request& request = h.roundTrip(Op::Run, Target::Writer, "INSERT INTO t VALUES (1)");
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK_EQ(request.status, Status::SqliteFailed);
  CHECK_EQ(request.errcode & 0xff, SQLITE_BUSY);
  CHECK(waited >= 150ms && waited < 3s);
  h.releaseLast();
  other.exec("ROLLBACK");
  CHECK_EQ(h.mustRun(Op::Run, Target::Writer, "INSERT INTO t VALUES (1)"), std::int64_t{1});
  h.close();
}

TEST(pinned_reader_serves_only_its_lease_and_comes_back_clean) {
  TempDir dir;
  Harness h(configFor(dir.file("pin.db")));
  h.open();
  createItems(h, 100);
  Request& pin = h.roundTrip(Op::Pin, Target::Readers, "");
  CHECK_EQ(pin.status, Status::Done);
  const int reader = static_cast<int>(pin.changes);
  CHECK(reader >= 0 && reader < 4);
  h.releaseLast();
  CHECK_EQ(h.engine.pinnedReaders(), 1);

  // The lease opens a read transaction: its snapshot stays at 100 rows.
  Request& begin = h.roundTrip(Op::Exec, Target::PinnedReader, "BEGIN", {}, RequestFlag::KeepTransaction, reader);
  CHECK_EQ(begin.status, Status::Done);
  h.releaseLast();
  Request& before = h.roundTrip(Op::Get, Target::PinnedReader, "SELECT count(*) FROM items", {}, RequestFlag::KeepTransaction, reader);
  CHECK_EQ(before.status, Status::Rows);
  CHECK_EQ(integerAt(before, 0), std::int64_t{100});
  h.releaseLast();
  CHECK_EQ(h.mustRun(Op::Run, Target::Writer, "INSERT INTO items(name) VALUES ('new')"), std::int64_t{1});

  // Shared reads all see 101 rows: the pinned reader (still at 100) never takes one of them.
  std::vector<std::uint32_t> shared;
  for (int i = 0; i < 400; ++i) shared.push_back(h.submit(Op::Get, Target::Readers, "SELECT count(*) FROM items"));
  std::vector<std::uint32_t> leased;
  for (int i = 0; i < 50; ++i) {
    leased.push_back(h.submit(Op::Get, Target::PinnedReader, "SELECT count(*) FROM items", {}, RequestFlag::KeepTransaction, reader));
  }
  const std::set<std::uint32_t> leasedSet(leased.begin(), leased.end());
  std::vector<std::uint32_t> leasedOrder;
  for (std::uint32_t slot : h.collect(shared.size() + leased.size())) {
    const Request& request = h.engine.request(slot);
    CHECK_EQ(request.status, Status::Rows);
    if (leasedSet.count(slot)) {
      CHECK_EQ(integerAt(request, 0), std::int64_t{100});
      leasedOrder.push_back(slot);
    } else {
      CHECK_EQ(integerAt(request, 0), std::int64_t{101});
    }
    h.engine.releaseSlot(slot);
  }
  CHECK(leasedOrder == leased);  // one reader, its own SPSC ring: FIFO

  // Unpin rolls back what the lease left open and returns the reader to the shared ring.
  Request& unpin = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, reader);
  CHECK_EQ(unpin.status, Status::Done);
  CHECK_EQ(unpin.changes, std::int64_t{1});
  h.releaseLast();
  CHECK_EQ(h.engine.pinnedReaders(), 0);
  std::vector<std::uint32_t> after;
  for (int i = 0; i < 400; ++i) after.push_back(h.submit(Op::Get, Target::Readers, "SELECT count(*) FROM items"));
  for (std::uint32_t slot : h.collect(after.size())) {
    CHECK_EQ(integerAt(h.engine.request(slot), 0), std::int64_t{101});
    h.engine.releaseSlot(slot);
  }
  h.close();
}

TEST_MAIN()
