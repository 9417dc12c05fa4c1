// Owns the module's entry point: exports NativePool, the SQLite library version, whether SQLite
// was compiled with a profile (scripts/pgo/build.sh) and the compiled contract numbers
// (contract_export.h).
// Runs on the JS thread of each environment (main thread or worker thread) that loads it.
#include <napi.h>

#include "contract_export.h"
#include "pool_wrap.h"
#include "sqlite3.h"
#ifdef LITEPOOL_FAULT_VFS
#include "fault_binding.h"
#endif

// Defined to 1 by scripts/pgo/build.sh for the build that uses the recorded profile.
#ifndef LITEPOOL_PROFILE_GUIDED
#define LITEPOOL_PROFILE_GUIDED 0
#endif

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativePool", litepool::PoolWrap::define(env));
  exports.Set("sqliteVersion", Napi::String::New(env, sqlite3_libversion()));
  exports.Set("profileGuided", Napi::Boolean::New(env, LITEPOOL_PROFILE_GUIDED != 0));
  exports.Set("contract", litepool::contractObject(env));
#ifdef LITEPOOL_FAULT_VFS
  // The fault-injection test build only (scripts/build-fault-addon.sh): see native/test-vfs/.
  exports.Set("faultVfs", litepool::fault::binding(env));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(litepool, init)
