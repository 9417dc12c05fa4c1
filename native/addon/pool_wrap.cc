// Owns the JS object behind NativePool: see pool_wrap.h. Its submit function and the registered
// SQL texts are in pool_submit.cc; giving freed memory back after a close in heap_trim.cc. Every
// function here runs on the JS thread.
#include "pool_wrap.h"

#include <system_error>

#include "heap_trim.h"

namespace litepool {

namespace {

std::string stringField(const Napi::Object& object, const char* key, const char* fallback) {
  const Napi::Value value = object.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string(fallback);
}

int intField(const Napi::Object& object, const char* key, int fallback) {
  const Napi::Value value = object.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().Int32Value() : fallback;
}

bool boolField(const Napi::Object& object, const char* key, bool fallback) {
  const Napi::Value value = object.Get(key);
  return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}

// JS thread: runs `start` (Engine::startWriter or startReaders), turning a thread the system
// refused to create (std::system_error) into a JS error. node-addon-api passes only a
// Napi::Error on to JS: any other exception leaving a method ends the process.
template <typename Start>
auto startingThreads(Napi::Env env, Start start) -> decltype(start()) {
  try {
    return start();
  } catch (const std::system_error& error) {
    throw Napi::Error::New(env, std::string("litepool: could not start a worker thread: ") + error.what());
  }
}

}  // namespace

Napi::Function PoolWrap::define(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "NativePool",
                     {
                         InstanceMethod<&PoolWrap::startWriter>("startWriter"),
                         InstanceMethod<&PoolWrap::startReaders>("startReaders"),
                         InstanceMethod<&PoolWrap::cancel>("cancel"),
                         InstanceMethod<&PoolWrap::registerSql>("registerSql"),
                         InstanceMethod<&PoolWrap::forgetSql>("forgetSql"),
                         InstanceMethod<&PoolWrap::stats>("stats"),
                         InstanceMethod<&PoolWrap::ref>("ref"),
                         InstanceMethod<&PoolWrap::unref>("unref"),
                         InstanceMethod<&PoolWrap::join>("join"),
                         InstanceMethod<&PoolWrap::abort>("abort"),
                     });
  // poll() runs from setImmediate, so it can be reached while a worker thread's environment
  // terminates, when node-addon-api's method wrapper itself fails and throws past V8. It is
  // therefore a raw N-API function that tolerates every failure.
  napi_value poll = nullptr;
  napi_create_function(env, "poll", NAPI_AUTO_LENGTH, &PoolWrap::pollRaw, nullptr, &poll);
  constructor.Get("prototype").As<Napi::Object>().Set("poll", Napi::Value(env, poll));
  return constructor;
}

PoolWrap::PoolWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PoolWrap>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  const Napi::Object options = info[0].As<Napi::Object>();
  onBatch_ = Napi::Persistent(info[1].As<Napi::Function>());

  EngineConfig config;
  config.connection.path = stringField(options, "path", "");
  config.connection.memory = boolField(options, "memory", false);
  config.connection.create = boolField(options, "create", true);
  config.connection.busyTimeoutMs = intField(options, "busyTimeout", 5000);
  config.connection.cacheSizeKiB = intField(options, "cacheSize", 16000);
  config.connection.statementCacheSize = static_cast<std::size_t>(intField(options, "statementCacheSize", 128));
  config.connection.synchronous = stringField(options, "synchronous", "NORMAL");
  config.connection.closeCheckpoint = stringField(options, "closeCheckpoint", "TRUNCATE");
  config.connection.vfs = stringField(options, "vfs", "");
  const Napi::Value pragmas = options.Get("pragmas");
  if (pragmas.IsArray()) {
    const Napi::Array list = pragmas.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) config.connection.pragmas.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  }
  config.readers = config.connection.memory ? 0 : intField(options, "readers", 4);
  config.slots = static_cast<std::uint32_t>(intField(options, "slots", 4096));
  config.spinMicros = static_cast<std::uint32_t>(intField(options, "spinMicros", 50));
  config.timesliceMicros = static_cast<std::uint32_t>(intField(options, "timesliceMicros", 1000));
  config.groupMaxBatch = static_cast<std::uint32_t>(intField(options, "groupMaxBatch", 256));
  config.groupMaxDelayMicros = static_cast<std::uint32_t>(intField(options, "groupMaxDelayMicros", 0));
#ifdef LITEPOOL_FAULT_VFS
  // The fault-injection test build only: a reader thread that cannot start (engine.h).
  config.testFailReaderStart = intField(options, "testFailReaderStart", -1);
#endif

  completionFunction_ = CompletionFunction::New(env, "litepool:completions", 0, 1, this);
  notifier_ = std::make_unique<CompletionNotifier>(completionFunction_);
  engine_ = std::make_unique<Engine>(std::move(config), notifier_.get());
  // Registered after the thread-safe function: cleanup hooks run in reverse order, so ours joins
  // the workers before Node.js tears the thread-safe function down.
  napi_add_env_cleanup_hook(env, &PoolWrap::onEnvironmentTeardown, this);
  cleanupHookRegistered_ = true;
  try {
    installSubmit(env, info.This());
  } catch (...) {
    // The destructor never runs for a constructor that throws: stop and free here, and take the
    // cleanup hook back, since it would otherwise reach this object after it is gone.
    shutDown();
    releaseNative(env);
    throw;
  }
}

PoolWrap::~PoolWrap() {
  shutDown();
  releaseNative(env_);
  // The submit function outlives its pool: it frees the binding when it goes (onSubmitFinalized).
  if (submitBinding_ != nullptr) submitBinding_->pool = nullptr;
}

// JS thread (environment teardown). Joins the workers and frees the engine; calls no JS (the
// destructor, run when the environment finalizes the wrapper, releases the JS references).
void PoolWrap::onEnvironmentTeardown(void* self) {
  auto* pool = static_cast<PoolWrap*>(self);
  pool->cleanupHookRegistered_ = false;
  pool->shutDown();
  pool->freeEngine();
}

void PoolWrap::shutDown() {
  if (engine_) engine_->abort();
  releaseCompletionFunction();
}

// JS thread, once every thread is joined: no worker can touch the engine or the notifier now.
void PoolWrap::freeEngine() {
  if (!engine_) return;
  finalStats_ = engine_->stats();
  finalStats_.readersBusy = 0;
  finalStats_.readersBusyPinned = 0;
  finalStats_.writerBusy = false;
  engine_.reset();
  notifier_.reset();
}

void PoolWrap::releaseNative(napi_env env) {
  freeEngine();
  onBatch_.Reset();
  // Released like onBatch_ (a Napi::FunctionReference) releases its own reference.
  encoder_.release(env);
  std::vector<std::string>().swap(sqlTexts_);
  std::vector<std::uint32_t>().swap(drained_);
  if (cleanupHookRegistered_) {
    napi_remove_env_cleanup_hook(env, &PoolWrap::onEnvironmentTeardown, this);
    cleanupHookRegistered_ = false;
  }
}

Engine& PoolWrap::liveEngine(napi_env env) {
  if (!engine_) throw Napi::Error::New(env, "litepool: the native pool is closed");
  return *engine_;
}

// Abort, not release: a wake-up still queued on the event loop must not be delivered to a pool
// that is going away; aborted calls reach drainCompletions without an env and do nothing.
void PoolWrap::releaseCompletionFunction() {
  if (functionReleased_) return;
  functionReleased_ = true;
  completionFunction_.Abort();
}

// JS thread: the thread-safe function's callback, or poll(). Hands at most kMaxDrain completions
// to lib/, which calls poll() afterwards: that re-arms the announcement from the workers or,
// when more completions are waiting, drains again. lib/ decides when to poll (back to back for a
// bounded share of one event-loop turn, then on the next turn), so timers and I/O run between
// batches however fast the workers finish (the thread-safe function alone would dispatch every
// announcement made during a callback in that same turn).
//
// Raw N-API with every failure tolerated: this also runs from the thread-safe function, outside
// any wrapper that would turn a C++ exception into a JS one, and while a worker thread's
// environment terminates (when N-API calls fail and nothing can settle any more).
void PoolWrap::drain(Napi::Env env) {
  if (!engine_ || onBatch_.IsEmpty()) return;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  drained_.clear();
  std::size_t cells = 0;
  std::uint32_t slot;
  while (drained_.size() < kMaxDrain && engine_->popCompletion(slot)) {
    drained_.push_back(slot);
    cells += BatchEncoder::cellsFor(engine_->request(slot));
  }
  // Nothing yet (a push still in progress): an empty batch still makes lib/ poll again later.
  if (!drained_.empty() || engine_->rearm()) {
    const bool encoded = encoder_.begin(env, cells);
    for (std::uint32_t done : drained_) {
      if (encoded) encoder_.add(env, done, engine_->request(done));
      engine_->releaseSlot(done);
    }
    napi_value callback = nullptr;
    napi_value receiver = nullptr;
    if (encoded && napi_get_reference_value(env, onBatch_, &callback) == napi_ok && callback != nullptr &&
        napi_get_undefined(env, &receiver) == napi_ok) {
      // lib/ never lets onBatch throw; a throw would surface as an uncaught exception.
      if (const std::vector<napi_value>* args = encoder_.arguments(env)) {
        napi_call_function(env, receiver, callback, args->size(), args->data(), nullptr);
      }
    }
    encoder_.end();
  }
  napi_close_handle_scope(env, scope);
}

Napi::Value PoolWrap::startWriter(const Napi::CallbackInfo& info) {
  Engine& engine = liveEngine(info.Env());
  return Napi::Number::New(info.Env(), startingThreads(info.Env(), [&engine] { return engine.startWriter(); }));
}

// The readers started before one that could not start run on: abort() stops and joins them.
Napi::Value PoolWrap::startReaders(const Napi::CallbackInfo& info) {
  Engine& engine = liveEngine(info.Env());
  const std::vector<std::uint32_t> slots = startingThreads(info.Env(), [&engine] { return engine.startReaders(); });
  Napi::Array result = Napi::Array::New(info.Env(), slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) result.Set(static_cast<uint32_t>(i), slots[i]);
  return result;
}

// poll(): JS thread, after a batch (see lib/dispatcher.ts). Re-arms the announcement, or drains
// again.
napi_value PoolWrap::pollRaw(napi_env env, napi_callback_info info) {
  napi_value self = nullptr;
  std::size_t argc = 0;
  void* wrapped = nullptr;
  if (napi_get_cb_info(env, info, &argc, nullptr, &self, nullptr) != napi_ok || self == nullptr) return nullptr;
  if (napi_unwrap(env, self, &wrapped) != napi_ok || wrapped == nullptr) return nullptr;
  auto* pool = static_cast<PoolWrap*>(wrapped);
  if (pool->engine_ && pool->engine_->rearm()) pool->drain(Napi::Env(env));
  return nullptr;
}

Napi::Value PoolWrap::cancel(const Napi::CallbackInfo& info) {
  if (engine_) engine_->cancel(info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

// stats(): after join() or abort(), the engine's last counters (no reader busy or pinned).
Napi::Value PoolWrap::stats(const Napi::CallbackInfo& info) {
  const EngineStats s = engine_ ? engine_->stats() : finalStats_;
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("readers", s.readers);
  result.Set("readersBusy", s.readersBusy);
  result.Set("readersBusyPinned", s.readersBusyPinned);
  result.Set("writerBusy", s.writerBusy);
  result.Set("readerRingDepth", static_cast<double>(s.readerRingDepth));
  result.Set("writerRingDepth", static_cast<double>(s.writerRingDepth));
  result.Set("completionRingDepth", static_cast<double>(s.completionRingDepth));
  result.Set("readersPinned", engine_ ? engine_->pinnedReaders() : 0);
  const std::vector<double> idle = engine_ ? engine_->idleMillis() : std::vector<double>();
  Napi::Array idleArray = Napi::Array::New(info.Env(), idle.size());
  for (std::size_t i = 0; i < idle.size(); ++i) idleArray.Set(static_cast<uint32_t>(i), idle[i]);
  result.Set("idleMillis", idleArray);
  const std::vector<double> ages = engine_ ? engine_->transactionMillis() : std::vector<double>();
  Napi::Array ageArray = Napi::Array::New(info.Env(), ages.size());
  for (std::size_t i = 0; i < ages.size(); ++i) ageArray.Set(static_cast<uint32_t>(i), ages[i]);
  result.Set("transactionMillis", ageArray);
  result.Set("groupCommits", static_cast<double>(s.groupCommits));
  result.Set("groupedWrites", static_cast<double>(s.groupedWrites));
  result.Set("yields", static_cast<double>(s.yields));
  result.Set("walFrames", static_cast<double>(s.walFrames));
  result.Set("walBackfilled", static_cast<double>(s.walBackfilled));
  result.Set("walPageSize", static_cast<double>(s.walPageSize));
  return result;
}

Napi::Value PoolWrap::ref(const Napi::CallbackInfo& info) {
  if (!functionReleased_) completionFunction_.Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value PoolWrap::unref(const Napi::CallbackInfo& info) {
  if (!functionReleased_) completionFunction_.Unref(info.Env());
  return info.Env().Undefined();
}

// join(): every worker has completed its Close request; the threads are exiting or gone. Frees
// everything native (see pool_wrap.h): only stats() answers afterwards.
Napi::Value PoolWrap::join(const Napi::CallbackInfo& info) {
  if (engine_) engine_->join();
  releaseCompletionFunction();
  releaseNative(info.Env());
  returnFreedMemory(info.Env());
  return info.Env().Undefined();
}

// abort(): cancels whatever runs, joins and frees everything native (used when open() fails
// half way).
Napi::Value PoolWrap::abort(const Napi::CallbackInfo& info) {
  shutDown();
  releaseNative(info.Env());
  returnFreedMemory(info.Env());
  return info.Env().Undefined();
}

}  // namespace litepool
