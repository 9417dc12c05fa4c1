// Owns the JS object behind lib/native/native-pool.ts's NativePool: one Engine, the wake-up from
// its workers, and the teardown of both.
//
// Lifetime: the wrapper holds onBatch strongly, and onBatch (a lib/ closure) reaches the wrapper
// again, so while that reference lives the wrapper can never be garbage collected. join() and
// abort() therefore free everything native at once (the engine with its request slab and rings,
// the kept batch buffer, the registered SQL texts) and drop onBatch: a closed pool costs a few
// hundred bytes until the collector takes the wrapper itself.
//
// Every method runs on the JS thread that created the pool. Worker threads never touch this
// object: they only push completions and call the thread-safe function (completion.h).
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "batch_encoder.h"
#include "completion.h"
#include "engine.h"

namespace litepool {

class PoolWrap;

// What a pool's own submit function knows of its pool (see PoolWrap::installSubmit): the pool,
// until its wrapper is destroyed (then null). The function frees it when it is collected, and
// tells the pool first if the pool is still there. JS thread only.
struct SubmitBinding {
  PoolWrap* pool = nullptr;
};

class PoolWrap final : public Napi::ObjectWrap<PoolWrap> {
 public:
  static Napi::Function define(Napi::Env env);

  // JS thread: new NativePool(config, onBatch).
  explicit PoolWrap(const Napi::CallbackInfo& info);
  // JS thread (garbage collection or environment teardown).
  ~PoolWrap() override;

  // JS thread: hands up to kMaxDrain finished requests to onBatch in one call.
  void drain(Napi::Env env);

  // The most completions one call of onBatch receives; more wait for the next poll().
  static constexpr std::uint32_t kMaxDrain = 256;

 private:
  Napi::Value startWriter(const Napi::CallbackInfo& info);
  Napi::Value startReaders(const Napi::CallbackInfo& info);
  // submit is a raw N-API function of each pool object's own (installSubmit), not a prototype
  // method: it reaches its pool through the function's data, so the per-request call needs
  // neither napi_unwrap nor node-addon-api's CallbackInfo (which allocates for 8 arguments).
  // pool_submit.cc holds these four, registerSql and forgetSql.
  void installSubmit(napi_env env, napi_value self);
  static napi_value submitRaw(napi_env env, napi_callback_info info);
  static void onSubmitFinalized(napi_env env, void* data, void* hint);
  napi_value submit(napi_env env, std::size_t argc, const napi_value* argv);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  static napi_value pollRaw(napi_env env, napi_callback_info info);
  Napi::Value registerSql(const Napi::CallbackInfo& info);
  Napi::Value forgetSql(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value ref(const Napi::CallbackInfo& info);
  Napi::Value unref(const Napi::CallbackInfo& info);
  Napi::Value join(const Napi::CallbackInfo& info);
  Napi::Value abort(const Napi::CallbackInfo& info);

  // JS thread: stops every thread and releases the wake-up. Idempotent.
  void shutDown();
  // JS thread, once every worker is joined: frees the engine and the notifier (no JS). Keeps the
  // engine's last counters for stats().
  void freeEngine();
  // JS thread, after shutDown() or a join: frees the engine and every buffer, and drops onBatch
  // and the cleanup hook. Idempotent.
  void releaseNative(napi_env env);
  // JS thread: throws unless the engine is still there (a call after join() or abort()).
  Engine& liveEngine(napi_env env);
  void releaseCompletionFunction();
  // JS thread: environment cleanup hook (worker termination, process exit). Touches no JS.
  static void onEnvironmentTeardown(void* self);

  std::unique_ptr<Engine> engine_;
  EngineStats finalStats_;  // the engine's counters when it was freed (stats() after close)
  std::unique_ptr<CompletionNotifier> notifier_;
  CompletionFunction completionFunction_;
  Napi::FunctionReference onBatch_;
  BatchEncoder encoder_;
  std::vector<std::uint32_t> drained_;  // the slots of the batch being encoded
  std::vector<std::string> sqlTexts_;  // registered SQL texts, by id (registerSql)
  // Request::namesEpoch of every request submitted now: one more each time lib/ forgets what it
  // knew of its SQL texts, column names included (forgetSql).
  std::uint32_t namesEpoch_ = 0;
  SubmitBinding* submitBinding_ = nullptr;  // shared with this pool's submit function
  napi_env env_ = nullptr;
  bool cleanupHookRegistered_ = false;
  bool functionReleased_ = false;
};

}  // namespace litepool
