// Owns the fixtures the engine tests (pool_*_test.cc) share: a temporary directory, a completion
// listener standing in for the addon's thread-safe function, parameters encoded as the JS side
// would, the Harness that drives the engine from its owning ("JS") thread, and a raw SQLite
// connection for checks from outside the engine.
//
// The test's main thread plays the JS thread: it alone acquires slots, submits, drains
// completions and releases slots, as engine.h requires (debug builds assert it). Each test checks
// results value by value (request.cells), so a request answered with another request's data,
// answered twice, or lost fails the test.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "engine.h"

namespace litepool::test {

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

inline void addParam(Request& request, const Param& param) {
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

inline std::string bytesOf(const Request& request, const Value& cell) {
  CHECK(cell.type == ValueType::Text || cell.type == ValueType::Blob);
  CHECK(cell.offset + cell.length <= request.cellBytes.size());
  return request.cellBytes.substr(cell.offset, cell.length);
}

inline std::int64_t integerAt(const Request& request, std::size_t index) {
  CHECK(index < request.cells.size());
  CHECK_EQ(request.cells[index].type, ValueType::Integer);
  return request.cells[index].integer;
}

inline std::string textAt(const Request& request, std::size_t index) {
  CHECK(index < request.cells.size());
  CHECK_EQ(request.cells[index].type, ValueType::Text);
  return bytesOf(request, request.cells[index]);
}

inline EngineConfig configFor(const std::string& path, int readers = 4) {
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
  // How long drainInto() waits for one completion before it calls the test failed. A hang
  // detector (a lost wake-up, a stuck worker), not a timing check: under the sanitizers (Debug
  // SQLite with ASan) on a loaded machine a 2,000,000-row statement takes minutes. Below ctest's
  // 300 s per program, so the failure says what hung.
  static constexpr auto kHangTimeout = std::chrono::seconds(240);

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
      if (!listener.wait(kHangTimeout)) {
        // A lost wake-up or a stuck worker.
        test::fail(__FILE__, __LINE__, "no completion arrived within " + std::to_string(kHangTimeout.count()) + " s");
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

  // Closes every reader and the writer through Close requests, then joins. Returns the row the
  // writer's Close reported for its close checkpoint (busy, log, checkpointed, µs), empty for none.
  std::vector<std::int64_t> close() {
    std::vector<std::uint32_t> closes;
    for (int i = 0; i < engine.readerCount(); ++i) closes.push_back(submit(Op::Close, Target::Readers, ""));
    const std::uint32_t writerClose = submit(Op::Close, Target::Writer, "");
    closes.push_back(writerClose);
    std::vector<std::int64_t> checkpoint;
    for (std::uint32_t slot : collect(closes.size())) {
      const Request& request = engine.request(slot);
      if (slot == writerClose && request.status == Status::Rows) {
        CHECK_EQ(request.cells.size(), std::size_t{4});
        for (std::size_t i = 0; i < request.cells.size(); ++i) checkpoint.push_back(integerAt(request, i));
      } else {
        CHECK_EQ(request.status, Status::Done);
      }
      engine.releaseSlot(slot);
    }
    engine.join();
    return checkpoint;
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

inline void createItems(Harness& h, int rows) {
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

inline constexpr const char* kForever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

}  // namespace litepool::test
