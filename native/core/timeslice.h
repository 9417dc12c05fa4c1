// Owns cooperative time slicing for one worker thread.
//
// A pool's workers are CPU-bound while requests queue up, and on a machine with few cores they
// outnumber the cores. The kernel then lets a worker run a full scheduler slice (several ms on
// Linux) before the event loop thread, woken by a timer or by a completion, gets a core back: the
// event loop runs late by that much. A worker that has run for `quantum` without pausing offers
// its core instead (std::this_thread::yield: sched_yield on POSIX, SwitchToThread on Windows).
// When nothing else waits for that core the call returns at once, so the cost is one system call
// per quantum.
//
// "Run for" counts the thread's own CPU time where the platform has a per-thread CPU clock
// (Linux, macOS, the BSDs), not the time on the wall: a worker that the kernel took off its core
// for a while has not run meanwhile, and yielding again right after it got the core back only
// moved it between cores (over HTTP, with four readers on two cores, 6% of the heavy-read
// throughput; docs/benchmarks.md, "Time slices in CPU time"). The wall clock is read first, because it is
// cheap; the CPU clock (a system call) only once the wall clock says a quantum may be over.
//
// Checked between requests and, inside a long statement, from SQLite's progress handler (every
// kProgressInterval virtual machine instructions), so one long query cannot hold a core either.
// Every member runs on the worker thread that owns the instance, except yields().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#if !defined(_WIN32)
#include <time.h>
#endif

namespace litepool {

class Timeslice {
 public:
  using Clock = std::chrono::steady_clock;

  // quantumMicros 0 turns yielding off.
  explicit Timeslice(std::uint32_t quantumMicros) noexcept : quantum_(std::chrono::microseconds(quantumMicros)) {}

  // Worker thread: the worker just woke from parking, so it starts a fresh slice.
  void restart() noexcept { start(Clock::now()); }

  // Worker thread: yields when the current slice has run for the quantum. Returns true when it
  // yielded.
  bool check() noexcept { return quantum_.count() != 0 && check(Clock::now()); }

  // Worker thread: the same, with a time the caller already read.
  bool check(Clock::time_point now) noexcept {
    if (quantum_.count() == 0 || now - wallStarted_ < quantum_) return false;
    const Clock::duration ran = threadCpuTime() - cpuStarted_;
    if (ran < quantum_) {
      // Off its core for part of the slice: the slice goes on. The next look at the CPU clock
      // comes when the quantum could be over at the earliest.
      wallStarted_ = now - ran;
      return false;
    }
    std::this_thread::yield();
    start(Clock::now());
    yields_.store(yields_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
  }

  // Any thread: how many times the worker yielded (for statistics).
  std::uint64_t yields() const noexcept { return yields_.load(std::memory_order_relaxed); }

 private:
  // Worker thread: the CPU time this thread has used, or the steady clock's time where there is
  // no per-thread CPU clock (then a slice counts the time on the wall, as before).
  static Clock::duration threadCpuTime() noexcept {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    timespec now{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) == 0) {
      return std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(now.tv_sec) +
                                                         std::chrono::nanoseconds(now.tv_nsec));
    }
#endif
    return Clock::now().time_since_epoch();
  }

  void start(Clock::time_point now) noexcept {
    wallStarted_ = now;
    cpuStarted_ = threadCpuTime();
  }

  const Clock::duration quantum_;
  // Both set by restart(), which the worker thread calls when it starts: the instance is built
  // on the JS thread, whose CPU clock is not the worker's.
  Clock::time_point wallStarted_{};
  Clock::duration cpuStarted_{};
  std::atomic<std::uint64_t> yields_{0};
};

}  // namespace litepool
