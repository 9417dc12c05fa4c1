// Owns the bounded lock-free rings that carry request slot numbers between threads.
//
// MpmcRing: Vyukov's bounded MPMC queue. Each slot has a `turn` counter. A producer takes a
// ticket (head), waits for the slot's turn to say "empty for this lap", writes the value and
// publishes it by advancing the turn; a consumer does the mirror image with tail. Producers
// never wait on each other's slow writes beyond their own slot, and no thread takes a lock.
//   - reader ring: one producer (the JS thread), N consumers (reader threads);
//   - completion ring: N+1 producers (all workers), one consumer (the JS thread).
// SpscRing: single producer, single consumer (JS thread -> writer thread, JS thread -> a pinned
// connection). Each side caches the other side's index to avoid touching its cache line.
//
// Both are safe to call from any thread within their producer/consumer roles; none blocks.
// Values are trivially copyable (slot numbers), so there is nothing to construct or destroy in
// place and nothing can leak when a ring is dropped with values still inside.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>
#if defined(_MSC_VER)
#include <intrin.h>
#endif

#include "cache_line.h"

namespace litepool {

inline void cpuRelax() noexcept {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(_MSC_VER) && defined(_M_ARM64)
  __yield();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(_M_ARM64)
  asm volatile("yield" ::: "memory");
#endif
}

inline bool isPowerOfTwo(std::size_t n) noexcept { return n != 0 && (n & (n - 1)) == 0; }

inline std::size_t checkedCapacity(std::size_t n) {
  if (!isPowerOfTwo(n)) throw std::invalid_argument("ring capacity must be a power of two");
  return n;
}

// With one slot, "published this lap" (turn = ticket + 1) equals "empty next lap": the MPMC ring
// needs at least two slots to tell them apart.
inline std::size_t checkedMpmcCapacity(std::size_t n) {
  if (n < 2) throw std::invalid_argument("an MPMC ring needs a capacity of at least 2");
  return checkedCapacity(n);
}

// The smallest power of two that holds `bytes`, at most kCacheLine: the alignment, and so the
// size, of an MPMC slot, so that slots tile cache lines exactly.
constexpr std::size_t slotAlignment(std::size_t bytes) noexcept {
  std::size_t align = 1;
  while (align < bytes && align < kCacheLine) align *= 2;
  return align;
}

template <typename T>
class MpmcRing {
  static_assert(std::is_trivially_copyable_v<T>, "ring values are copied bytewise");

  // Slots are packed, several to a cache line (four of a 32-bit value on a 64-bit machine with
  // 64-byte lines), and consecutive tickets are spread over different lines (see slot()), so
  // neighbouring producers and consumers still do not share a line, at a fraction of the memory
  // a line per slot would take.
  struct alignas(slotAlignment(sizeof(std::atomic<std::size_t>) + sizeof(T))) Slot {
    std::atomic<std::size_t> turn{0};
    T value{};
  };
  static_assert(kCacheLine % sizeof(Slot) == 0 || sizeof(Slot) % kCacheLine == 0,
                "slots tile cache lines exactly: a power of two below a line, or whole lines");
  static constexpr std::size_t kSlotsPerLine = sizeof(Slot) < kCacheLine ? kCacheLine / sizeof(Slot) : 1;
  // One cache line of slots (or one slot of whole lines): the unit the ring allocates.
  struct alignas(kCacheLine) Line {
    Slot slots[kSlotsPerLine];
  };
  static_assert(sizeof(Line) % kCacheLine == 0, "each line of slots owns whole cache lines");
  static_assert(kSlotsPerLine == 1 || sizeof(Line) == kCacheLine, "packed slots fill exactly one cache line");

 public:
  explicit MpmcRing(std::size_t capacity)
      : capacity_(checkedMpmcCapacity(capacity)),
        mask_(capacity - 1),
        lines_(capacity_ >= kSlotsPerLine ? capacity_ / kSlotsPerLine : 1),
        lineShift_(shiftOf(lines_)),
        slots_(new Line[lines_]) {
    for (std::size_t i = 0; i < capacity_; ++i) slot(i).turn.store(i, std::memory_order_relaxed);
  }
  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }

  // Any producer thread. False when the ring is full.
  bool tryPush(const T& value) noexcept {
    std::size_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = this->slot(head);
      const std::size_t turn = slot.turn.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(turn) - static_cast<std::ptrdiff_t>(head);
      if (diff == 0) {
        if (head_.compare_exchange_weak(head, head + 1, std::memory_order_relaxed)) {
          slot.value = value;
          slot.turn.store(head + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the slot still holds last lap's value: full
      } else {
        head = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Any consumer thread. False when the ring is empty.
  bool tryPop(T& out) noexcept {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Slot& slot = this->slot(tail);
      const std::size_t turn = slot.turn.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(turn) - static_cast<std::ptrdiff_t>(tail + 1);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(tail, tail + 1, std::memory_order_relaxed)) {
          out = slot.value;
          slot.turn.store(tail + mask_ + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // nothing published in this slot yet: empty
      } else {
        tail = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // Any thread; approximate while others run (used for stats and park checks).
  std::size_t sizeApprox() const noexcept {
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    return head >= tail ? head - tail : 0;
  }
  bool emptyApprox() const noexcept { return sizeApprox() == 0; }

 private:
  static std::size_t shiftOf(std::size_t n) noexcept {
    std::size_t shift = 0;
    while ((std::size_t{1} << shift) < n) ++shift;
    return shift;
  }

  // Ticket i (mod capacity) lives in line i mod lines, at position i / lines within it: tickets
  // that follow each other land on different cache lines; two tickets share a line only when
  // they are a multiple of `lines` apart.
  Slot& slot(std::size_t ticket) noexcept {
    const std::size_t i = ticket & mask_;
    return slots_[i & (lines_ - 1)].slots[i >> lineShift_];
  }

  const std::size_t capacity_;
  const std::size_t mask_;
  const std::size_t lines_;      // cache lines of slots (a power of two)
  const std::size_t lineShift_;  // log2(lines_)
  const std::unique_ptr<Line[]> slots_;
  // Producers' line, then consumers' line. The class is aligned to a cache line, so its size is
  // a whole number of lines and whatever follows a ring starts on a line of its own.
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};

 public:
  static constexpr std::size_t slotsPerLine() noexcept { return kSlotsPerLine; }
  static constexpr std::size_t headOffset() noexcept { return offsetof(MpmcRing, head_); }
  static constexpr std::size_t tailOffset() noexcept { return offsetof(MpmcRing, tail_); }
};

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "ring values are copied bytewise");

 public:
  explicit SpscRing(std::size_t capacity) : capacity_(checkedCapacity(capacity)), mask_(capacity - 1), values_(new T[capacity]) {}
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }

  // Producer thread only. False when full.
  bool tryPush(const T& value) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - cachedTail_ == capacity_) {
      cachedTail_ = tail_.load(std::memory_order_acquire);
      if (head - cachedTail_ == capacity_) return false;
    }
    values_[head & mask_] = value;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread only. Reads the oldest value without taking it; false when empty.
  bool peek(T& out) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == cachedHead_) {
      cachedHead_ = head_.load(std::memory_order_acquire);
      if (tail == cachedHead_) return false;
    }
    out = values_[tail & mask_];
    return true;
  }

  // Consumer thread only. False when empty.
  bool tryPop(T& out) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == cachedHead_) {
      cachedHead_ = head_.load(std::memory_order_acquire);
      if (tail == cachedHead_) return false;
    }
    out = values_[tail & mask_];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Any thread; approximate while others run.
  std::size_t sizeApprox() const noexcept {
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_acquire);
    return head >= tail ? head - tail : 0;
  }
  bool emptyApprox() const noexcept { return sizeApprox() == 0; }

 private:
  const std::size_t capacity_;
  const std::size_t mask_;
  const std::unique_ptr<T[]> values_;
  // Producer's line: its index and its cached copy of the consumer's index.
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};
  std::size_t cachedTail_ = 0;
  // Consumer's line: its index and its cached copy of the producer's index.
  // (The class is aligned to a cache line, so nothing else ever shares this one.)
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};
  std::size_t cachedHead_ = 0;

 public:
  static constexpr std::size_t headOffset() noexcept { return offsetof(SpscRing, head_); }
  static constexpr std::size_t tailOffset() noexcept { return offsetof(SpscRing, tail_); }
  static constexpr std::size_t cachedTailOffset() noexcept { return offsetof(SpscRing, cachedTail_); }
  static constexpr std::size_t cachedHeadOffset() noexcept { return offsetof(SpscRing, cachedHead_); }
};

// The layout the comments above promise: the producer and consumer indices never share a cache
// line (no false sharing between the JS thread and the workers), each SPSC side keeps its cached
// copy on its own line, and a ring ends on a line boundary.
static_assert(MpmcRing<std::uint32_t>::headOffset() % kCacheLine == 0);
static_assert(MpmcRing<std::uint32_t>::tailOffset() - MpmcRing<std::uint32_t>::headOffset() >= kCacheLine);
static_assert(alignof(MpmcRing<std::uint32_t>) == kCacheLine);
static_assert(sizeof(MpmcRing<std::uint32_t>) % kCacheLine == 0);
static_assert(SpscRing<std::uint32_t>::headOffset() % kCacheLine == 0);
static_assert(SpscRing<std::uint32_t>::tailOffset() - SpscRing<std::uint32_t>::headOffset() >= kCacheLine);
static_assert(SpscRing<std::uint32_t>::cachedTailOffset() - SpscRing<std::uint32_t>::headOffset() < kCacheLine);
static_assert(SpscRing<std::uint32_t>::cachedHeadOffset() - SpscRing<std::uint32_t>::tailOffset() < kCacheLine);
static_assert(alignof(SpscRing<std::uint32_t>) == kCacheLine);
static_assert(sizeof(SpscRing<std::uint32_t>) % kCacheLine == 0);

}  // namespace litepool
