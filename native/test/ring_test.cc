// Owns the tests of ring.h: MpmcRing and SpscRing.
//
// Single-threaded tests pin down the contract (FIFO order, the exact full and empty boundaries,
// index wrap-around over many laps, power-of-two capacities, every value popped exactly once).
// Multi-threaded fuzz tests push millions of unique 32-bit values through each ring and prove with
// per-producer counts, sums and XORs (and per-consumer ordering) that nothing was lost or
// duplicated; under ThreadSanitizer they also prove the slot hand-off is race-free.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "check.h"
#include "ring.h"

using litepool::kCacheLine;
using litepool::MpmcRing;
using litepool::SpscRing;

namespace {

// A trivially copyable payload wider than a machine word, carrying an id and a checksum of it.
struct Tagged {
  std::uint32_t id;
  std::uint32_t lap;
  std::uint64_t check;
  std::uint64_t pad;
};
static_assert(std::is_trivially_copyable_v<Tagged>);

std::uint64_t checkOf(std::uint32_t id, std::uint32_t lap) { return (std::uint64_t{id} << 32 | lap) * 0x9E3779B97F4A7C15ull; }

// The layout promises of ring.h hold for other value types too.
static_assert(MpmcRing<Tagged>::tailOffset() - MpmcRing<Tagged>::headOffset() >= kCacheLine);
static_assert(SpscRing<Tagged>::tailOffset() - SpscRing<Tagged>::headOffset() >= kCacheLine);
static_assert(alignof(MpmcRing<Tagged>) >= kCacheLine);
static_assert(alignof(SpscRing<std::uint32_t>) >= kCacheLine);
// MPMC slots are packed: a 32-bit value with its turn counter takes 16 bytes on a 64-bit machine
// (four to a 64-byte line), a 24-byte payload 32 bytes (two to a 64-byte line).
static_assert(MpmcRing<std::uint32_t>::slotsPerLine() == kCacheLine / (2 * sizeof(std::size_t)));
static_assert(MpmcRing<Tagged>::slotsPerLine() == kCacheLine / 32);
static_assert(kCacheLine != 64 || sizeof(std::size_t) != 8 || MpmcRing<std::uint32_t>::slotsPerLine() == 4);

// Deterministic pseudo-random numbers (xorshift32), so a failure replays the same way.
struct Rng {
  std::uint32_t state;
  std::uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
};

template <typename Ring>
void checkFifoAndBoundaries() {
  constexpr std::uint32_t kCapacity = 8;
  Ring ring(kCapacity);
  CHECK_EQ(ring.capacity(), std::size_t{kCapacity});
  CHECK(ring.emptyApprox());
  std::uint32_t out = 12345;
  CHECK(!ring.tryPop(out));
  CHECK_EQ(out, 12345u);  // a failed pop leaves the output alone

  for (std::uint32_t i = 0; i < kCapacity; ++i) {
    CHECK(ring.tryPush(100 + i));
    CHECK_EQ(ring.sizeApprox(), std::size_t{i + 1});
  }
  CHECK(!ring.tryPush(999));  // full at exactly `capacity` values
  CHECK_EQ(ring.sizeApprox(), std::size_t{kCapacity});

  for (std::uint32_t i = 0; i < kCapacity; ++i) {
    CHECK(ring.tryPop(out));
    CHECK_EQ(out, 100 + i);
  }
  CHECK(!ring.tryPop(out));  // empty again, and the rejected 999 never got in
  CHECK(ring.emptyApprox());

  // One pop makes room for exactly one push.
  for (std::uint32_t i = 0; i < kCapacity; ++i) CHECK(ring.tryPush(i));
  CHECK(ring.tryPop(out));
  CHECK_EQ(out, 0u);
  CHECK(ring.tryPush(kCapacity));
  CHECK(!ring.tryPush(kCapacity + 1));
  for (std::uint32_t i = 1; i <= kCapacity; ++i) {
    CHECK(ring.tryPop(out));
    CHECK_EQ(out, i);
  }
  CHECK(!ring.tryPop(out));
}

// Runs the indices over many laps with every fill level, checking order and sizes throughout.
template <typename Ring>
void checkWrapAround() {
  constexpr std::uint32_t kCapacity = 16;
  constexpr std::uint32_t kLaps = 50'000;
  Ring ring(kCapacity);
  Rng rng{0x1234567u};
  std::uint32_t nextIn = 0;
  std::uint32_t nextOut = 0;
  while (nextOut < kLaps * kCapacity) {
    // Push up to the free space (sometimes all of it, then one more that must fail).
    const std::uint32_t inRing = nextIn - nextOut;
    const std::uint32_t room = kCapacity - inRing;
    const std::uint32_t pushes = rng.next() % 4 == 0 ? room : rng.next() % (room + 1);
    for (std::uint32_t i = 0; i < pushes; ++i) CHECK(ring.tryPush(nextIn++));
    if (nextIn - nextOut == kCapacity) CHECK(!ring.tryPush(0xDEADBEEF));
    CHECK_EQ(ring.sizeApprox(), std::size_t{nextIn - nextOut});
    const std::uint32_t available = nextIn - nextOut;
    const std::uint32_t pops = rng.next() % 4 == 0 ? available : rng.next() % (available + 1);
    for (std::uint32_t i = 0; i < pops; ++i) {
      std::uint32_t out = 0;
      CHECK(ring.tryPop(out));
      CHECK_EQ(out, nextOut);
      ++nextOut;
    }
    if (nextIn == nextOut) {
      std::uint32_t out = 0;
      CHECK(!ring.tryPop(out));
    }
  }
  CHECK(nextIn >= kLaps * kCapacity);
}

template <typename Ring>
void checkCapacities(std::size_t smallest) {
  for (std::size_t bad : {std::size_t{0}, std::size_t{3}, std::size_t{6}, std::size_t{12}, std::size_t{100},
                          std::size_t{1000}, (std::size_t{1} << 20) + 1}) {
    CHECK_THROWS(Ring(bad), std::invalid_argument);
  }
  for (std::size_t good : {std::size_t{1}, std::size_t{2}, std::size_t{4}, std::size_t{1024}, std::size_t{1} << 16}) {
    if (good < smallest) continue;
    Ring ring(good);
    CHECK_EQ(ring.capacity(), good);
  }
}

// The smallest ring: every push fills it, every pop empties it.
template <typename Ring>
void checkSmallest(std::size_t capacity) {
  Ring ring(capacity);
  std::uint32_t out = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    for (std::uint32_t k = 0; k < capacity; ++k) CHECK(ring.tryPush(i * 10 + k));
    CHECK(!ring.tryPush(0xDEADBEEF));
    for (std::uint32_t k = 0; k < capacity; ++k) {
      CHECK(ring.tryPop(out));
      CHECK_EQ(out, i * 10 + k);
    }
    CHECK(!ring.tryPop(out));
  }
}

// The rings hold trivially copyable values only, so rigtorp's "count constructions and
// destructions" test has nothing to count. Its purpose (no value leaked, none delivered twice)
// is checked directly instead: ids go through the ring in a random interleaving, every id must
// come out exactly once with its payload intact, and nothing may be left behind.
template <template <typename> class RingT>
void checkEveryIdOnce() {
  constexpr std::uint32_t kIds = 200'000;
  RingT<Tagged> ring(64);
  std::vector<std::uint8_t> seen(kIds, 0);
  Rng rng{0xC0FFEEu};
  std::uint32_t pushed = 0;
  std::uint32_t popped = 0;
  const auto popOne = [&] {
    Tagged out{};
    if (!ring.tryPop(out)) return false;
    CHECK(out.id < kIds);
    CHECK_EQ(out.check, checkOf(out.id, out.lap));
    CHECK_EQ(out.lap, out.id / 64);
    ++seen[out.id];
    ++popped;
    return true;
  };
  while (pushed < kIds) {
    if (rng.next() % 3 != 0) {
      const Tagged value{pushed, pushed / 64, checkOf(pushed, pushed / 64), 0};
      if (ring.tryPush(value)) ++pushed;
    } else {
      popOne();
    }
  }
  while (popOne()) {
  }
  CHECK_EQ(popped, kIds);
  CHECK(ring.emptyApprox());
  CHECK(std::all_of(seen.begin(), seen.end(), [](std::uint8_t count) { return count == 1; }));
}

// A ring dropped with values still inside owns no per-value resources (AddressSanitizer's leak
// check would report anything left behind).
template <typename Ring>
void checkDropWhileFull() {
  auto ring = std::make_unique<Ring>(256);
  for (std::uint32_t i = 0; i < 256; ++i) CHECK(ring->tryPush(i));
  std::uint32_t out = 0;
  for (std::uint32_t i = 0; i < 100; ++i) CHECK(ring->tryPop(out));
  for (std::uint32_t i = 0; i < 50; ++i) CHECK(ring->tryPush(i));
  ring.reset();
}

// ---- multi-threaded fuzz ----

// Producer p sends the values (p << 28) | seq for seq in [0, perProducer): unique 32-bit values
// from which a consumer recovers who sent it and in which order.
constexpr std::uint32_t kSeqBits = 28;
constexpr std::uint32_t kStop = 0xFFFFFFFFu;  // never a real value (at most 15 producers)

struct Tally {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint32_t xorAll = 0;
  void add(std::uint32_t value) {
    ++count;
    sum += value;
    xorAll ^= value;
  }
};

// Any thread: pushes, yielding while the ring is full (the tests oversubscribe two cores).
template <typename Ring>
void pushBlocking(Ring& ring, std::uint32_t value) {
  while (!ring.tryPush(value)) std::this_thread::yield();
}

// Any thread: pops, yielding while the ring is empty.
template <typename Ring>
std::uint32_t popBlocking(Ring& ring) {
  std::uint32_t value;
  while (!ring.tryPop(value)) std::this_thread::yield();
  return value;
}

void fuzzMpmc(unsigned producers, unsigned consumers, std::uint32_t perProducer, std::size_t capacity) {
  CHECK(producers < 16 && perProducer < (1u << kSeqBits));
  MpmcRing<std::uint32_t> ring(capacity);
  std::vector<Tally> sent(producers);
  std::vector<std::vector<Tally>> received(consumers, std::vector<Tally>(producers));
  std::atomic<unsigned> ready{0};
  const unsigned threads = producers + consumers;

  std::vector<std::thread> consumerThreads;
  for (unsigned c = 0; c < consumers; ++c) {
    // Consumer thread: tallies per producer and checks that each producer's values reach this
    // consumer in the order they were sent (pops take tickets in ring order).
    consumerThreads.emplace_back([&, c] {
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      std::vector<std::int64_t> lastSeq(producers, -1);
      for (;;) {
        const std::uint32_t value = popBlocking(ring);
        if (value == kStop) return;
        const std::uint32_t producer = value >> kSeqBits;
        const std::uint32_t seq = value & ((1u << kSeqBits) - 1);
        CHECK(producer < producers);
        CHECK(seq < perProducer);
        CHECK(static_cast<std::int64_t>(seq) > lastSeq[producer]);
        lastSeq[producer] = seq;
        received[c][producer].add(value);
      }
    });
  }
  std::vector<std::thread> producerThreads;
  for (unsigned p = 0; p < producers; ++p) {
    // Producer thread.
    producerThreads.emplace_back([&, p] {
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      for (std::uint32_t seq = 0; seq < perProducer; ++seq) {
        const std::uint32_t value = (p << kSeqBits) | seq;
        pushBlocking(ring, value);
        sent[p].add(value);
      }
    });
  }
  for (auto& thread : producerThreads) thread.join();
  // Every real value holds an earlier ticket than every stop marker, and each consumer takes
  // exactly one marker, so the consumers drain everything before they all stop.
  for (unsigned c = 0; c < consumers; ++c) pushBlocking(ring, kStop);
  for (auto& thread : consumerThreads) thread.join();

  std::uint64_t totalCount = 0;
  for (unsigned p = 0; p < producers; ++p) {
    Tally got;
    for (unsigned c = 0; c < consumers; ++c) {
      got.count += received[c][p].count;
      got.sum += received[c][p].sum;
      got.xorAll ^= received[c][p].xorAll;
    }
    CHECK_EQ(sent[p].count, std::uint64_t{perProducer});
    CHECK_EQ(got.count, sent[p].count);
    CHECK_EQ(got.sum, sent[p].sum);
    CHECK_EQ(got.xorAll, sent[p].xorAll);
    totalCount += got.count;
  }
  CHECK_EQ(totalCount, std::uint64_t{producers} * perProducer);
  std::uint32_t leftover;
  CHECK(!ring.tryPop(leftover));
  CHECK(ring.emptyApprox());
}

void fuzzSpsc(std::uint32_t items, std::size_t capacity) {
  SpscRing<std::uint32_t> ring(capacity);
  // A bijection on 32-bit values (odd multiplier), so every item is a distinct value and the
  // bits vary across the whole word.
  const auto valueOf = [](std::uint32_t i) { return i * 0x9E3779B1u; };
  Tally sent;
  Tally got;
  // Consumer thread: the one consumer sees every value, in order.
  std::thread consumer([&] {
    for (std::uint32_t i = 0; i < items; ++i) {
      const std::uint32_t value = popBlocking(ring);
      CHECK_EQ(value, valueOf(i));
      got.add(value);
    }
  });
  for (std::uint32_t i = 0; i < items; ++i) {
    pushBlocking(ring, valueOf(i));
    sent.add(valueOf(i));
  }
  consumer.join();
  CHECK_EQ(got.count, std::uint64_t{items});
  CHECK_EQ(got.count, sent.count);
  CHECK_EQ(got.sum, sent.sum);
  CHECK_EQ(got.xorAll, sent.xorAll);
  std::uint32_t leftover;
  CHECK(!ring.tryPop(leftover));
}

}  // namespace

TEST(mpmc_fifo_and_boundaries) { checkFifoAndBoundaries<MpmcRing<std::uint32_t>>(); }
TEST(spsc_fifo_and_boundaries) { checkFifoAndBoundaries<SpscRing<std::uint32_t>>(); }
TEST(mpmc_wraps_around_many_laps) { checkWrapAround<MpmcRing<std::uint32_t>>(); }
TEST(spsc_wraps_around_many_laps) { checkWrapAround<SpscRing<std::uint32_t>>(); }
TEST(mpmc_capacity_must_be_power_of_two) { checkCapacities<MpmcRing<std::uint32_t>>(2); }
TEST(spsc_capacity_must_be_power_of_two) { checkCapacities<SpscRing<std::uint32_t>>(1); }
TEST(spsc_capacity_one) { checkSmallest<SpscRing<std::uint32_t>>(1); }
TEST(mpmc_capacity_two) { checkSmallest<MpmcRing<std::uint32_t>>(2); }
// With one slot Vyukov's turn values cannot tell "full this lap" from "empty next lap", so the
// MPMC ring refuses a capacity below 2.
TEST(mpmc_capacity_one_is_refused) { CHECK_THROWS(MpmcRing<std::uint32_t>(1), std::invalid_argument); }
TEST(mpmc_every_id_popped_exactly_once) { checkEveryIdOnce<MpmcRing>(); }
TEST(spsc_every_id_popped_exactly_once) { checkEveryIdOnce<SpscRing>(); }
TEST(mpmc_dropped_while_holding_values) { checkDropWhileFull<MpmcRing<std::uint32_t>>(); }
TEST(spsc_dropped_while_holding_values) { checkDropWhileFull<SpscRing<std::uint32_t>>(); }

// 4 producers x 4 consumers, 4M values through a small ring (full and empty all the time).
TEST(fuzz_mpmc_4x4) { fuzzMpmc(4, 4, 1'000'000, 256); }
// The engine's shapes: the reader ring (1 producer, 4 consumers) and the completion ring
// (5 producers, 1 consumer), each with a tiny ring so that every slot is contended.
TEST(fuzz_mpmc_1x4_reader_ring_shape) { fuzzMpmc(1, 4, 1'000'000, 8); }
TEST(fuzz_mpmc_5x1_completion_ring_shape) { fuzzMpmc(5, 1, 200'000, 8); }
// 1 producer x 1 consumer, 4M values.
TEST(fuzz_spsc_1x1) { fuzzSpsc(4'000'000, 1024); }
TEST(fuzz_spsc_1x1_tiny_ring) { fuzzSpsc(1'000'000, 4); }

TEST_MAIN()
