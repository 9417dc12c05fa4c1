// Owns the engine tests of statements that share a transaction or a connection (transaction.cc,
// statement.cc): Batch requests (every statement or none, inside an open transaction too),
// group commit (queued groupable writes in one transaction, where a failing one rolls back
// alone; counted only once committed, and only the members that committed, two or more; a BEGIN
// waiting for the lock that stops once every member is cancelled), iterations in chunks on a pinned reader or holding the reader that started them (and
// kept from a Reopen meanwhile, as a lease's reader is), and InsertRows blocks (insert_rows.cc: their own transaction, or rows in an open one; groups of
// rows, a failing row named, every value kind).
// Fixtures: pool_harness.h.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "check.h"
#include "pool_harness.h"

using namespace litepool;
using namespace litepool::test;
using namespace std::chrono_literals;

namespace {

// One statement of a batch: its SQL and positional parameters, or named ones.
struct Entry {
  std::string sql;
  std::vector<Param> params;
  std::vector<std::string> names;  // empty: positional
};

// Submits one Batch request; returns its slot.
std::uint32_t submitBatch(Harness& h, const std::vector<Entry>& entries, std::uint32_t requestFlags = 0) {
  const std::uint32_t slot = h.engine.acquireSlot();
  CHECK(slot != UINT32_MAX);
  Request& request = h.engine.request(slot);
  request.op = Op::Batch;
  request.flags = requestFlags;
  for (const Entry& entry : entries) {
    BatchEntry batchEntry;
    batchEntry.sql = entry.sql;
    batchEntry.firstParam = static_cast<std::uint32_t>(request.params.size());
    batchEntry.paramCount = static_cast<std::uint32_t>(entry.params.size());
    batchEntry.named = !entry.names.empty();
    for (std::size_t i = 0; i < entry.params.size(); ++i) {
      addParam(request, entry.params[i]);
      request.paramNames.push_back(batchEntry.named ? entry.names[i] : std::string());
    }
    request.batch.push_back(std::move(batchEntry));
  }
  h.engine.submit(slot, Target::Writer);
  return slot;
}

// Runs one Batch request to completion; returns its slot (the caller reads and releases it).
std::uint32_t runBatch(Harness& h, const std::vector<Entry>& entries, std::uint32_t requestFlags = 0) {
  const std::uint32_t slot = submitBatch(h, entries, requestFlags);
  CHECK_EQ(h.collect(1)[0], slot);
  return slot;
}

// Runs one iteration request on the pinned `reader`, ten rows per chunk; returns its slot.
std::uint32_t iterateOn(Harness& h, int reader, Op op, std::string sql = "") {
  const std::uint32_t slot = h.engine.acquireSlot();
  CHECK(slot != UINT32_MAX);
  Request& request = h.engine.request(slot);
  request.op = op;
  request.sql = std::move(sql);
  request.chunkRows = 10;
  h.engine.submit(slot, Target::PinnedReader, reader);
  CHECK_EQ(h.collect(1)[0], slot);
  return slot;
}

// One value of an InsertRows block, as lib/input/row-block.ts packs it.
struct Cell {
  ValueTag tag = ValueTag::Null;
  double number = 0;
  std::int64_t integer = 0;
  std::u16string text;
  std::string blob;
};
Cell num(double v) { return {ValueTag::Number, v, 0, {}, {}}; }
Cell big(std::int64_t v) { return {ValueTag::Bigint, 0, v, {}, {}}; }
Cell txt(std::u16string v) { return {ValueTag::Text, 0, 0, std::move(v), {}}; }
Cell blob(std::string v) { return {ValueTag::Blob, 0, 0, {}, std::move(v)}; }
Cell nul() { return {}; }

// Submits one InsertRows request of `rows` (each `columns` cells) through `sql`; returns its slot.
std::uint32_t submitRows(Harness& h, const std::string& sql, std::uint32_t columns, const std::vector<std::vector<Cell>>& rows,
                         std::uint64_t firstRow = 0, std::uint32_t requestFlags = 0) {
  const std::uint32_t slot = h.engine.acquireSlot();
  CHECK(slot != UINT32_MAX);
  Request& request = h.engine.request(slot);
  request.op = Op::InsertRows;
  request.flags = requestFlags;
  request.sql = sql;
  RowBlock& block = request.block;
  block.rows = static_cast<std::uint32_t>(rows.size());
  block.columns = columns;
  block.firstRow = firstRow;
  for (const auto& row : rows) {
    CHECK_EQ(row.size(), static_cast<std::size_t>(columns));
    for (const Cell& cell : row) {
      std::uint64_t bits = 0;
      double length = 0;
      switch (cell.tag) {
        case ValueTag::Number: std::memcpy(&bits, &cell.number, 8); break;
        case ValueTag::Bigint: std::memcpy(&bits, &cell.integer, 8); break;
        case ValueTag::Text:
          length = static_cast<double>(cell.text.size());
          std::memcpy(&bits, &length, 8);
          block.text += cell.text;
          break;
        case ValueTag::Blob:
          length = static_cast<double>(cell.blob.size());
          std::memcpy(&bits, &length, 8);
          block.blobs += cell.blob;
          break;
        case ValueTag::Null: break;
      }
      block.payloads.push_back(bits);
      block.tags.push_back(static_cast<std::uint8_t>(cell.tag));
    }
  }
  h.engine.submit(slot, Target::Writer);
  return slot;
}

// `count` rows (k, 'n<k>') from k = first.
std::vector<std::vector<Cell>> numbered(int first, int count) {
  std::vector<std::vector<Cell>> rows;
  for (int k = first; k < first + count; ++k) {
    std::u16string name = u"n";
    for (char c : std::to_string(k)) name += static_cast<char16_t>(c);
    rows.push_back({num(k), txt(name)});
  }
  return rows;
}

}  // namespace

TEST(batch_runs_every_statement_or_none) {
  TempDir dir;
  Harness h(configFor(dir.file("batch.db"), 1));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");

  std::uint32_t slot = runBatch(h, {{"INSERT INTO t(v) VALUES (?)", {Param::t("a")}, {}},
                                    {"INSERT INTO t(v) VALUES (:v)", {Param::t("b")}, {"v"}},
                                    {"UPDATE t SET v = v || '!'", {}, {}}});
  const Request& ok = h.engine.request(slot);
  CHECK_EQ(ok.status, Status::Rows);
  CHECK_EQ(ok.columnCount, 2u);
  CHECK_EQ(ok.cells.size(), std::size_t{6});  // changes and last insert rowid per statement
  CHECK_EQ(integerAt(ok, 0), std::int64_t{1});
  CHECK_EQ(integerAt(ok, 1), std::int64_t{1});
  CHECK_EQ(integerAt(ok, 2), std::int64_t{1});
  CHECK_EQ(integerAt(ok, 3), std::int64_t{2});
  CHECK_EQ(integerAt(ok, 4), std::int64_t{2});
  h.engine.releaseSlot(slot);

  // The second statement fails: the first is undone too, and the error names the statement.
  slot = runBatch(h, {{"INSERT INTO t(v) VALUES ('c')", {}, {}}, {"INSERT INTO t(v) VALUES ('a!')", {}, {}}});
  const Request& failed = h.engine.request(slot);
  CHECK_EQ(failed.status, Status::SqliteFailed);
  CHECK_EQ(failed.errcode, SQLITE_CONSTRAINT_UNIQUE);
  CHECK(failed.message.rfind("batch statement 2: ", 0) == 0);
  CHECK(failed.cells.empty());
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{2});

  // Transaction control and parameters that do not fit are refused before anything commits.
  slot = runBatch(h, {{"INSERT INTO t(v) VALUES ('d')", {}, {}}, {"COMMIT", {}, {}}});
  CHECK_EQ(h.engine.request(slot).status, Status::Misuse);
  CHECK(h.engine.request(slot).message.rfind("batch statement 2: transaction control", 0) == 0);
  h.engine.releaseSlot(slot);
  slot = runBatch(h, {{"INSERT INTO t(v) VALUES (?)", {}, {}}});
  CHECK_EQ(h.engine.request(slot).status, Status::BindFailed);
  CHECK(h.engine.request(slot).message.rfind("batch statement 1: ", 0) == 0);
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{2});

  // Inside an open transaction a failing batch rolls back only itself (its savepoint).
  h.roundTrip(Op::Exec, Target::Writer, "BEGIN IMMEDIATE", {}, RequestFlag::KeepTransaction);
  h.releaseLast();
  h.roundTrip(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES ('before')", {}, RequestFlag::KeepTransaction);
  h.releaseLast();
  slot = runBatch(h, {{"INSERT INTO t(v) VALUES ('inner')", {}, {}}, {"INSERT INTO t(v) VALUES ('before')", {}, {}}},
                  RequestFlag::KeepTransaction | RequestFlag::ExpectTransaction);
  CHECK_EQ(h.engine.request(slot).status, Status::SqliteFailed);
  h.engine.releaseSlot(slot);
  slot = runBatch(h, {{"INSERT INTO t(v) VALUES ('kept')", {}, {}}},
                  RequestFlag::KeepTransaction | RequestFlag::ExpectTransaction);
  CHECK_EQ(h.engine.request(slot).status, Status::Rows);
  h.engine.releaseSlot(slot);
  h.roundTrip(Op::Exec, Target::Writer, "COMMIT", {}, RequestFlag::KeepTransaction);
  h.releaseLast();
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{4});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t WHERE v = 'inner'"), std::int64_t{0});
  h.close();
}

// Groupable writes queued behind a write that waits for a lock all run in one transaction once
// it is free; the one that fails rolls back alone and the others commit together: only they
// count, and report the group (the failed one reports none).
TEST(group_commit_shares_one_transaction_and_a_failure_rolls_back_alone) {
  TempDir dir;
  const std::string path = dir.file("group.db");
  Harness h(configFor(path, 1));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER UNIQUE)");
  RawConnection other(path);
  other.exec("BEGIN IMMEDIATE");
  const std::uint32_t blocked = h.submit(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (-1)");
  constexpr int kWrites = 50;
  std::vector<std::uint32_t> writes;
  for (int i = 0; i < kWrites; ++i) {
    // The 21st repeats the 20th value: a UNIQUE violation inside the group.
    writes.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (?)", {Param::i(i == 20 ? 19 : i)},
                              RequestFlag::Groupable));
  }
  other.exec("COMMIT");
  std::vector<std::uint32_t> expected{blocked};
  expected.insert(expected.end(), writes.begin(), writes.end());
  CHECK(h.collect(expected.size()) == expected);  // FIFO, groups included
  CHECK_EQ(h.engine.request(blocked).status, Status::Done);
  CHECK_EQ(h.engine.request(blocked).group, std::uint64_t{0});
  h.engine.releaseSlot(blocked);
  const std::uint64_t group = h.engine.request(writes[0]).group;
  CHECK(group != 0);
  for (int i = 0; i < kWrites; ++i) {
    const Request& request = h.engine.request(writes[static_cast<std::size_t>(i)]);
    if (i == 20) {
      CHECK_EQ(request.status, Status::SqliteFailed);
      CHECK_EQ(request.errcode, SQLITE_CONSTRAINT_UNIQUE);
      CHECK_EQ(request.group, std::uint64_t{0});  // not committed: no part of the group
      CHECK_EQ(request.groupSize, std::uint32_t{0});
    } else {
      CHECK_EQ(request.status, Status::Done);
      CHECK_EQ(request.changes, std::int64_t{1});
      CHECK_EQ(request.group, group);
      CHECK_EQ(request.groupSize, std::uint32_t{kWrites - 1});
    }
    h.engine.releaseSlot(writes[static_cast<std::size_t>(i)]);
  }
  const EngineStats stats = h.engine.stats();
  CHECK_EQ(stats.groupCommits, std::uint64_t{1});
  CHECK_EQ(stats.groupedWrites, std::uint64_t{kWrites - 1});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{kWrites});  // -1 and 49 of 50
  h.close();
}

// A group whose COMMIT fails (one member left a deferred foreign key unresolved) fails only that
// member: the others run again alone and commit, as they would have without grouping.
TEST(group_commit_whose_commit_fails_fails_only_the_write_that_cannot_commit) {
  TempDir dir;
  const std::string path = dir.file("group-fk.db");
  Harness h(configFor(path, 1));
  h.open();
  h.mustRun(Op::Exec, Target::Writer,
            "PRAGMA foreign_keys = ON; CREATE TABLE p(id INTEGER PRIMARY KEY);"
            "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);"
            "INSERT INTO p(id) VALUES (1)");
  RawConnection other(path);
  other.exec("BEGIN IMMEDIATE");
  const std::uint32_t blocked = h.submit(Op::Run, Target::Writer, "INSERT INTO c(pid) VALUES (1)");
  constexpr int kWrites = 20;
  std::vector<std::uint32_t> writes;
  for (int i = 0; i < kWrites; ++i) {
    // The 8th refers to a parent that does not exist: only COMMIT finds out.
    writes.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO c(pid) VALUES (?)", {Param::i(i == 7 ? 99 : 1)},
                              RequestFlag::Groupable));
  }
  other.exec("COMMIT");
  std::vector<std::uint32_t> expected{blocked};
  expected.insert(expected.end(), writes.begin(), writes.end());
  CHECK(h.collect(expected.size()) == expected);
  h.engine.releaseSlot(blocked);
  for (int i = 0; i < kWrites; ++i) {
    const Request& request = h.engine.request(writes[static_cast<std::size_t>(i)]);
    // The group rolled back and each member ran alone: none reports a group.
    CHECK_EQ(request.group, std::uint64_t{0});
    CHECK_EQ(request.groupSize, std::uint32_t{0});
    if (i == 7) {
      CHECK_EQ(request.status, Status::SqliteFailed);
      CHECK_EQ(request.errcode, SQLITE_CONSTRAINT_FOREIGNKEY);
    } else {
      CHECK_EQ(request.status, Status::Done);
      CHECK_EQ(request.changes, std::int64_t{1});
    }
    h.engine.releaseSlot(writes[static_cast<std::size_t>(i)]);
  }
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM c"), std::int64_t{kWrites});  // 1 + 19 of 20
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM c WHERE pid = 99"), std::int64_t{0});
  // The group did not commit: stats() does not count it.
  CHECK_EQ(h.engine.stats().groupCommits, std::uint64_t{0});
  CHECK_EQ(h.engine.stats().groupedWrites, std::uint64_t{0});
  h.close();
}

namespace {

// Holds groupable inserts of `values` into t(v) behind `other`'s write lock: they reach the
// writer together, and it waits in their group's BEGIN IMMEDIATE. Returns their slots.
std::vector<std::uint32_t> groupWaitingForTheLock(Harness& h, const std::vector<int>& values) {
  std::vector<std::uint32_t> slots;
  for (int value : values) {
    slots.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO t(v) VALUES (?)", {Param::i(value)}, RequestFlag::Groupable));
  }
  std::this_thread::sleep_for(300ms);
  std::uint32_t early;
  h.engine.rearm();
  CHECK(!h.engine.popCompletion(early));
  CHECK(h.engine.stats().writerBusy);
  return slots;
}

// The same with `writes` inserts of 0, 1, 2...
std::vector<std::uint32_t> groupWaitingForTheLock(Harness& h, int writes) {
  std::vector<int> values;
  for (int i = 0; i < writes; ++i) values.push_back(i);
  return groupWaitingForTheLock(h, values);
}

}  // namespace

// A group waiting in its BEGIN IMMEDIATE for a lock another connection holds (no request is
// current then) stops waiting once every member is cancelled, long before busyTimeout; while one
// member is not cancelled, the group waits on for it, and commits it once the lock is free.
TEST(group_begin_waiting_for_the_lock_stops_once_every_member_is_cancelled) {
  TempDir dir;
  const std::string path = dir.file("group-cancel.db");
  constexpr int kWrites = 8;
  EngineConfig config = configFor(path, 1);  // busyTimeoutMs 5000
  config.groupMaxBatch = kWrites;
  config.groupMaxDelayMicros = 200000;  // the group waits until all of them joined it
  Harness h(std::move(config));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)");
  RawConnection other(path);

  other.exec("BEGIN IMMEDIATE");
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::uint32_t> slots = groupWaitingForTheLock(h, kWrites);
  for (int i = 0; i + 1 < kWrites; ++i) h.engine.cancel(slots[static_cast<std::size_t>(i)]);
  std::this_thread::sleep_for(300ms);
  std::uint32_t early;
  h.engine.rearm();
  CHECK(!h.engine.popCompletion(early));  // one member still wants the lock
  h.engine.cancel(slots.back());
  CHECK(h.collect(slots.size()) == slots);
  CHECK(std::chrono::steady_clock::now() - start < 3s);  // well before the 5 s busy timeout
  for (std::uint32_t slot : slots) {
    CHECK_EQ(h.engine.request(slot).status, Status::Cancelled);
    CHECK_EQ(h.engine.request(slot).group, std::uint64_t{0});  // nothing committed together
    CHECK_EQ(h.engine.request(slot).groupSize, std::uint32_t{0});
    h.engine.releaseSlot(slot);
  }
  CHECK_EQ(h.engine.stats().groupCommits, std::uint64_t{0});  // it never began
  other.exec("ROLLBACK");

  // One member cancelled, the lock let go: the others commit, as a group.
  other.exec("BEGIN IMMEDIATE");
  slots = groupWaitingForTheLock(h, kWrites);
  h.engine.cancel(slots[3]);
  other.exec("COMMIT");
  CHECK(h.collect(slots.size()) == slots);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const Request& request = h.engine.request(slots[i]);
    CHECK_EQ(request.status, i == 3 ? Status::Cancelled : Status::Done);
    // The cancelled member was not committed: no part of the group.
    CHECK_EQ(request.group != 0, i != 3);
    CHECK_EQ(request.groupSize, i == 3 ? std::uint32_t{0} : std::uint32_t{kWrites - 1});
    h.engine.releaseSlot(slots[i]);
  }
  CHECK_EQ(h.engine.stats().groupCommits, std::uint64_t{1});
  CHECK_EQ(h.engine.stats().groupedWrites, std::uint64_t{kWrites - 1});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{kWrites - 1});
  h.close();
}

// A group that commits counts, and reports to, only the members that committed, and only when
// two or more did: a member that failed (its savepoint rolled back) or was cancelled is left out,
// and a group in which one write committed is no group commit (it reports group 0, size 0).
TEST(group_commit_counts_only_members_that_committed_and_only_two_or_more) {
  TempDir dir;
  const std::string path = dir.file("group-members.db");
  constexpr int kWrites = 4;
  EngineConfig config = configFor(path, 1);
  config.groupMaxBatch = kWrites;
  config.groupMaxDelayMicros = 200000;  // the group waits until all of them joined it
  Harness h(std::move(config));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER UNIQUE); INSERT INTO t(v) VALUES (0), (1)");
  RawConnection other(path);
  const auto expectMembers = [&h](const std::vector<std::uint32_t>& slots, const std::vector<Status>& statuses,
                                  std::uint32_t groupSize) {
    CHECK(h.collect(slots.size()) == slots);
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const Request& request = h.engine.request(slots[i]);
      CHECK_EQ(request.status, statuses[i]);
      const bool inGroup = request.status == Status::Done && groupSize != 0;
      CHECK_EQ(request.group != 0, inGroup);
      CHECK_EQ(request.groupSize, inGroup ? groupSize : std::uint32_t{0});
      h.engine.releaseSlot(slots[i]);
    }
  };

  // 0 and 1 are taken, the third is cancelled: one write commits, which is no group commit.
  other.exec("BEGIN IMMEDIATE");
  std::vector<std::uint32_t> slots = groupWaitingForTheLock(h, {0, 1, 2, 3});
  h.engine.cancel(slots[2]);
  other.exec("COMMIT");
  expectMembers(slots, {Status::SqliteFailed, Status::SqliteFailed, Status::Cancelled, Status::Done}, 0);
  CHECK_EQ(h.engine.stats().groupCommits, std::uint64_t{0});
  CHECK_EQ(h.engine.stats().groupedWrites, std::uint64_t{0});

  // 0 and 3 are taken: two commit together, and only they count.
  other.exec("BEGIN IMMEDIATE");
  slots = groupWaitingForTheLock(h, {0, 10, 11, 3});
  other.exec("COMMIT");
  expectMembers(slots, {Status::SqliteFailed, Status::Done, Status::Done, Status::SqliteFailed}, 2);
  CHECK_EQ(h.engine.stats().groupCommits, std::uint64_t{1});
  CHECK_EQ(h.engine.stats().groupedWrites, std::uint64_t{2});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{5});  // 0, 1, 3, 10, 11
  h.close();
}

// An iteration on a pinned reader returns its rows in chunks, keeps its statement open between
// them, and ends (or is ended) cleanly.
TEST(iteration_returns_chunks_and_ends_cleanly) {
  TempDir dir;
  Harness h(configFor(dir.file("iterate.db"), 2));
  h.open();
  createItems(h, 25);
  Request& pin = h.roundTrip(Op::Pin, Target::Readers, "");
  const int reader = static_cast<int>(pin.changes);
  h.releaseLast();

  std::uint32_t slot = iterateOn(h, reader, Op::IterateStart, "SELECT id, name FROM items ORDER BY id");
  const Request* chunk = &h.engine.request(slot);
  CHECK_EQ(chunk->status, Status::RowsMore);
  CHECK(chunk->namesAttached);
  CHECK(chunk->columnNames == (std::vector<std::string>{"id", "name"}));
  CHECK_EQ(chunk->cells.size(), std::size_t{20});
  CHECK_EQ(integerAt(*chunk, 0), std::int64_t{1});
  CHECK_EQ(textAt(*chunk, 19), std::string("item-10"));
  h.engine.releaseSlot(slot);
  slot = iterateOn(h, reader, Op::IterateNext);
  chunk = &h.engine.request(slot);
  CHECK_EQ(chunk->status, Status::RowsMore);
  CHECK(!chunk->namesAttached);
  CHECK_EQ(chunk->cells.size(), std::size_t{20});
  CHECK_EQ(integerAt(*chunk, 0), std::int64_t{11});
  h.engine.releaseSlot(slot);
  slot = iterateOn(h, reader, Op::IterateNext);
  chunk = &h.engine.request(slot);
  CHECK_EQ(chunk->status, Status::Rows);  // the last chunk: the statement is done and finalized
  CHECK_EQ(chunk->cells.size(), std::size_t{10});
  CHECK_EQ(integerAt(*chunk, 8), std::int64_t{25});
  h.engine.releaseSlot(slot);
  slot = iterateOn(h, reader, Op::IterateNext);
  CHECK_EQ(h.engine.request(slot).status, Status::Misuse);
  h.engine.releaseSlot(slot);

  // A write cannot be iterated on a reader.
  slot = iterateOn(h, reader, Op::IterateStart, "DELETE FROM items RETURNING id");
  CHECK_EQ(h.engine.request(slot).status, Status::NeedsWriter);
  h.engine.releaseSlot(slot);
  // Ended early: IterateEnd finalizes the open statement.
  slot = iterateOn(h, reader, Op::IterateStart, "SELECT id FROM items");
  CHECK_EQ(h.engine.request(slot).status, Status::RowsMore);
  h.engine.releaseSlot(slot);
  slot = iterateOn(h, reader, Op::IterateEnd);
  CHECK_EQ(h.engine.request(slot).status, Status::Done);
  h.engine.releaseSlot(slot);
  slot = iterateOn(h, reader, Op::IterateNext);
  CHECK_EQ(h.engine.request(slot).status, Status::Misuse);
  h.engine.releaseSlot(slot);

  Request& unpin = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, reader);
  CHECK_EQ(unpin.status, Status::Done);
  h.releaseLast();
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM items"), std::int64_t{25});
  h.close();
}

TEST(insert_rows_binds_every_kind_of_value_in_its_own_transaction) {
  TempDir dir;
  Harness h(configFor(dir.file("rows.db")));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE v(a, b, c)");
  // 150 rows: two groups of 64 rows and 22 rows one by one.
  std::vector<std::vector<Cell>> rows;
  for (int i = 0; i < 150; ++i) {
    rows.push_back({num(i), num(i + 0.5), txt(u"\u00e9t\u00e9 \U0001F600")});
  }
  rows[3] = {num(-0.0), big(INT64_MIN), blob(std::string("\0\x01\xff", 3))};
  rows[70] = {nul(), blob(""), big(INT64_MAX)};
  rows[149] = {num(9007199254740992.0), txt(u""), num(1e300)};
  const std::uint32_t slot = submitRows(h, "INSERT INTO \"v\" (\"a\", \"b\", \"c\") VALUES (?, ?, ?)", 3, rows);
  CHECK_EQ(h.collect(1)[0], slot);
  CHECK_EQ(h.engine.request(slot).status, Status::Done);
  CHECK_EQ(h.engine.request(slot).changes, std::int64_t{150});
  CHECK_EQ(h.engine.request(slot).lastInsertRowid, std::int64_t{150});
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM v"), std::int64_t{150});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM v WHERE typeof(a) = 'integer' AND typeof(b) = 'real' AND c = '\u00e9t\u00e9 \U0001F600'"), std::int64_t{147});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT typeof(a) = 'real' AND a = 0 AND b = -9223372036854775808 AND hex(c) = '0001FF' FROM v WHERE rowid = 4"), std::int64_t{1});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT a IS NULL AND typeof(b) = 'blob' AND length(b) = 0 AND c = 9223372036854775807 FROM v WHERE rowid = 71"), std::int64_t{1});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT typeof(a) = 'real' AND b = '' AND typeof(b) = 'text' AND c = 1e300 FROM v WHERE rowid = 150"), std::int64_t{1});
  h.close();
}

TEST(insert_rows_failing_row_is_named_and_its_block_leaves_nothing) {
  TempDir dir;
  Harness h(configFor(dir.file("rows.db")));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE u(k INTEGER UNIQUE, name TEXT)");
  auto rows = numbered(0, 300);
  rows[200] = {num(5), txt(u"again")};  // inside the fourth group of 64
  const std::uint32_t slot = submitRows(h, "INSERT INTO \"u\" (\"k\", \"name\") VALUES (?, ?)", 2, rows, 1000);
  CHECK_EQ(h.collect(1)[0], slot);
  const Request& failed = h.engine.request(slot);
  CHECK_EQ(failed.status, Status::SqliteFailed);
  CHECK_EQ(failed.errcode, SQLITE_CONSTRAINT_UNIQUE);
  CHECK(failed.message.rfind("rows[1200]: ", 0) == 0);
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM u"), std::int64_t{0});
  // ON CONFLICT IGNORE applies row by row, as it would to single INSERTs.
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE ig(k INTEGER UNIQUE ON CONFLICT IGNORE, name TEXT)");
  auto again = numbered(0, 200);
  for (int i = 100; i < 200; ++i) again[i][0] = num(i % 50);
  const std::uint32_t ignored = submitRows(h, "INSERT INTO \"ig\" (\"k\", \"name\") VALUES (?, ?)", 2, again);
  CHECK_EQ(h.collect(1)[0], ignored);
  CHECK_EQ(h.engine.request(ignored).status, Status::Done);
  CHECK_EQ(h.engine.request(ignored).changes, std::int64_t{100});
  h.engine.releaseSlot(ignored);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM ig"), std::int64_t{100});
  h.close();
}

TEST(insert_rows_blocks_share_an_open_transaction) {
  TempDir dir;
  Harness h(configFor(dir.file("rows.db")));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE u(k INTEGER UNIQUE, name TEXT)");
  const std::string sql = "INSERT INTO \"u\" (\"k\", \"name\") VALUES (?, ?)";
  const std::uint32_t keep = RequestFlag::KeepTransaction | RequestFlag::ExpectTransaction;
  CHECK_EQ(h.roundTrip(Op::Exec, Target::Writer, "BEGIN IMMEDIATE", {}, RequestFlag::KeepTransaction).status, Status::Done);
  h.releaseLast();
  std::vector<std::uint32_t> slots = {submitRows(h, sql, 2, numbered(0, 1000), 0, keep), submitRows(h, sql, 2, numbered(1000, 1000), 1000, keep),
                                      submitRows(h, sql, 2, numbered(1500, 10), 2000, keep)};
  const auto done = h.collect(slots.size());
  CHECK(done == slots);
  CHECK_EQ(h.engine.request(slots[0]).changes, std::int64_t{1000});
  CHECK_EQ(h.engine.request(slots[1]).changes, std::int64_t{1000});
  CHECK_EQ(h.engine.request(slots[2]).status, Status::SqliteFailed);
  CHECK(h.engine.request(slots[2]).message.rfind("rows[2000]: ", 0) == 0);
  for (std::uint32_t slot : slots) h.engine.releaseSlot(slot);
  // Nothing is committed until the transaction is: a reader sees no row yet.
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM u"), std::int64_t{0});
  CHECK_EQ(h.roundTrip(Op::Exec, Target::Writer, "COMMIT", {}, RequestFlag::KeepTransaction).status, Status::Done);
  h.releaseLast();
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM u"), std::int64_t{2000});
  h.close();
}

// An iteration started from the shared ring with RequestFlag::HoldReader: a result that fits its
// first chunk ends there and pins nothing; a longer one pins the reader that ran it (plain reads
// go to the other reader) until its last chunk, an IterateEnd, or (for a first chunk that will
// fail as IntegerOverflow) at once; a cancelled chunk keeps it held until IterateEnd.
TEST(iteration_from_the_shared_ring_holds_its_reader_only_while_rows_remain) {
  TempDir dir;
  Harness h(configFor(dir.file("hold.db"), 2));
  h.open();
  createItems(h, 25);
  const auto start = [&](std::string sql, std::uint32_t rows, bool cancelled = false) {
    const std::uint32_t slot = h.engine.acquireSlot();
    CHECK(slot != UINT32_MAX);
    Request& request = h.engine.request(slot);
    request.op = Op::IterateStart;
    request.flags = RequestFlag::HoldReader;
    request.sql = std::move(sql);
    request.chunkRows = rows;
    if (cancelled) request.cancelled.store(true);
    h.engine.submit(slot, Target::Readers, -1);
    CHECK_EQ(h.collect(1)[0], slot);
    return slot;
  };
  const char* all = "SELECT id FROM items ORDER BY id";

  // 25 rows in a 25-row chunk: one round trip, Status::Rows, nothing held.
  std::uint32_t slot = start(all, 25);
  CHECK_EQ(h.engine.request(slot).status, Status::Rows);
  CHECK_EQ(h.engine.request(slot).cells.size(), std::size_t{25});
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.engine.pinnedReaders(), 0);

  // 25 rows in chunks of 10: held from the first chunk to the last.
  slot = start(all, 10);
  CHECK_EQ(h.engine.request(slot).status, Status::RowsMore);
  const int reader = h.engine.request(slot).worker;
  h.engine.releaseSlot(slot);
  CHECK(reader >= 0);
  CHECK_EQ(h.engine.pinnedReaders(), 1);
  for (int i = 0; i < 20; ++i) {
    Request& read = h.roundTrip(Op::Get, Target::Readers, "SELECT count(*) FROM items");
    CHECK_EQ(read.status, Status::Rows);
    CHECK(read.worker != reader);
    h.releaseLast();
  }
  slot = iterateOn(h, reader, Op::IterateNext);
  CHECK_EQ(h.engine.request(slot).status, Status::RowsMore);
  CHECK_EQ(integerAt(h.engine.request(slot), 0), std::int64_t{11});
  h.engine.releaseSlot(slot);
  slot = iterateOn(h, reader, Op::IterateNext);
  CHECK_EQ(h.engine.request(slot).status, Status::Rows);
  CHECK_EQ(h.engine.request(slot).cells.size(), std::size_t{5});
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.engine.pinnedReaders(), 0);

  // Ended early by IterateEnd; a cancelled chunk in between leaves it held.
  slot = start(all, 10);
  const int again = h.engine.request(slot).worker;
  h.engine.releaseSlot(slot);
  {
    const std::uint32_t next = h.engine.acquireSlot();
    Request& request = h.engine.request(next);
    request.op = Op::IterateNext;
    request.chunkRows = 10;
    request.cancelled.store(true);
    h.engine.submit(next, Target::PinnedReader, again);
    CHECK_EQ(h.collect(1)[0], next);
    CHECK_EQ(h.engine.request(next).status, Status::Cancelled);
    h.engine.releaseSlot(next);
  }
  CHECK_EQ(h.engine.pinnedReaders(), 1);
  slot = iterateOn(h, again, Op::IterateEnd);
  CHECK_EQ(h.engine.request(slot).status, Status::Done);
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.engine.pinnedReaders(), 0);

  // A first chunk holding an integer beyond a JS number (no SafeIntegers) holds nothing.
  slot = start("SELECT 9007199254740993 FROM items", 10);
  CHECK_EQ(h.engine.request(slot).status, Status::RowsMore);
  const int overflowed = h.engine.request(slot).worker;
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.engine.pinnedReaders(), 0);
  slot = iterateOn(h, overflowed, Op::IterateNext);
  CHECK_EQ(h.engine.request(slot).status, Status::Misuse);  // nothing left open
  h.engine.releaseSlot(slot);

  // Cancelled before it ran: nothing held.
  slot = start(all, 10, /*cancelled=*/true);
  CHECK_EQ(h.engine.request(slot).status, Status::Cancelled);
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.engine.pinnedReaders(), 0);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM items"), std::int64_t{25});
  h.close();
}

// An iteration's first chunk with RequestFlag::FirstChunkOnly (lib/ had no reader to spare for
// it): a result that fits comes back whole; a longer one comes back as its first chunk
// (RowsMore) with the statement already ended, and the reader that ran it stays in the shared
// ring.
TEST(a_first_chunk_only_iteration_never_holds_its_reader) {
  TempDir dir;
  Harness h(configFor(dir.file("first-chunk.db"), 2));
  h.open();
  createItems(h, 25);
  const auto start = [&](std::uint32_t rows) {
    const std::uint32_t slot = h.engine.acquireSlot();
    CHECK(slot != UINT32_MAX);
    Request& request = h.engine.request(slot);
    request.op = Op::IterateStart;
    request.flags = RequestFlag::FirstChunkOnly;
    request.sql = "SELECT id FROM items ORDER BY id";
    request.chunkRows = rows;
    h.engine.submit(slot, Target::Readers, -1);
    CHECK_EQ(h.collect(1)[0], slot);
    return slot;
  };

  std::uint32_t slot = start(25);
  CHECK_EQ(h.engine.request(slot).status, Status::Rows);
  CHECK_EQ(h.engine.request(slot).cells.size(), std::size_t{25});
  h.engine.releaseSlot(slot);
  CHECK_EQ(h.engine.pinnedReaders(), 0);

  slot = start(10);
  CHECK_EQ(h.engine.request(slot).status, Status::RowsMore);
  CHECK_EQ(h.engine.request(slot).cells.size(), std::size_t{10});
  const int reader = h.engine.request(slot).worker;
  h.engine.releaseSlot(slot);
  CHECK(reader >= 0);
  CHECK_EQ(h.engine.pinnedReaders(), 0);
  slot = iterateOn(h, reader, Op::IterateNext);
  CHECK_EQ(h.engine.request(slot).status, Status::Misuse);  // the statement ended with its first chunk
  h.engine.releaseSlot(slot);
  // Both readers serve plain reads: the one that ran the chunk holds no read transaction.
  for (int i = 0; i < 20; ++i) CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM items"), std::int64_t{25});
  h.close();
}

// A Reopen (the keeper replacing a reader's connection) that reaches a reader a Pin or an
// iteration took meanwhile replaces nothing (changes 0): the lease's transaction and the
// iteration's statement go on. On a free reader, or one the keeper's own Reopen left pinned, it
// replaces the connection (changes 1), and the reader stays pinned until Unpin.
TEST(a_reopen_never_replaces_the_connection_of_a_lease_or_an_iteration) {
  TempDir dir;
  Harness h(configFor(dir.file("reopen.db"), 1));
  h.open();
  createItems(h, 25);
  const auto reopen = [&](int reader) {
    Request& request = h.roundTrip(Op::Reopen, Target::PinnedReader, "", {}, 0, reader);
    CHECK_EQ(request.status, Status::Done);
    const std::int64_t replaced = request.changes;
    h.releaseLast();
    return replaced;
  };
  const auto unpin = [&](int reader) {
    Request& request = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, reader);
    CHECK_EQ(request.status, Status::Done);
    h.releaseLast();
  };

  // A lease's reader, inside a transaction.
  Request& pin = h.roundTrip(Op::Pin, Target::Readers, "");
  const int reader = static_cast<int>(pin.changes);
  h.releaseLast();
  Request& begin = h.roundTrip(Op::Exec, Target::PinnedReader, "BEGIN", {}, RequestFlag::KeepTransaction, reader);
  CHECK_EQ(begin.status, Status::Done);
  h.releaseLast();
  Request& before = h.roundTrip(Op::Get, Target::PinnedReader, "SELECT count(*) FROM items", {}, RequestFlag::KeepTransaction, reader);
  CHECK_EQ(integerAt(before, 0), std::int64_t{25});
  h.releaseLast();
  h.mustRun(Op::Run, Target::Writer, "INSERT INTO items(id, name, score) VALUES (26, 'late', 0)");
  CHECK_EQ(reopen(reader), std::int64_t{0});
  // Same connection, same snapshot.
  Request& count = h.roundTrip(Op::Get, Target::PinnedReader, "SELECT count(*) FROM items", {}, RequestFlag::KeepTransaction, reader);
  CHECK_EQ(count.status, Status::Rows);
  CHECK_EQ(integerAt(count, 0), std::int64_t{25});
  h.releaseLast();
  unpin(reader);

  // An iteration holding the reader it started on.
  const std::uint32_t slot = h.engine.acquireSlot();
  Request& start = h.engine.request(slot);
  start.op = Op::IterateStart;
  start.flags = RequestFlag::HoldReader;
  start.sql = "SELECT id FROM items ORDER BY id";
  start.chunkRows = 10;
  h.engine.submit(slot, Target::Readers, -1);
  CHECK_EQ(h.collect(1)[0], slot);
  CHECK_EQ(h.engine.request(slot).status, Status::RowsMore);
  h.engine.releaseSlot(slot);
  CHECK_EQ(reopen(reader), std::int64_t{0});
  const std::uint32_t next = iterateOn(h, reader, Op::IterateNext);
  CHECK_EQ(h.engine.request(next).status, Status::RowsMore);
  CHECK_EQ(integerAt(h.engine.request(next), 0), std::int64_t{11});
  h.engine.releaseSlot(next);
  const std::uint32_t end = iterateOn(h, reader, Op::IterateEnd);
  CHECK_EQ(h.engine.request(end).status, Status::Done);
  h.engine.releaseSlot(end);
  CHECK_EQ(h.engine.pinnedReaders(), 0);

  // A free reader is replaced and stays pinned; a second Reopen (a retry) replaces it again.
  CHECK_EQ(reopen(reader), std::int64_t{1});
  CHECK_EQ(h.engine.pinnedReaders(), 1);
  CHECK_EQ(reopen(reader), std::int64_t{1});
  unpin(reader);
  CHECK_EQ(h.engine.pinnedReaders(), 0);
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM items"), std::int64_t{26});
  h.close();
}

TEST_MAIN()
