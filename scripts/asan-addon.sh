#!/usr/bin/env bash
# Owns the AddressSanitizer + LeakSanitizer run of the addon itself (scripts/native-tests.sh
# covers the native core alone):
#   build   the addon, SQLite and the core with -fsanitize=address,undefined (CMake, RelWithDebInfo,
#           so SQLite keeps the release compile options) into build-asan-addon/; build/ is untouched;
#   suite   the JS test suite (vitest) against that addon, every Node.js process of it running with
#           the ASan runtime preloaded and leak detection on;
#   cycles  1,000 pools opened, used and closed with queries in flight
#           (test/fixtures/open-close-rss.mjs): LeakSanitizer must report nothing and RSS after GC
#           must stay flat (less than 64 MiB of growth).
# Leak reports of Node.js and V8 themselves are suppressed by native/test/lsan-node.supp, which
# says why each one is there. Linux with GCC or Clang. Exits non-zero on the first failure.
#
# Usage: scripts/asan-addon.sh [build|suite|cycles]...   (default: all three, in that order)
#        LITEPOOL_ASAN_CYCLES=200 scripts/asan-addon.sh cycles   (a shorter cycles run)
#        LITEPOOL_ASAN_DIR=build-asan LITEPOOL_ASAN_BUILD_TYPE=Debug scripts/asan-addon.sh build cycles
#          (what CI runs: reuses the Debug ASan build of SQLite and the core that
#          scripts/native-tests.sh made, so only the addon's own sources compile; the suite is not
#          run against it, since SQLITE_DEBUG changes the compile options test/05 checks and slows
#          the timing-bound tests of test/88 past their limits)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
dir="$root/${LITEPOOL_ASAN_DIR:-build-asan-addon}"
build_type="${LITEPOOL_ASAN_BUILD_TYPE:-RelWithDebInfo}"
jobs="${LITEPOOL_BUILD_JOBS:-2}"
cycles="${LITEPOOL_ASAN_CYCLES:-1000}"
rss_bound_mib=64

build() {
  echo "== build: the addon under AddressSanitizer + UBSan ($dir, $build_type) =="
  # A sanitizer configure leaves the addon out unless asked (CMakeLists.txt); its Node-API headers
  # come from the node-api-headers package (npm ci), as in any plain CMake build of the addon.
  local generator=()
  if [[ ! -f "$dir/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" -DLITEPOOL_SANITIZE=address \
    -DLITEPOOL_ADDON=ON
  cmake --build "$dir" -j "$jobs" --target litepool
  # node-gyp-build loads <LITEPOOL_PREBUILD>/build/Release/*.node in place of the usual addon.
  mkdir -p "$dir/addon-root/build/Release"
  ln -sf "$dir/litepool.node" "$dir/addon-root/build/Release/litepool.node"
  # The fixtures import the compiled library: built here, without the sanitizer runtime.
  npx tsc -p tsconfig.build.json
}

# Sets the environment every sanitized Node.js process inherits.
sanitize_env() {
  if [[ ! -f "$dir/litepool.node" ]]; then
    echo "no sanitized addon in $dir: run '$0 build' first" >&2
    exit 1
  fi
  local runtime
  runtime="$(${CXX:-c++} -print-file-name=libasan.so)"
  if [[ ! -f "$runtime" ]]; then
    echo "the ASan runtime (libasan.so) was not found by ${CXX:-c++} -print-file-name" >&2
    exit 1
  fi
  export LITEPOOL_PREBUILD="$dir/addon-root"
  # Node.js itself is not instrumented, so the ASan runtime must be loaded before anything else.
  export LD_PRELOAD="$runtime"
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$root/native/test/lsan-node.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
}

suite() {
  echo "== suite: the JS tests against the sanitized addon =="
  # Left out, and why:
  #  - 42-open-close-rss: bounds RSS, but ASan holds up to 256 MiB of freed memory in quarantine
  #    (to catch use after free); `cycles` below runs the same fixture with a small quarantine.
  (sanitize_env && npx vitest run --exclude test/42-open-close-rss.test.ts)
}

cycles() {
  echo "== cycles: $cycles pools opened, used and closed under LeakSanitizer =="
  local scratch
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/litepool-asan-cycles-XXXXXX")"
  local out="$scratch/result.json"
  local status=0
  (
    sanitize_env
    # A 16 MiB quarantine: freed memory comes back to the allocator soon enough for RSS to show
    # what the pools keep, while a use after free of recent blocks is still caught.
    export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=16"
    node --expose-gc test/fixtures/open-close-rss.mjs "$scratch" "$cycles" 50 >"$out"
  ) || status=$?
  if [[ $status -ne 0 ]]; then
    rm -rf "$scratch"
    echo "the cycles run failed (exit $status): see the sanitizer report above" >&2
    exit 1
  fi
  RESULT="$out" BOUND="$rss_bound_mib" node -e '
    const { readFileSync } = require("node:fs");
    const { samples, seconds, cycles } = JSON.parse(readFileSync(process.env.RESULT, "utf8"));
    const first = samples[0];
    const last = samples.at(-1);
    const growth = last.rssMiB - first.rssMiB;
    console.log(`${cycles} pools in ${seconds.toFixed(1)} s; RSS after GC: ` +
      samples.map((s) => `${s.label} ${s.rssMiB.toFixed(1)} MiB`).join(", "));
    const problems = [];
    if (growth >= Number(process.env.BOUND)) problems.push(`RSS grew by ${growth.toFixed(1)} MiB`);
    for (const s of samples) {
      if (s.threads !== first.threads) problems.push(`${s.label}: ${s.threads} threads, ${first.threads} at the start`);
      if (s.fds !== first.fds) problems.push(`${s.label}: ${s.fds} file descriptors, ${first.fds} at the start`);
    }
    if (problems.length > 0) { console.error(problems.join("\n")); process.exit(1); }
    console.log(`no leak reported; RSS growth ${growth.toFixed(1)} MiB (bound ${process.env.BOUND} MiB); threads and descriptors back to the start`);
  '
  rm -rf "$scratch"
}

runs=("$@")
if [[ ${#runs[@]} -eq 0 ]]; then runs=(build suite cycles); fi
for run in "${runs[@]}"; do
  case "$run" in
    build) build ;;
    suite) suite ;;
    cycles) cycles ;;
    *) echo "unknown run '$run' (expected build, suite or cycles)" >&2; exit 2 ;;
  esac
done
echo "addon sanitizer runs passed: ${runs[*]}"
