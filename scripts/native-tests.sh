#!/usr/bin/env bash
# Owns the sanitizer runs of the native core's C++ tests (native/test/, registered with ctest by
# CMakeLists.txt): one build under ThreadSanitizer (build-tsan/) and one under
# AddressSanitizer+UndefinedBehaviorSanitizer (build-asan/). Only the test programs are built
# (CMake's native_tests target lists them), never the addon. Exits non-zero on the first failure.
#
# Usage: scripts/native-tests.sh [tsan|asan]...   (default: both)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${LITEPOOL_BUILD_JOBS:-2}"
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

# configure_and_build <dir> <build type> <sanitizer>
configure_and_build() {
  local dir="$1" type="$2" sanitize="$3"
  local cache_generator=()
  # An existing build directory keeps the generator it was configured with.
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then cache_generator=("${generator[@]}"); fi
  cmake -S . -B "$dir" "${cache_generator[@]}" -DCMAKE_BUILD_TYPE="$type" -DLITEPOOL_SANITIZE="$sanitize"
  cmake --build "$dir" -j "$jobs" --target native_tests
}

run_tsan() {
  local dir=build-tsan
  echo "== ThreadSanitizer ($dir) =="
  configure_and_build "$dir" RelWithDebInfo thread
  # native/test/tsan.supp names the only reports ignored (SQLite's wal-index protocol) and why.
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/native/test/tsan.supp"
  # GCC 12's TSan runtime cannot map its shadow memory when the kernel randomizes mmap addresses
  # with more entropy than it expects (vm.mmap_rnd_bits = 32 on some recent kernels); it then
  # dies at start-up with "FATAL: ThreadSanitizer: unexpected memory mapping". A test binary run
  # with a filter that matches nothing probes for that, and only then do the tests run with
  # address-space randomization turned off for their process tree (setarch -R), which avoids
  # it without changing a system setting.
  local probe
  probe="$("$dir/ring_test" __no_such_test__ 2>&1 || true)"
  if grep -q "unexpected memory mapping" <<<"$probe"; then
    echo "TSan needs a non-randomized address space here: running ctest under setarch -R"
    setarch "$(uname -m)" -R ctest --test-dir "$dir" --output-on-failure
  else
    ctest --test-dir "$dir" --output-on-failure
  fi
}

run_asan() {
  local dir=build-asan
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer ($dir) =="
  # Debug: SQLite's own assertions (SQLITE_DEBUG) and API armor join the sanitizers.
  configure_and_build "$dir" Debug address
  export ASAN_OPTIONS="detect_leaks=1"
  export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"
  ctest --test-dir "$dir" --output-on-failure
}

runs=("$@")
if [[ ${#runs[@]} -eq 0 ]]; then runs=(tsan asan); fi
for run in "${runs[@]}"; do
  case "$run" in
    tsan) run_tsan ;;
    asan) run_asan ;;
    *) echo "unknown run '$run' (expected tsan or asan)" >&2; exit 2 ;;
  esac
done
echo "native tests passed: ${runs[*]}"
