// Owns the wake-up from the worker threads to the JS thread: see completion.h.
#include "completion.h"

#include "pool_wrap.h"

namespace litepool {

// JS thread (called by the thread-safe function on the event loop).
void drainCompletions(Napi::Env env, Napi::Function /*unused*/, PoolWrap* pool, void* /*data*/) {
  if (env != nullptr && pool != nullptr) pool->drain(env);
}

}  // namespace litepool
