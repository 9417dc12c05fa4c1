// Owns the engine tests of single requests and reads (engine.h, connection.h) against real SQLite
// database files: opening the writer and query_only readers, values through parameters and cells,
// errors per request, routing a write that reached a reader, and many concurrent reads answered
// with exactly what was asked. Fixtures: pool_harness.h.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "check.h"
#include "pool_harness.h"

using namespace litepool;
using namespace litepool::test;
using namespace std::chrono_literals;

TEST(opens_writer_and_query_only_readers) {
  TempDir dir;
  Harness h(configFor(dir.file("open.db")));
  h.open();
  CHECK_EQ(h.engine.readerCount(), 4);
  Request& mode = h.roundTrip(Op::Get, Target::Writer, "PRAGMA journal_mode");
  CHECK_EQ(mode.status, Status::Rows);
  CHECK_EQ(textAt(mode, 0), std::string("wal"));
  h.releaseLast();
  CHECK_EQ(h.scalar(Target::Writer, "PRAGMA query_only"), std::int64_t{0});
  for (int i = 0; i < 8; ++i) CHECK_EQ(h.scalar(Target::Readers, "PRAGMA query_only"), std::int64_t{1});
  const EngineStats stats = h.engine.stats();
  CHECK_EQ(stats.readers, 4);
  CHECK_EQ(stats.slotsInUse, 0u);
  CHECK_EQ(stats.readerCompleted, std::uint64_t{8});  // requests run (opens are not counted)
  CHECK_EQ(stats.writerCompleted, std::uint64_t{2});
  h.close();
}

TEST(values_round_trip_through_params_and_cells) {
  TempDir dir;
  Harness h(configFor(dir.file("values.db")));
  h.open();
  h.mustRun(Op::Exec, Target::Writer,
            "CREATE TABLE v(id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n);"
            "CREATE INDEX v_i ON v(i);");
  const std::string blob("\x00\x01\xff\x00zz", 6);
  const std::string unicode = "gr\xc3\xbc\xc3\x9f dich \xf0\x9f\x91\x8b";
  Request& insert = h.roundTrip(Op::Run, Target::Writer, "INSERT INTO v(i, r, t, b, n) VALUES (?, ?, ?, ?, ?)",
                                {Param::i(INT64_MIN), Param::r(-2.5), Param::t(unicode), Param::b(blob), Param::null()});
  CHECK_EQ(insert.status, Status::Done);
  CHECK_EQ(insert.changes, std::int64_t{1});
  CHECK_EQ(insert.lastInsertRowid, std::int64_t{1});
  h.releaseLast();
  const std::uint32_t named = h.submitNamed(Op::Run, Target::Writer, "INSERT INTO v(i, t, b) VALUES (:i, @t, $i + 1)",
                                            {{"t", Param::t("plain")}, {"i", Param::i(INT64_MAX - 1)}});
  CHECK_EQ(h.collect(1)[0], named);
  CHECK_EQ(h.engine.request(named).status, Status::Done);
  CHECK_EQ(h.engine.request(named).lastInsertRowid, std::int64_t{2});
  h.engine.releaseSlot(named);
  CHECK_EQ(h.mustRun(Op::Run, Target::Writer, "INSERT INTO v(t, b) VALUES ('', ?)", {Param::b("")}), std::int64_t{1});

  Request& row = h.roundTrip(Op::Get, Target::Readers, "SELECT id, i, r, t, b, n FROM v WHERE id = ?", {Param::i(1)});
  CHECK_EQ(row.status, Status::Rows);
  CHECK_EQ(row.columnCount, 6u);
  CHECK_EQ(row.cells.size(), std::size_t{6});
  CHECK(row.namesAttached);  // the first run of a statement on a connection reports its names
  CHECK(row.columnNames == (std::vector<std::string>{"id", "i", "r", "t", "b", "n"}));
  CHECK_EQ(integerAt(row, 0), std::int64_t{1});
  CHECK_EQ(integerAt(row, 1), INT64_MIN);
  CHECK_EQ(row.cells[2].type, ValueType::Real);
  CHECK_EQ(row.cells[2].real, -2.5);
  CHECK_EQ(textAt(row, 3), unicode);
  CHECK(!row.cells[3].ascii);
  CHECK_EQ(row.cells[4].type, ValueType::Blob);
  CHECK(bytesOf(row, row.cells[4]) == blob);
  CHECK_EQ(row.cells[5].type, ValueType::Null);
  h.releaseLast();

  Request& all = h.roundTrip(Op::All, Target::Readers, "SELECT i, t, typeof(b), length(b) FROM v ORDER BY id", {},
                             RequestFlag::WantNames);
  CHECK_EQ(all.status, Status::Rows);
  CHECK_EQ(all.columnCount, 4u);
  CHECK_EQ(all.cells.size(), std::size_t{12});
  CHECK(all.namesAttached);
  CHECK_EQ(integerAt(all, 4), INT64_MAX - 1);
  CHECK_EQ(textAt(all, 5), std::string("plain"));
  CHECK(all.cells[5].ascii);
  CHECK_EQ(textAt(all, 6), std::string("integer"));  // $i + 1 bound the same named value
  CHECK_EQ(textAt(all, 9), std::string(""));
  CHECK_EQ(textAt(all, 10), std::string("blob"));  // an empty blob stays a blob
  CHECK_EQ(integerAt(all, 11), std::int64_t{0});
  h.releaseLast();

  // Get stops at the first row; All of an empty result is Rows with no cells.
  Request& first = h.roundTrip(Op::Get, Target::Readers, "SELECT id FROM v ORDER BY id DESC");
  CHECK_EQ(first.cells.size(), std::size_t{1});
  CHECK_EQ(integerAt(first, 0), std::int64_t{3});
  h.releaseLast();
  Request& none = h.roundTrip(Op::All, Target::Readers, "SELECT id FROM v WHERE id > 100");
  CHECK_EQ(none.status, Status::Rows);
  CHECK(none.cells.empty());
  CHECK_EQ(none.columnCount, 1u);
  h.releaseLast();
  h.close();
}

TEST(errors_are_reported_per_request) {
  TempDir dir;
  Harness h(configFor(dir.file("errors.db")));
  h.open();
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  h.mustRun(Op::Run, Target::Writer, "INSERT INTO t VALUES (1, 'one')");

  Request& syntax = h.roundTrip(Op::All, Target::Readers, "SELEKT 1");
  CHECK_EQ(syntax.status, Status::SqliteFailed);
  CHECK_EQ(syntax.errcode, SQLITE_ERROR);
  CHECK(syntax.message.find("syntax error") != std::string::npos);
  h.releaseLast();

  Request& duplicate = h.roundTrip(Op::Run, Target::Writer, "INSERT INTO t VALUES (1, 'again')");
  CHECK_EQ(duplicate.status, Status::SqliteFailed);
  CHECK_EQ(duplicate.errcode, SQLITE_CONSTRAINT_PRIMARYKEY);
  h.releaseLast();

  Request& notNull = h.roundTrip(Op::Run, Target::Writer, "INSERT INTO t VALUES (2, ?)", {Param::null()});
  CHECK_EQ(notNull.status, Status::SqliteFailed);
  CHECK_EQ(notNull.errcode, SQLITE_CONSTRAINT_NOTNULL);
  h.releaseLast();

  Request& two = h.roundTrip(Op::Get, Target::Readers, "SELECT 1; SELECT 2");
  CHECK_EQ(two.status, Status::Misuse);
  h.releaseLast();
  Request& comment = h.roundTrip(Op::Get, Target::Readers, "SELECT 1; -- only a comment follows");
  CHECK_EQ(comment.status, Status::Rows);
  h.releaseLast();
  Request& empty = h.roundTrip(Op::Get, Target::Readers, "  ");
  CHECK_EQ(empty.status, Status::Misuse);
  h.releaseLast();

  Request& count = h.roundTrip(Op::Get, Target::Readers, "SELECT v FROM t WHERE id = ?", {Param::i(1), Param::i(2)});
  CHECK_EQ(count.status, Status::BindFailed);
  h.releaseLast();
  const std::uint32_t unknown = h.submitNamed(Op::Get, Target::Readers, "SELECT v FROM t WHERE id = :id",
                                              {{"id", Param::i(1)}, {"extra", Param::i(2)}});
  h.collect(1);
  CHECK_EQ(h.engine.request(unknown).status, Status::BindFailed);
  h.engine.releaseSlot(unknown);

  // A statement that leaves a transaction open is rolled back, and the writer stays usable.
  Request& begin = h.roundTrip(Op::Run, Target::Writer, "BEGIN");
  CHECK_EQ(begin.status, Status::Misuse);
  h.releaseLast();
  h.mustRun(Op::Run, Target::Writer, "INSERT INTO t VALUES (3, 'three')");
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM t"), std::int64_t{2});
  h.close();
}

TEST(reader_given_a_write_answers_needs_writer) {
  TempDir dir;
  Harness h(configFor(dir.file("route.db")));
  h.open();
  createItems(h, 10);
  for (const char* sql : {"INSERT INTO items(name) VALUES ('sneaky')", "UPDATE items SET name = 'x'",
                          "DELETE FROM items", "CREATE TABLE other(x)", "DROP TABLE items",
                          "INSERT INTO items(name) VALUES ('r') RETURNING id"}) {
    for (Op op : {Op::Get, Op::All, Op::Run}) {
      Request& request = h.roundTrip(op, Target::Readers, sql);
      CHECK_EQ(request.status, Status::NeedsWriter);
      CHECK(request.cells.empty());
      h.releaseLast();
    }
  }
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM items"), std::int64_t{10});
  // Forwarded to the writer (what lib/ does with NeedsWriter), the same statement runs.
  Request& returning = h.roundTrip(Op::Get, Target::Writer, "INSERT INTO items(name) VALUES ('r') RETURNING id");
  CHECK_EQ(returning.status, Status::Rows);
  CHECK_EQ(integerAt(returning, 0), std::int64_t{11});
  h.releaseLast();
  CHECK_EQ(h.mustRun(Op::Run, Target::Writer, "UPDATE items SET name = 'x' WHERE id <= 3"), std::int64_t{3});
  CHECK_EQ(h.scalar(Target::Readers, "SELECT count(*) FROM items WHERE name = 'x'"), std::int64_t{3});
  h.close();
}

TEST(concurrent_reads_return_what_was_asked) {
  TempDir dir;
  Harness h(configFor(dir.file("reads.db")));
  h.open();
  constexpr int kRows = 1000;
  createItems(h, kRows);
  const std::uint64_t writerBefore = h.engine.stats().writerCompleted;
  const std::uint64_t readersBefore = h.engine.stats().readerCompleted;

  constexpr int kReads = 20'000;
  constexpr std::size_t kWindow = 2000;  // requests in flight at once
  struct Asked {
    bool range;
    int id;
  };
  std::unordered_map<std::uint32_t, Asked> inFlight;
  std::mt19937 random(42);
  int submitted = 0;
  int checked = 0;
  std::vector<std::uint32_t> done;
  while (checked < kReads) {
    while (submitted < kReads && inFlight.size() < kWindow) {
      const int id = 1 + static_cast<int>(random() % kRows);
      const bool range = submitted % 10 == 9;
      const std::uint32_t slot =
          range ? h.submit(Op::All, Target::Readers, "SELECT id, name FROM items WHERE id BETWEEN ? AND ? ORDER BY id",
                           {Param::i(id), Param::i(id + 9)})
                : h.submit(Op::Get, Target::Readers, "SELECT id, name, score, id * 3 FROM items WHERE id = ?", {Param::i(id)});
      CHECK(inFlight.emplace(slot, Asked{range, id}).second);
      ++submitted;
    }
    done.clear();
    h.drainInto(done, 1);
    for (std::uint32_t slot : done) {
      const auto it = inFlight.find(slot);
      CHECK(it != inFlight.end());  // completed once, and only what was submitted
      const Asked asked = it->second;
      inFlight.erase(it);
      const Request& request = h.engine.request(slot);
      CHECK_EQ(request.status, Status::Rows);
      if (asked.range) {
        const int last = std::min(asked.id + 9, kRows);
        CHECK_EQ(request.columnCount, 2u);
        CHECK_EQ(request.cells.size(), static_cast<std::size_t>(2 * (last - asked.id + 1)));
        for (int id = asked.id; id <= last; ++id) {
          const std::size_t row = static_cast<std::size_t>(id - asked.id) * 2;
          CHECK_EQ(integerAt(request, row), std::int64_t{id});
          CHECK_EQ(textAt(request, row + 1), "item-" + std::to_string(id));
        }
      } else {
        CHECK_EQ(request.columnCount, 4u);
        CHECK_EQ(request.cells.size(), std::size_t{4});
        CHECK_EQ(integerAt(request, 0), std::int64_t{asked.id});
        CHECK_EQ(textAt(request, 1), "item-" + std::to_string(asked.id));
        CHECK_EQ(request.cells[2].type, ValueType::Real);
        CHECK_EQ(request.cells[2].real, asked.id * 0.5);
        CHECK_EQ(integerAt(request, 3), std::int64_t{asked.id} * 3);
      }
      h.engine.releaseSlot(slot);
      ++checked;
    }
  }
  CHECK(inFlight.empty());
  const EngineStats stats = h.engine.stats();
  CHECK_EQ(stats.readerCompleted - readersBefore, std::uint64_t{kReads});
  CHECK_EQ(stats.writerCompleted, writerBefore);  // reads never touched the writer
  CHECK_EQ(stats.slotsInUse, 0u);
  CHECK(h.listener.notifications() > 0);
  h.close();
}

TEST_MAIN()
