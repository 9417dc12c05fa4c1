// Owns the one cache-line size the core aligns shared atomics to (ring.h, parker.h, engine.h).
//
// Two atomics written by different threads must not share a cache line, or every write by one
// thread evicts the line from the other's cache (false sharing). The size is a fixed constant per
// platform, so that the layout of every object is the same in every build:
//   - Apple arm64 (M-series): 128-byte lines.
//   - MSVC: std::hardware_destructive_interference_size, a fixed 64 there.
//   - everything else (x86-64, Linux and Windows arm64): 64.
// GCC and Clang also offer std::hardware_destructive_interference_size, but derive it from the
// tuning flags (-mtune, -mcpu); GCC warns that its value may change between compiler versions
// (-Winterference-size), and on arm64 it is 256, more than the 64-byte lines of those cores.
#pragma once

#include <cstddef>
#include <new>

namespace litepool {

#if defined(__APPLE__) && defined(__aarch64__)
inline constexpr std::size_t kCacheLine = 128;
#elif defined(_MSC_VER) && !defined(__clang__) && defined(__cpp_lib_hardware_interference_size)
inline constexpr std::size_t kCacheLine = std::hardware_destructive_interference_size;
#else
inline constexpr std::size_t kCacheLine = 64;
#endif

static_assert(kCacheLine >= 64 && (kCacheLine & (kCacheLine - 1)) == 0, "a cache line is a power of two of at least 64 bytes");

}  // namespace litepool
