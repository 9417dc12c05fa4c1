#!/usr/bin/env bash
# Owns the profile-guided build of the addon (GCC only): the SQLite amalgamation is compiled
# twice, first instrumented, then with the profile the instrumented addon recorded while it ran
# the training workload (scripts/pgo/train.mjs). The Linux prebuilds are built this way
# (.github/workflows/prebuild.yml); a source build on a user's machine is a plain -O3 build.
#
#   scripts/pgo/build.sh              build/Release/litepool.node with the profile
#   scripts/pgo/build.sh --prebuild   prebuilds/ with the profile (prebuildify --napi --strip
#                                     $PREBUILDIFY_FLAGS), as the prebuild workflow does
#
# Only sqlite3.c is instrumented (CFLAGS; the addon's C++ is not): that is where the time of a
# query goes. -fprofile-partial-training keeps the code the training never ran optimized as
# usual instead of treating it as cold. CFLAGS, CXXFLAGS and LDFLAGS already set (the musl
# prebuild links libstdc++ statically) are kept. Logs and profile: build-pgo-profile/. Run after `npm ci`; it compiles dist/ itself (the training runs
# through the public API). With a compiler other than GCC it says so and stops with status 3.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$(pwd)"
mode=build
case "${1:-}" in
  '') ;;
  --prebuild) mode=prebuild ;;
  *)
    echo "usage: scripts/pgo/build.sh [--prebuild]" >&2
    exit 2
    ;;
esac

compiler="${CC:-cc}"
if ! "$compiler" --version 2>/dev/null | grep -q 'Free Software Foundation'; then
  echo "scripts/pgo/build.sh: $compiler is not GCC; the profile-guided build needs GCC" >&2
  exit 3
fi

# Outside build/: node-gyp rebuild and prebuildify empty build/ before they compile. The build
# logs go there too.
profile="$root/build-pgo-profile"
rm -rf "$profile"
mkdir -p "$profile"
base_cflags="${CFLAGS:-}"
base_ldflags="${LDFLAGS:-}"
# npm run puts its node-gyp on PATH (and passes npm's nodedir setting along, as for `npm run build`).
if ! command -v node-gyp >/dev/null; then
  echo "scripts/pgo/build.sh: node-gyp is not on PATH; run it as npm run build:pgo" >&2
  exit 1
fi

echo "== pgo 1/4: the SQLite amalgamation and dist/"
node deps/fetch-sqlite.mjs --quiet
npm run --silent build:ts

echo "== pgo 2/4: instrumented build"
CFLAGS="$base_cflags -fprofile-generate=$profile -fprofile-update=prefer-atomic" \
  LDFLAGS="$base_ldflags -fprofile-generate" \
  node-gyp rebuild >"$profile/build.log" 2>&1 || {
  cat "$profile/build.log" >&2
  exit 1
}

echo "== pgo 3/4: training (scripts/pgo/train.mjs)"
node scripts/pgo/train.mjs
recorded="$(find "$profile" -name '*sqlite3.gcda' | head -n 1)"
if [ -z "$recorded" ]; then
  echo "scripts/pgo/build.sh: the training wrote no profile for sqlite3.c under $profile" >&2
  exit 1
fi
echo "profile: $recorded ($(wc -c <"$recorded") bytes)"

use_flags="$base_cflags -fprofile-use=$profile -fprofile-partial-training -fprofile-correction"
# The addon reports the build (exports.profileGuided, native/addon/addon.cc).
use_cxxflags="${CXXFLAGS:-} -DLITEPOOL_PROFILE_GUIDED=1"
echo "== pgo 4/4: optimized build ($mode)"
if [ "$mode" = prebuild ]; then
  rm -rf prebuilds
  # PREBUILDIFY_FLAGS is split into words on purpose (it may be empty).
  # shellcheck disable=SC2086
  CFLAGS="$use_flags" CXXFLAGS="$use_cxxflags" LDFLAGS="$base_ldflags" npx --no -- prebuildify --napi --strip ${PREBUILDIFY_FLAGS:-}
else
  CFLAGS="$use_flags" CXXFLAGS="$use_cxxflags" LDFLAGS="$base_ldflags" node-gyp rebuild >"$profile/build.log" 2>&1 || {
    cat "$profile/build.log" >&2
    exit 1
  }
fi
# A profile GCC did not find (another object path, say) would give a plain build silently: the
# hot code it laid out from the profile sits in a .text.hot section, which a plain build of
# sqlite3.c does not have.
object="$(find build -name sqlite3.o -path '*Release*' | head -n 1)"
if [ -z "$object" ] || ! LC_ALL=C grep -q -a '\.text\.hot' "$object"; then
  echo "scripts/pgo/build.sh: ${object:-sqlite3.o} was not compiled with the profile (no .text.hot section)" >&2
  exit 1
fi
echo "pgo build done: $object was compiled with the profile"
