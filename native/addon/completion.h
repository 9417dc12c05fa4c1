// Owns the wake-up from the worker threads to the JS thread.
//
// Workers call onCompletionsReady() only for the first completion after the JS thread re-armed
// the announcement (Engine::complete, Engine::rearm), so the JS thread gets one callback per
// batch, not one per request. The thread-safe function queues that callback onto the event loop;
// its JS-thread side calls back into the pool to drain the ring (PoolWrap::drain).
#pragma once

#include <napi.h>

#include "engine.h"

namespace litepool {

class PoolWrap;

// JS thread: Drains the completion ring of `pool` (the thread-safe function's call_js).
void drainCompletions(Napi::Env env, Napi::Function unused, PoolWrap* pool, void* data);

using CompletionFunction = Napi::TypedThreadSafeFunction<PoolWrap, void, drainCompletions>;

class CompletionNotifier final : public CompletionListener {
 public:
  explicit CompletionNotifier(CompletionFunction function) : function_(function) {}
  // Worker threads. Never blocks; after teardown the call is refused, which is harmless.
  void onCompletionsReady() noexcept override { function_.NonBlockingCall(); }

 private:
  CompletionFunction function_;
};

}  // namespace litepool
