// Owns the engine tests of the readers' two lanes (engine.h: RequestFlag::Expensive requests go to
// the expensive lane, which at most `unpinned readers - 1` readers serve at once): the order in
// which readers take requests (a cheap request queued behind expensive ones starts before them; a
// lone reader alternates the lanes) and that neither lane starves (every expensive request
// finishes under a continuous stream of cheap ones). Counts and orderings only (Request::takeOrder
// numbers the requests as readers take them), never timings. Fixtures: pool_harness.h.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "pool_harness.h"

using namespace litepool;
using namespace litepool::test;

namespace {

// A statement that runs for a while (a few ms natively, longer under the sanitizers), so that a
// reader running it is busy while others take requests.
const std::string kLong = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT count(*) + ? FROM n";

EngineConfig lanesConfig(const TempDir& dir, int readers) {
  EngineConfig config = configFor(dir.file("lanes.db"), readers);
  config.testRecordTakeOrder = true;
  return config;
}

// Pins every reader (so the lanes are served by nobody); returns the reader indices.
std::vector<int> pinAll(Harness& h) {
  std::vector<std::uint32_t> pins;
  for (int i = 0; i < h.engine.readerCount(); ++i) pins.push_back(h.submit(Op::Pin, Target::Readers, ""));
  std::vector<int> readers;
  for (std::uint32_t slot : h.collect(pins.size())) {
    CHECK_EQ(h.engine.request(slot).status, Status::Done);
    readers.push_back(static_cast<int>(h.engine.request(slot).changes));
    h.engine.releaseSlot(slot);
  }
  CHECK_EQ(h.engine.pinnedReaders(), h.engine.readerCount());
  return readers;
}

// A read of `SELECT ?` (cheap) or kLong (expensive) answering `tag`.
std::uint32_t read(Harness& h, bool expensive, std::int64_t tag) {
  if (expensive) return h.submit(Op::Get, Target::Readers, kLong, {Param::i(tag)}, RequestFlag::Expensive);
  return h.submit(Op::Get, Target::Readers, "SELECT ?", {Param::i(tag)});
}

}  // namespace

// One reader serves the lanes (the other is pinned): it alternates them while both have work,
// starting with the expensive lane. Its completions come in the order it ran them.
TEST(a_lone_reader_alternates_the_lanes) {
  TempDir dir;
  Harness h(lanesConfig(dir, 2));
  h.open();
  const std::vector<int> readers = pinAll(h);
  std::map<std::uint32_t, std::string> name;
  for (int i = 1; i <= 4; ++i) name[read(h, true, i)] = "E" + std::to_string(i);
  for (int i = 1; i <= 2; ++i) name[read(h, false, 100 + i)] = "C" + std::to_string(i);
  const std::uint32_t unpin = h.submit(Op::Unpin, Target::PinnedReader, "", {}, 0, readers[0]);
  std::vector<std::string> order;
  for (std::uint32_t slot : h.collect(7)) {
    const Request& request = h.engine.request(slot);
    if (slot != unpin) {
      CHECK_EQ(request.status, Status::Rows);
      CHECK_EQ(request.worker, readers[0]);
      order.push_back(name.at(slot));
    }
    h.engine.releaseSlot(slot);
  }
  const std::vector<std::string> expected = {"E1", "C1", "E2", "C2", "E3", "E4"};
  CHECK(order == expected);
  Request& unpinLast = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, readers[1]);
  CHECK_EQ(unpinLast.status, Status::Done);
  h.releaseLast();
  h.close();
  // After the join: a reader counts an expensive request just after publishing its completion.
  CHECK_EQ(h.engine.stats().expensiveRun, std::uint64_t{4});
}

// Six expensive reads queued, then one cheap read; two of three readers then serve the lanes
// (cap 1: one runs expensive reads, the other is free). The cheap read is taken before all but at
// most two of the expensive ones: the first reader back, alone, takes one; the second reader's
// first look at the lanes finds the cap reached and takes the cheap read, unless the first reader
// finished its expensive read meanwhile and took another (a third would need the second reader to
// stall for a whole expensive read between its Unpin and that look).
TEST(a_cheap_read_queued_behind_expensive_ones_is_taken_before_them) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    Harness h(lanesConfig(dir, 3));
    h.open();
    const std::vector<int> readers = pinAll(h);
    std::vector<std::uint32_t> expensive;
    for (int i = 0; i < 6; ++i) expensive.push_back(read(h, true, i));
    const std::uint32_t cheap = read(h, false, -1);
    h.submit(Op::Unpin, Target::PinnedReader, "", {}, 0, readers[0]);
    h.submit(Op::Unpin, Target::PinnedReader, "", {}, 0, readers[1]);
    std::map<std::uint32_t, std::uint64_t> taken;
    for (std::uint32_t slot : h.collect(9)) {
      const Request& request = h.engine.request(slot);
      if (request.op == Op::Get) {
        CHECK_EQ(request.status, Status::Rows);
        CHECK(request.takeOrder > 0);
        taken[slot] = request.takeOrder;
      }
      h.engine.releaseSlot(slot);
    }
    int before = 0;
    for (std::uint32_t slot : expensive) before += taken.at(slot) < taken.at(cheap) ? 1 : 0;
    CHECK(before <= 2);
    Request& unpin = h.roundTrip(Op::Unpin, Target::PinnedReader, "", {}, 0, readers[2]);
    CHECK_EQ(unpin.status, Status::Done);
    h.releaseLast();
    h.close();
  }
}

// No starvation: 2 readers (cap 1), 16 expensive reads queued, and the test keeps 32 cheap reads in
// flight at all times (a new one for every one that completes). Every expensive read completes
// while cheap ones still wait, and the cheap ones never stop completing either.
TEST(expensive_reads_finish_under_a_continuous_stream_of_cheap_ones) {
  TempDir dir;
  for (int readers = 1; readers <= 2; ++readers) {
    Harness h(lanesConfig(dir, readers));
    h.open();
    std::map<std::uint32_t, bool> isExpensive;
    for (int i = 0; i < 16; ++i) isExpensive[read(h, true, i)] = true;
    for (int i = 0; i < 32; ++i) isExpensive[read(h, false, i)] = false;
    int expensiveDone = 0;
    std::uint64_t cheapDone = 0;
    std::vector<std::uint32_t> done;
    // A hang detector, not a timing: the drain fails after kHangTimeout; this bound fails a
    // starvation in which cheap reads keep completing for ever.
    constexpr std::uint64_t kMaxCheap = 10'000'000;
    while (expensiveDone < 16) {
      done.clear();
      h.drainInto(done, 1);
      for (std::uint32_t slot : done) {
        const Request& request = h.engine.request(slot);
        CHECK_EQ(request.status, Status::Rows);
        const bool expensive = isExpensive.at(slot);
        isExpensive.erase(slot);
        h.engine.releaseSlot(slot);
        if (expensive) {
          ++expensiveDone;
        } else {
          ++cheapDone;
          isExpensive[read(h, false, static_cast<std::int64_t>(cheapDone))] = false;
        }
      }
      CHECK(cheapDone < kMaxCheap);
    }
    // The 32 cheap reads still in flight complete too.
    for (std::uint32_t slot : h.collect(isExpensive.size())) {
      CHECK(!isExpensive.at(slot));
      CHECK_EQ(h.engine.request(slot).status, Status::Rows);
      h.engine.releaseSlot(slot);
    }
    // A lone reader alternates: a cheap read between every two expensive ones.
    CHECK(readers > 1 || cheapDone >= 15);
    h.close();
    CHECK_EQ(h.engine.stats().expensiveRun, std::uint64_t{16});
  }
}

TEST_MAIN()
