// Owns the tests of the native engine (engine.h, connection.h) against real SQLite database
// files in a temporary directory.
//
// The test's main thread plays the JS thread: it alone acquires slots, submits, drains
// completions and releases slots, as engine.h requires. A CompletionListener built on a mutex and
// a condition variable stands in for the addon's thread-safe function. Each test checks results
// value by value (request.cells), so a request answered with another request's data, answered
// twice, or lost fails the test.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "check.h"
#include "engine.h"

using namespace litepool;
using namespace std::chrono_literals;

namespace {

// ---- fixtures ----

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    const auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0;; ++attempt) {
      path_ = base / ("litepool-test-" + std::to_string(random()) + std::to_string(attempt));
      if (std::filesystem::create_directory(path_)) break;
      CHECK(attempt < 100);
    }
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Wakes the test's main thread when the completion ring turns non-empty.
class WaitingListener final : public CompletionListener {
 public:
  // Worker threads.
  void onCompletionsReady() noexcept override {
    notifications_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_ = true;
    }
    wakeup_.notify_one();
  }

  // Main thread: true when notified within `timeout`; consumes the notification.
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool notified = wakeup_.wait_for(lock, timeout, [this] { return ready_; });
    ready_ = false;
    return notified;
  }

  std::uint64_t notifications() const { return notifications_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool ready_ = false;
  std::atomic<std::uint64_t> notifications_{0};
};

// One bound parameter, as the JS side would encode it.
struct Param {
  ValueType type = ValueType::Null;
  std::int64_t integer = 0;
  double real = 0;
  std::string bytes;

  static Param null() { return {}; }
  static Param i(std::int64_t v) { return {ValueType::Integer, v, 0, {}}; }
  static Param r(double v) { return {ValueType::Real, 0, v, {}}; }
  static Param t(std::string v) { return {ValueType::Text, 0, 0, std::move(v)}; }
  static Param b(std::string v) { return {ValueType::Blob, 0, 0, std::move(v)}; }
};

void addParam(Request& request, const Param& param) {
  Value value;
  value.type = param.type;
  switch (param.type) {
    case ValueType::Integer: value.integer = param.integer; break;
    case ValueType::Real: value.real = param.real; break;
    case ValueType::Text:
    case ValueType::Blob:
      value.offset = request.paramBytes.size();
      value.length = static_cast<std::uint32_t>(param.bytes.size());
      request.paramBytes += param.bytes;
      break;
    case ValueType::Null: break;
  }
  request.params.push_back(value);
}

std::string bytesOf(const Request& request, const Value& cell) {
  CHECK(cell.type == ValueType::Text || cell.type == ValueType::Blob);
  CHECK(cell.offset + cell.length <= request.cellBytes.size());
  return request.cellBytes.substr(cell.offset, cell.length);
}

std::int64_t integerAt(const Request& request, std::size_t index) {
  CHECK(index < request.cells.size());
  CHECK_EQ(request.cells[index].type, ValueType::Integer);
  return request.cells[index].integer;
}

std::string textAt(const Request& request, std::size_t index) {
  CHECK(index < request.cells.size());
  CHECK_EQ(request.cells[index].type, ValueType::Text);
  return bytesOf(request, request.cells[index]);
}

EngineConfig configFor(const std::string& path, int readers = 4) {
  EngineConfig config;
  config.connection.path = path;
  config.connection.busyTimeoutMs = 5000;
  config.readers = readers;
  config.slots = 4096;
  return config;
}

// The engine seen from its owning ("JS") thread: submit, drain, release. Every method runs on
// the test's main thread.
class Harness {
 public:
  explicit Harness(EngineConfig config) : engine(std::move(config), &listener) {}

  // Starts the writer and the readers and checks that every connection opened.
  void open() {
    const std::uint32_t writerOpen = engine.startWriter();
    for (std::uint32_t slot : collect(1)) {
      CHECK_EQ(slot, writerOpen);
      expectOpened(slot);
    }
    const std::vector<std::uint32_t> readerOpens = engine.startReaders();
    CHECK_EQ(readerOpens.size(), static_cast<std::size_t>(engine.config().readers));
    const std::set<std::uint32_t> expected(readerOpens.begin(), readerOpens.end());
    std::set<std::uint32_t> got;
    for (std::uint32_t slot : collect(readerOpens.size())) {
      got.insert(slot);
      expectOpened(slot);
    }
    CHECK(got == expected);
  }

  // Fills a fresh request and hands it to the workers; returns its slot.
  // `reader` picks the reader for Target::PinnedReader.
  std::uint32_t submit(Op op, Target target, std::string sql, std::initializer_list<Param> params = {},
                       std::uint32_t requestFlags = 0, int reader = -1) {
    const std::uint32_t slot = engine.acquireSlot();
    CHECK(slot != UINT32_MAX);
    Request& request = engine.request(slot);
    request.op = op;
    request.flags = requestFlags;
    request.sql = std::move(sql);
    for (const Param& param : params) addParam(request, param);
    engine.submit(slot, target, reader);
    return slot;
  }

  // Same, with named parameters (`names` without their prefix).
  std::uint32_t submitNamed(Op op, Target target, std::string sql, std::vector<std::pair<std::string, Param>> named) {
    const std::uint32_t slot = engine.acquireSlot();
    CHECK(slot != UINT32_MAX);
    Request& request = engine.request(slot);
    request.op = op;
    request.flags = 0;
    request.sql = std::move(sql);
    for (const auto& [name, param] : named) {
      request.paramNames.push_back(name);
      addParam(request, param);
    }
    engine.submit(slot, target);
    return slot;
  }

  // Drains until `count` completions arrived (in completion order). The caller releases them.
  std::vector<std::uint32_t> collect(std::size_t count) {
    std::vector<std::uint32_t> done;
    drainInto(done, count);
    return done;
  }

  // Drains whatever is there plus up to `limit` more; waits until at least one arrived.
  void drainInto(std::vector<std::uint32_t>& done, std::size_t count) {
    const std::size_t target = done.size() + count;
    while (done.size() < target) {
      std::uint32_t slot;
      while (done.size() < target && engine.popCompletion(slot)) done.push_back(slot);
      if (done.size() >= target) break;
      if (engine.rearm()) continue;  // more arrived meanwhile: no announcement comes for them
      if (!listener.wait(60s)) {
        // A lost wake-up or a stuck worker.
        test::fail(__FILE__, __LINE__, "no completion arrived within 60 s");
      }
    }
  }

  // Runs one request to completion; the caller reads it and releases the slot.
  Request& roundTrip(Op op, Target target, std::string sql, std::initializer_list<Param> params = {},
                     std::uint32_t requestFlags = 0, int reader = -1) {
    const std::uint32_t slot = submit(op, target, std::move(sql), params, requestFlags, reader);
    const auto done = collect(1);
    CHECK_EQ(done[0], slot);
    last_ = slot;
    return engine.request(slot);
  }
  void releaseLast() { engine.releaseSlot(last_); }

  // Runs one statement that must succeed with Done; returns its changes.
  std::int64_t mustRun(Op op, Target target, std::string sql, std::initializer_list<Param> params = {}) {
    Request& request = roundTrip(op, target, sql, params);
    if (request.status != Status::Done) {
      ::litepool::test::fail(__FILE__, __LINE__, "'" + sql + "' failed: status " + test::show(request.status) + " " + request.message);
    }
    const std::int64_t changes = request.changes;
    releaseLast();
    return changes;
  }

  // A single integer read through `target`.
  std::int64_t scalar(Target target, std::string sql, std::initializer_list<Param> params = {}) {
    Request& request = roundTrip(Op::Get, target, std::move(sql), params);
    CHECK_EQ(request.status, Status::Rows);
    CHECK_EQ(request.cells.size(), std::size_t{1});
    const std::int64_t value = integerAt(request, 0);
    releaseLast();
    return value;
  }

  // Closes every reader and the writer through Close requests, then joins.
  void close() {
    std::vector<std::uint32_t> closes;
    for (int i = 0; i < engine.readerCount(); ++i) closes.push_back(submit(Op::Close, Target::Readers, ""));
    closes.push_back(submit(Op::Close, Target::Writer, ""));
    for (std::uint32_t slot : collect(closes.size())) {
      CHECK_EQ(engine.request(slot).status, Status::Done);
      engine.releaseSlot(slot);
    }
    engine.join();
  }

  // Declared before the engine: the engine (destroyed first) joins its threads before the
  // listener they call goes away.
  WaitingListener listener;
  Engine engine;

 private:
  void expectOpened(std::uint32_t slot) {
    const Request& request = engine.request(slot);
    CHECK_EQ(request.op, Op::Open);
    if (request.status != Status::Done) test::fail(__FILE__, __LINE__, "open failed: " + request.message);
    engine.releaseSlot(slot);
  }

  std::uint32_t last_ = UINT32_MAX;
};

// Opens `path` directly (outside the engine) on the calling thread.
struct RawConnection {
  explicit RawConnection(const std::string& path) {
    CHECK_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
  }
  ~RawConnection() { sqlite3_close_v2(db); }
  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "?";
      sqlite3_free(error);
      test::fail(__FILE__, __LINE__, std::string(sql) + ": " + message);
    }
  }
  std::int64_t scalar(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    CHECK_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
    CHECK_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const std::int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  }
  sqlite3* db = nullptr;
};

void createItems(Harness& h, int rows) {
  h.mustRun(Op::Exec, Target::Writer, "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL)");
  // Every insert is its own writer request, all in flight at once; the writer runs them FIFO.
  std::vector<std::uint32_t> slots;
  for (int id = 1; id <= rows; ++id) {
    slots.push_back(h.submit(Op::Run, Target::Writer, "INSERT INTO items(id, name, score) VALUES (?, ?, ?)",
                             {Param::i(id), Param::t("item-" + std::to_string(id)), Param::r(id * 0.5)}));
  }
  const auto done = h.collect(slots.size());
  CHECK(done == slots);  // one producer (the writer): completions keep submission order
  for (std::size_t i = 0; i < done.size(); ++i) {
    const Request& request = h.engine.request(done[i]);
    CHECK_EQ(request.status, Status::Done);
    CHECK_EQ(request.changes, std::int64_t{1});
    CHECK_EQ(request.lastInsertRowid, static_cast<std::int64_t>(i + 1));
    h.engine.releaseSlot(done[i]);
  }
}

constexpr const char* kForever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

}  // namespace

// ---- tests ----

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
                             flags::kWantNames);
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
  Request& begin = h.roundTrip(Op::Exec, Target::PinnedReader, "BEGIN", {}, flags::kKeepTransaction, reader);
  CHECK_EQ(begin.status, Status::Done);
  h.releaseLast();
  Request& before = h.roundTrip(Op::Get, Target::PinnedReader, "SELECT count(*) FROM items", {}, flags::kKeepTransaction, reader);
  CHECK_EQ(before.status, Status::Rows);
  CHECK_EQ(integerAt(before, 0), std::int64_t{100});
  h.releaseLast();
  CHECK_EQ(h.mustRun(Op::Run, Target::Writer, "INSERT INTO items(name) VALUES ('new')"), std::int64_t{1});

  // Shared reads all see 101 rows: the pinned reader (still at 100) never takes one of them.
  std::vector<std::uint32_t> shared;
  for (int i = 0; i < 400; ++i) shared.push_back(h.submit(Op::Get, Target::Readers, "SELECT count(*) FROM items"));
  std::vector<std::uint32_t> leased;
  for (int i = 0; i < 50; ++i) {
    leased.push_back(h.submit(Op::Get, Target::PinnedReader, "SELECT count(*) FROM items", {}, flags::kKeepTransaction, reader));
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
      if (closes.count(slot)) {
        CHECK_EQ(request.status, Status::Done);
        if (slot == writerClose) CHECK_EQ(writesDone, std::size_t{300});
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

// Requests submitted one at a time, with pauses around the end of the poll window: the poller
// either takes each request or a parked reader is woken for it (a lost wake-up would hang
// roundTrip until its 60 s watchdog).
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
