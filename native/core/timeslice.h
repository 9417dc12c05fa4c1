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
// Checked between requests and, inside a long statement, from SQLite's progress handler (every
// kProgressInterval virtual machine instructions), so one long query cannot hold a core either.
// Every member runs on the worker thread that owns the instance, except yields().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace litepool {

class Timeslice {
 public:
  using Clock = std::chrono::steady_clock;

  // quantumMicros 0 turns yielding off.
  explicit Timeslice(std::uint32_t quantumMicros) noexcept : quantum_(std::chrono::microseconds(quantumMicros)) {}

  // Worker thread: the worker just woke from parking, so it starts a fresh slice.
  void restart() noexcept { started_ = Clock::now(); }

  // Worker thread: yields when the current slice has run for the quantum. Returns true when it
  // yielded.
  bool check() noexcept { return quantum_.count() != 0 && check(Clock::now()); }

  // Worker thread: the same, with a time the caller already read.
  bool check(Clock::time_point now) noexcept {
    if (quantum_.count() == 0 || now - started_ < quantum_) return false;
    std::this_thread::yield();
    started_ = Clock::now();
    yields_.store(yields_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
  }

  // Any thread: how many times the worker yielded (for statistics).
  std::uint64_t yields() const noexcept { return yields_.load(std::memory_order_relaxed); }

 private:
  const Clock::duration quantum_;
  Clock::time_point started_ = Clock::now();
  std::atomic<std::uint64_t> yields_{0};
};

}  // namespace litepool
