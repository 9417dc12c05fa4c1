#!/usr/bin/env bash
# Owns the install tests of the published package: what a consumer gets from `npm install litepool`.
#
#   1. Prebuilt binary: builds this platform's N-API prebuild into prebuilds/ (prebuildify), packs
#      the package, checks the tarball's contents, then installs it into a fresh project with every
#      compiler and build tool hidden from PATH and runs a query. The prebuilt binary must serve:
#      no build/ directory may appear.
#   2. Source fallback: repacks the same tarball without prebuilds/ and installs it into another
#      fresh project with compilers available. node-gyp must build the addon from the shipped
#      deps/sqlite/ amalgamation without fetching it again: an `npm` placed first on PATH refuses
#      `npm pack` (the SQLite fetch) and logs every call.
#
# Dependencies (node-addon-api, node-gyp-build) come from the registry as for any consumer.
# Temporary directories are removed on exit. Exits non-zero on the first failure.
#
# Usage: scripts/install-tests.sh      (run after `npm ci`; JOBS=<n|max> sets node-gyp's parallelism)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$SECONDS

export JOBS="${JOBS:-max}"

work="$(mktemp -d "${TMPDIR:-/tmp}/litepool-install-tests.XXXXXX")"
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s ==\n' "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
# run_logged <log file> <command>...: runs quietly, shows the log only when the command fails.
run_logged() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "command failed: $*"
  fi
}

platform="$(node -p 'process.platform + "-" + process.arch')"
query='import { open } from "litepool"; const db = await open("x.db"); console.log((await db.get("SELECT 41 + 1 AS v")).v); await db.close()'

# new_project <dir>: an empty ESM consumer project.
new_project() {
  mkdir -p "$1"
  (cd "$1" && npm init -y --loglevel=error >/dev/null && npm pkg set type=module --loglevel=error)
}

# check_query <project dir> [env assignments...]: the consumer's first query must print 42.
check_query() {
  local dir="$1" out
  shift
  out="$(cd "$dir" && env "$@" node --input-type=module -e "$query")" || fail "query failed in $dir"
  [[ "$out" == "42" ]] || fail "query printed '$out', expected 42"
}

# ---------------------------------------------------------------------------------------------
step "prebuild for $platform (prebuildify --napi --strip)"
rm -rf "prebuilds/$platform"
run_logged "$work/prebuild.log" npm exec -- prebuildify --napi --strip
shopt -s nullglob
prebuilt=(prebuilds/"$platform"/*.node)
shopt -u nullglob
((${#prebuilt[@]} > 0)) || fail "prebuildify left no prebuilds/$platform/*.node"
pass "prebuild ${prebuilt[*]} ($(wc -c <"${prebuilt[0]}") bytes)"

step "npm pack"
mkdir -p "$work/pack"
run_logged "$work/pack.log" npm pack --pack-destination "$work/pack"
tarball=("$work"/pack/*.tgz)
[[ -f "${tarball[0]}" ]] || fail "npm pack produced no tarball"
tarball="${tarball[0]}"
tar tzf "$tarball" | sort >"$work/contents.txt"

# expect_entry <extended regex> <description>
expect_entry() {
  grep -Eq "$1" "$work/contents.txt" || fail "tarball lacks $2"
}
expect_entry '^package/dist/index\.js$' 'dist/index.js'
expect_entry '^package/dist/index\.d\.ts$' 'dist/index.d.ts'
expect_entry "^package/prebuilds/$platform/[^/]+\\.node\$" "prebuilds/$platform/*.node"
expect_entry '^package/deps/sqlite/sqlite3\.c$' 'deps/sqlite/sqlite3.c'
expect_entry '^package/deps/sqlite/sqlite3\.h$' 'deps/sqlite/sqlite3.h'
expect_entry '^package/deps/fetch-sqlite\.mjs$' 'deps/fetch-sqlite.mjs'
expect_entry '^package/binding\.gyp$' 'binding.gyp'
expect_entry '^package/native/core/[^/]+\.cc$' 'native/core/*.cc'
expect_entry '^package/native/addon/[^/]+\.cc$' 'native/addon/*.cc'
# Every source binding.gyp compiles must be in the tarball.
while read -r source; do
  expect_entry "^package/${source//./\\.}\$" "$source (a binding.gyp source)"
done < <(grep -Eo "'native/[^']+\\.cc'" binding.gyp | tr -d "'")
if grep -E '^package/(test|bench|build[^/]*|lib|examples|docs|node_modules)/' "$work/contents.txt" >"$work/unwanted.txt"; then
  head -5 "$work/unwanted.txt" >&2
  fail "tarball contains files it must not ship (test/, bench/, build*/, lib/, examples/, docs/, node_modules/)"
fi
pass "tarball $(basename "$tarball") ($(wc -c <"$tarball") bytes, $(wc -l <"$work/contents.txt") files): dist, prebuild, SQLite sources, binding.gyp and native sources present; no test/bench/build"

# ---------------------------------------------------------------------------------------------
step "install with the prebuilt binary, no compiler or build tool on PATH"
# A PATH of symlinks to just what npm, node and the lifecycle shell need.
toolbin="$work/toolbin"
mkdir -p "$toolbin"
for tool in node npm npx sh bash env \
  basename cat chmod cp cut dirname echo expr false grep head ln ls mkdir mktemp mv printf pwd \
  readlink realpath rm rmdir sed sort tail tar test touch tr true uname wc which; do
  resolved="$(command -v "$tool" 2>/dev/null || true)"
  [[ "$resolved" == /* ]] || continue # a shell builtin with no binary, or missing
  ln -s "$resolved" "$toolbin/$tool"
done
for tool in node npm sh; do
  [[ -e "$toolbin/$tool" ]] || fail "could not find $tool for the restricted PATH"
done
for tool in cc c++ gcc g++ clang clang++ make gmake python python3 cmake ninja; do
  if PATH="$toolbin" command -v "$tool" >/dev/null 2>&1; then
    fail "$tool is still resolvable on the restricted PATH"
  fi
done
pass "restricted PATH: cc, c++, gcc, g++, clang, make, python3, cmake, ninja not resolvable"

consumer="$work/consumer-prebuilt"
new_project "$consumer"
(cd "$consumer" && run_logged "$work/install-prebuilt.log" \
  env PATH="$toolbin" npm install "$tarball" --no-audit --no-fund)
[[ -d "$consumer/node_modules/litepool/prebuilds/$platform" ]] || fail "installed package has no prebuilds/$platform"
[[ ! -e "$consumer/node_modules/litepool/build" ]] || fail "node_modules/litepool/build exists: the install compiled instead of using the prebuild"
pass "npm install succeeded without compilers; node_modules/litepool/build does not exist"
check_query "$consumer" PATH="$toolbin"
pass "query through the prebuilt binary printed 42"

# ---------------------------------------------------------------------------------------------
step "install from source (no prebuilds), SQLite from the tarball, no fetch"
mkdir -p "$work/unpacked" "$work/pack-source"
tar xzf "$tarball" -C "$work/unpacked"
rm -rf "$work/unpacked/package/prebuilds"
(cd "$work/unpacked/package" && run_logged "$work/pack-source.log" \
  npm pack --ignore-scripts --pack-destination "$work/pack-source")
source_tarball=("$work"/pack-source/*.tgz)
source_tarball="${source_tarball[0]}"
[[ -f "$source_tarball" ]] || fail "repacking without prebuilds produced no tarball"
tar tzf "$source_tarball" >"$work/source-contents.txt"
if grep -q '^package/prebuilds/' "$work/source-contents.txt"; then fail "source tarball still has prebuilds/"; fi
grep -q '^package/deps/sqlite/sqlite3\.c$' "$work/source-contents.txt" || fail "source tarball lacks deps/sqlite/sqlite3.c"
pass "source tarball $(basename "$source_tarball") has no prebuilds/ and keeps deps/sqlite/"

# An npm first on PATH that logs every call and refuses `npm pack` (how deps/fetch-sqlite.mjs
# downloads the amalgamation); everything else goes to the real npm.
real_npm="$(command -v npm)"
guard="$work/npm-guard"
npm_log="$work/npm-calls.log"
mkdir -p "$guard"
: >"$npm_log"
cat >"$guard/npm" <<EOF
#!/usr/bin/env bash
printf '%s\n' "npm \$*" >>'$npm_log'
for arg in "\$@"; do
  if [[ "\$arg" == pack ]]; then
    echo "install-tests: refusing 'npm \$*': the fallback build must not fetch SQLite" >&2
    exit 97
  fi
done
exec '$real_npm' "\$@"
EOF
chmod +x "$guard/npm"
[[ "$(PATH="$guard:$PATH" command -v npm)" == "$guard/npm" ]] || fail "the npm guard is not first on PATH"

consumer="$work/consumer-source"
new_project "$consumer"
(cd "$consumer" && run_logged "$work/install-source.log" \
  env PATH="$guard:$PATH" npm install "$source_tarball" --no-audit --no-fund)
[[ -f "$consumer/node_modules/litepool/build/Release/litepool.node" ]] ||
  fail "node_modules/litepool/build/Release/litepool.node is missing after the source install"
[[ ! -e "$consumer/node_modules/litepool/prebuilds" ]] || fail "source install has a prebuilds/ directory"
pass "npm install compiled node_modules/litepool/build/Release/litepool.node"
if grep -Eq '(^| )pack( |$)' "$npm_log"; then
  cat "$npm_log" >&2
  fail "the source install called npm pack (the SQLite fetch)"
fi
grep -q '^npm install ' "$npm_log" || fail "the npm guard saw no calls: it was not on PATH"
pass "no 'npm pack' during the install (npm calls: $(wc -l <"$npm_log")): deps/sqlite/ from the tarball was used"
check_query "$consumer"
pass "query through the source-built addon printed 42"

printf '\nPASS: install tests (%ss)\n' "$((SECONDS - started))"
