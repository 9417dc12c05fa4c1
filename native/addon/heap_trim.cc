// Owns giving the heap a closed pool freed back to the system (glibc's malloc_trim, on the libuv
// thread pool). Every function here runs on the JS thread, except trimHeap (a libuv thread-pool
// thread).
#include "heap_trim.h"

#include <atomic>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace litepool {

#if defined(__GLIBC__)
namespace {

// A trim is queued and has not started yet: closes meanwhile need no trim of their own.
std::atomic<bool> trimQueued{false};

struct TrimWork {
  napi_async_work work = nullptr;
};

// A libuv thread-pool thread (napi_async_work execute): returns freed heap memory to the system.
void trimHeap(napi_env /*env*/, void* /*data*/) {
  trimQueued.store(false, std::memory_order_release);
  malloc_trim(0);
}

// JS thread (napi_async_work complete, also when the work was cancelled).
void trimDone(napi_env env, napi_status status, void* data) {
  // Cancelled (its environment went away first): trimHeap never ran to clear the flag.
  if (status == napi_cancelled) trimQueued.store(false, std::memory_order_release);
  auto* trim = static_cast<TrimWork*>(data);
  napi_delete_async_work(env, trim->work);
  delete trim;
}

}  // namespace
#endif

// JS thread, after a pool freed its engine. glibc keeps memory freed by the pool's threads
// (SQLite's page and statement caches, the request slab) in its arenas unless it sits at the very
// top of one: 1,000 pools opened and closed one after another left 20-30 MB more RSS behind than
// with a trim. malloc_trim(0) gives the free pages back, but takes up to tens of milliseconds on a
// heap of hundreds of megabytes, so it runs on the libuv thread pool, at most one queued at a
// time. Other C libraries are left to return memory their own way.
void returnFreedMemory(napi_env env) {
#if defined(__GLIBC__)
  if (trimQueued.exchange(true, std::memory_order_acq_rel)) return;
  auto* trim = new TrimWork();
  napi_value name = nullptr;
  if (napi_create_string_utf8(env, "litepool:trim", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, trimHeap, trimDone, trim, &trim->work) != napi_ok) {
    delete trim;
    trimQueued.store(false, std::memory_order_release);
    return;
  }
  if (napi_queue_async_work(env, trim->work) != napi_ok) {
    napi_delete_async_work(env, trim->work);
    delete trim;
    trimQueued.store(false, std::memory_order_release);
  }
#else
  (void)env;
#endif
}

}  // namespace litepool
