// Owns the native tests' tiny harness: test registration, CHECK macros and main().
//
// A test is `TEST(name) { ... }` at namespace scope. `./ring_test` runs every test of the file
// except those named DISABLED_*; `./ring_test fuzz` runs those whose name contains "fuzz"
// (DISABLED_ ones included). A failed CHECK prints where and what, then aborts the process, so it
// is safe to use on any thread (a sanitizer or debugger then shows the stack) and ctest reports
// the test executable as failed.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace litepool::test {

struct TestCase {
  const char* name;
  void (*run)();
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

inline bool registerTest(const char* name, void (*run)()) {
  registry().push_back({name, run});
  return true;
}

// Any thread: reports a failed check and ends the process.
[[noreturn]] inline void fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "\nFAILED %s:%d: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

template <typename T>
std::string show(const T& value) {
  std::ostringstream out;
  if constexpr (std::is_enum_v<T>) {
    out << static_cast<long long>(value);
  } else if constexpr (std::is_same_v<T, unsigned char> || std::is_same_v<T, signed char>) {
    out << static_cast<int>(value);
  } else {
    out << value;
  }
  return out.str();
}

inline int runAll(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int ran = 0;
  for (const TestCase& test : registry()) {
    if (filter && !std::strstr(test.name, filter)) continue;
    if (!filter && std::strncmp(test.name, "DISABLED_", 9) == 0) {
      std::printf("[ SKIP ] %s (run it by name)\n", test.name);
      continue;
    }
    std::printf("[ RUN  ] %s\n", test.name);
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    test.run();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("[  OK  ] %s (%lld ms)\n", test.name, static_cast<long long>(ms));
    std::fflush(stdout);
    ++ran;
  }
  std::printf("%d test%s passed\n", ran, ran == 1 ? "" : "s");
  return 0;
}

}  // namespace litepool::test

#define TEST(name)                                                                          \
  static void name();                                                                       \
  [[maybe_unused]] static const bool name##_registered = ::litepool::test::registerTest(#name, &name); \
  static void name()

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) ::litepool::test::fail(__FILE__, __LINE__, "CHECK(" #condition ")"); \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                       \
  do {                                                                                                   \
    const auto check_actual_ = (actual);                                                                 \
    const auto check_expected_ = (expected);                                                             \
    if (!(check_actual_ == check_expected_)) {                                                           \
      ::litepool::test::fail(__FILE__, __LINE__,                                                         \
                             "CHECK_EQ(" #actual ", " #expected "): " + ::litepool::test::show(check_actual_) + \
                                 " != " + ::litepool::test::show(check_expected_));                      \
    }                                                                                                    \
  } while (0)

#define CHECK_THROWS(expression, exception_type)                                                     \
  do {                                                                                               \
    bool check_threw_ = false;                                                                       \
    try {                                                                                            \
      (void)(expression);                                                                            \
    } catch (const exception_type&) {                                                               \
      check_threw_ = true;                                                                           \
    }                                                                                                \
    if (!check_threw_) ::litepool::test::fail(__FILE__, __LINE__, #expression " did not throw " #exception_type); \
  } while (0)

#define TEST_MAIN() \
  int main(int argc, char** argv) { return ::litepool::test::runAll(argc, argv); }
