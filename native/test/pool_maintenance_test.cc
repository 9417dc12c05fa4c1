// Owns the engine tests of the maintenance requests (maintenance.cc): a checkpoint reports its
// row (busy, log frames, checkpointed frames) in every mode; an online backup run from the
// writer's connection one step at a time holds the writes made between its steps and is sound;
// backup misuse is refused; a pinned reader's open transaction is published with its start.
// Fixtures: pool_harness.h.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "check.h"
#include "pool_harness.h"

using namespace litepool;
using namespace litepool::test;
using namespace std::chrono_literals;

namespace {

// Submits a maintenance request to the writer with its integer argument (`chunkRows`), waits for
// it and returns its slot (the caller reads it and releases it).
std::uint32_t maintenance(Harness& h, Op op, std::uint32_t argument, std::string sql = "") {
  const std::uint32_t slot = h.engine.acquireSlot();
  CHECK(slot != UINT32_MAX);
  Request& request = h.engine.request(slot);
  request.op = op;
  request.sql = std::move(sql);
  request.chunkRows = argument;
  h.engine.submit(slot, Target::Writer, -1);
  const auto done = h.collect(1);
  CHECK_EQ(done[0], slot);
  return slot;
}

}  // namespace

TEST(checkpoint_reports_busy_log_and_checkpointed_frames) {
  TempDir dir;
  Harness h(configFor(dir.file("checkpoint.db")));
  h.open();
  createItems(h, 500);
  const std::uint32_t passiveSlot = maintenance(h, Op::Checkpoint, static_cast<std::uint32_t>(CheckpointMode::Passive));
  Request& passive = h.engine.request(passiveSlot);
  CHECK_EQ(passive.status, Status::Rows);
  CHECK_EQ(passive.columnCount, std::uint32_t{3});
  CHECK_EQ(integerAt(passive, 0), std::int64_t{0});
  const std::int64_t log = integerAt(passive, 1);
  CHECK(log > 0);
  CHECK_EQ(integerAt(passive, 2), log);
  h.engine.releaseSlot(passiveSlot);
  const std::uint32_t truncateSlot = maintenance(h, Op::Checkpoint, static_cast<std::uint32_t>(CheckpointMode::Truncate));
  Request& truncate = h.engine.request(truncateSlot);
  CHECK_EQ(truncate.status, Status::Rows);
  CHECK_EQ(integerAt(truncate, 0), std::int64_t{0});
  CHECK_EQ(integerAt(truncate, 1), std::int64_t{0});
  CHECK_EQ(integerAt(truncate, 2), std::int64_t{0});
  h.engine.releaseSlot(truncateSlot);
  h.close();
}

TEST(backup_in_steps_holds_the_writes_made_between_steps) {
  TempDir dir;
  Harness h(configFor(dir.file("source.db")));
  h.open();
  createItems(h, 3000);
  const std::string dest = dir.file("copy.db");
  const std::uint32_t startSlot = maintenance(h, Op::BackupStart, 0, dest);
  Request& start = h.engine.request(startSlot);
  CHECK_EQ(start.status, Status::Done);
  h.engine.releaseSlot(startSlot);
  int steps = 0;
  std::int64_t previousRemaining = INT64_MAX;
  for (;;) {
    const std::uint32_t stepSlot = maintenance(h, Op::BackupStep, 5);
    Request& step = h.engine.request(stepSlot);
    CHECK_EQ(step.status, Status::Rows);
    const bool done = integerAt(step, 0) == 1;
    const std::int64_t remaining = integerAt(step, 1);
    CHECK(integerAt(step, 2) > 0);
    // Each step copies 5 pages; the one insert between two steps adds far fewer.
    if (steps > 0) CHECK(remaining < previousRemaining);
    previousRemaining = remaining;
    h.engine.releaseSlot(stepSlot);
    ++steps;
    if (done) break;
    // A write on the writer's own connection between two steps: the backup takes it in.
    h.mustRun(Op::Run, Target::Writer, "INSERT INTO items(name, score) VALUES ('between', 1)");
  }
  CHECK(steps > 3);
  const std::uint32_t endSlot = maintenance(h, Op::BackupEnd, 0);
  Request& end = h.engine.request(endSlot);
  CHECK_EQ(end.status, Status::Done);
  h.engine.releaseSlot(endSlot);
  RawConnection copy(dest);
  CHECK_EQ(copy.scalar("SELECT count(*) FROM items"), std::int64_t{3000 + steps - 1});
  CHECK_EQ(copy.scalar("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), std::int64_t{1});
  h.close();
}

TEST(backup_misuse_is_refused_and_end_always_releases) {
  TempDir dir;
  Harness h(configFor(dir.file("misuse.db")));
  h.open();
  createItems(h, 10);
  const std::uint32_t straySlot = maintenance(h, Op::BackupStep, 10);
  Request& stray = h.engine.request(straySlot);
  CHECK_EQ(stray.status, Status::Misuse);
  h.engine.releaseSlot(straySlot);
  const std::uint32_t startSlot = maintenance(h, Op::BackupStart, 0, dir.file("a.db"));
  Request& start = h.engine.request(startSlot);
  CHECK_EQ(start.status, Status::Done);
  h.engine.releaseSlot(startSlot);
  const std::uint32_t againSlot = maintenance(h, Op::BackupStart, 0, dir.file("b.db"));
  Request& again = h.engine.request(againSlot);
  CHECK_EQ(again.status, Status::Misuse);
  h.engine.releaseSlot(againSlot);
  // Ended before it finished (an abort): the next backup can start.
  const std::uint32_t endSlot = maintenance(h, Op::BackupEnd, 0);
  Request& end = h.engine.request(endSlot);
  CHECK_EQ(end.status, Status::Done);
  h.engine.releaseSlot(endSlot);
  const std::uint32_t unwritableSlot = maintenance(h, Op::BackupStart, 0, dir.file("no-such-dir/c.db"));
  Request& unwritable = h.engine.request(unwritableSlot);
  CHECK_EQ(unwritable.status, Status::SqliteFailed);
  CHECK_EQ(unwritable.errcode & 0xff, SQLITE_CANTOPEN);
  h.engine.releaseSlot(unwritableSlot);
  h.close();
}

TEST(a_pinned_readers_open_transaction_is_published) {
  TempDir dir;
  Harness h(configFor(dir.file("age.db"), 2));
  h.open();
  createItems(h, 10);
  Request& pin = h.roundTrip(Op::Pin, Target::Readers, "");
  const int reader = static_cast<int>(pin.changes);
  h.releaseLast();
  CHECK_EQ(h.engine.transactionMillis()[static_cast<std::size_t>(reader)], -1.0);
  h.roundTrip(Op::Exec, Target::PinnedReader, "BEGIN; SELECT count(*) FROM items", {}, static_cast<std::uint32_t>(RequestFlag::KeepTransaction), reader);
  h.releaseLast();
  std::this_thread::sleep_for(20ms);
  CHECK(h.engine.transactionMillis()[static_cast<std::size_t>(reader)] >= 10.0);
  h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, reader);
  h.releaseLast();
  CHECK_EQ(h.engine.transactionMillis()[static_cast<std::size_t>(reader)], -1.0);
  h.close();
}

TEST_MAIN()
