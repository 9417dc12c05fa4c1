// Owns the spin-then-park protocol between a worker thread and the threads that hand it work.
//
// A worker that finds nothing to do spins briefly, then parks on a futex (C++20
// std::atomic::wait). A producer pays for a wake-up only when the worker is actually parked:
// after publishing work it checks `parked_`; the worker re-checks for work after announcing that
// it parks. Both sides put a seq_cst fence between their write and their read (a Dekker
// handshake), so at least one of them sees the other: no wake-up is ever lost.
#pragma once

#include <atomic>
#include <cstdint>

#include "cache_line.h"

namespace litepool {

class Parker {
 public:
  // Worker thread only. Parks until unpark() is called, unless hasWork() is already true.
  template <typename HasWork>
  void park(HasWork hasWork) noexcept {
    const std::uint32_t epoch = epoch_.load(std::memory_order_acquire);
    parked_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (hasWork()) {
      parked_.store(false, std::memory_order_relaxed);
      return;
    }
    epoch_.wait(epoch, std::memory_order_acquire);
    parked_.store(false, std::memory_order_relaxed);
  }

  // Any producer thread, after publishing work. Returns true when it woke the worker.
  bool unpark() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!parked_.load(std::memory_order_relaxed)) return false;
    if (!parked_.exchange(false, std::memory_order_acq_rel)) return false;
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_one();
    return true;
  }

  // Any thread: wakes the worker unconditionally (shutdown, cancellation).
  void wake() noexcept {
    parked_.store(false, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_one();
  }

 private:
  // The producers' and the worker's shared line: both fields are written by both sides, so they
  // share one line of their own (the class is aligned to it, so its neighbours in a Worker do not).
  alignas(kCacheLine) std::atomic<std::uint32_t> epoch_{0};
  std::atomic<bool> parked_{false};
};

static_assert(alignof(Parker) == kCacheLine && sizeof(Parker) == kCacheLine, "a parker owns exactly one cache line");

}  // namespace litepool
