// Owns giving the heap a closed pool freed back to the system: see heap_trim.cc.
#pragma once

#include <node_api.h>

namespace litepool {

// JS thread, after a pool freed its engine: queues one malloc_trim on the libuv thread pool
// (glibc; at most one queued at a time); does nothing with other C libraries.
void returnFreedMemory(napi_env env);

}  // namespace litepool
