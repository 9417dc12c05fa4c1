// Owns the tests of a worker's time slice (timeslice.h) on its own: a slice ends after the
// quantum of the thread's own CPU time, not after the quantum on the wall, so a thread that was
// off its core (here: asleep) does not yield as soon as it runs again; a quantum of 0 never
// yields. Runs on the test's main thread only. Where there is no per-thread CPU clock (Windows),
// a slice counts wall time, and the tests of time off the core are left out.
#include <chrono>
#include <cstdint>
#include <thread>

#if !defined(_WIN32)
#include <time.h>
#endif

#include "check.h"
#include "timeslice.h"

using namespace litepool;

namespace {

// Spins until `slice.check()` yields or `limit` passes on the wall; the checks made.
std::uint64_t spinUntilYield(Timeslice& slice, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  std::uint64_t checks = 0;
  while (std::chrono::steady_clock::now() < until) {
    ++checks;
    if (slice.check()) return checks;
  }
  return 0;
}

}  // namespace

#if defined(CLOCK_THREAD_CPUTIME_ID)
// Sleeping for ten quanta uses no CPU: the slice is not over when the thread runs again.
TEST(time_off_the_core_does_not_end_a_slice) {
  Timeslice slice(1000);
  slice.restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(!slice.check());
  CHECK_EQ(slice.yields(), std::uint64_t{0});
}

#endif

// Running for the quantum ends the slice: one yield, then a fresh slice.
TEST(running_for_the_quantum_yields_once) {
  Timeslice slice(1000);
  slice.restart();
  CHECK(spinUntilYield(slice, std::chrono::seconds(5)) > 0);
  CHECK_EQ(slice.yields(), std::uint64_t{1});
  CHECK(!slice.check());
}

#if defined(CLOCK_THREAD_CPUTIME_ID)
// A slice the thread slept through part of still ends once the thread has run for the quantum.
TEST(a_slice_ends_after_its_cpu_time_whatever_the_sleeps) {
  Timeslice slice(2000);
  slice.restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(!slice.check());
  CHECK(spinUntilYield(slice, std::chrono::seconds(5)) > 0);
  CHECK_EQ(slice.yields(), std::uint64_t{1});
}

#endif

// A quantum of 0 turns yielding off.
TEST(a_zero_quantum_never_yields) {
  Timeslice slice(0);
  slice.restart();
  CHECK_EQ(spinUntilYield(slice, std::chrono::milliseconds(20)), std::uint64_t{0});
  CHECK_EQ(slice.yields(), std::uint64_t{0});
}

TEST_MAIN()
