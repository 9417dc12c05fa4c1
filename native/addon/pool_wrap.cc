// Owns the JS object behind NativePool: see pool_wrap.h. Every function here runs on the JS
// thread, except trimHeap (a libuv thread-pool thread).
#include "pool_wrap.h"

#include <atomic>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "convert.h"

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

#if defined(__GLIBC__)
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

// JS thread, from the constructor: defines `submit` on the new pool object itself, a function
// whose data leads back to this pool (see pool_wrap.h).
void PoolWrap::installSubmit(napi_env env, napi_value self) {
  auto* binding = new SubmitBinding{this};
  napi_value submit = nullptr;
  if (napi_create_function(env, "submit", NAPI_AUTO_LENGTH, &PoolWrap::submitRaw, binding, &submit) != napi_ok) {
    delete binding;
    throw Napi::Error::New(env, "litepool: could not create the pool's submit function");
  }
  if (napi_add_finalizer(env, submit, binding, &PoolWrap::onSubmitFinalized, nullptr, nullptr) != napi_ok) {
    delete binding;  // the function is reachable from nowhere and has no finalizer: never called
    throw Napi::Error::New(env, "litepool: could not create the pool's submit function");
  }
  // Writable and configurable, like a prototype method: a test can wrap it.
  const napi_property_descriptor property = {"submit", nullptr, nullptr, nullptr, nullptr, submit,
                                             static_cast<napi_property_attributes>(napi_writable | napi_configurable), nullptr};
  if (napi_define_properties(env, self, 1, &property) != napi_ok) {
    // Nothing can call the function now; its finalizer frees the binding, which must not lead
    // back to this pool (it is being torn down).
    binding->pool = nullptr;
    throw Napi::Error::New(env, "litepool: could not define the pool's submit function");
  }
  submitBinding_ = binding;
}

// JS thread (garbage collection or environment teardown): the submit function is gone.
void PoolWrap::onSubmitFinalized(napi_env /*env*/, void* data, void* /*hint*/) {
  auto* binding = static_cast<SubmitBinding*>(data);
  if (binding->pool != nullptr) binding->pool->submitBinding_ = nullptr;
  delete binding;
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
  return Napi::Number::New(info.Env(), liveEngine(info.Env()).startWriter());
}

Napi::Value PoolWrap::startReaders(const Napi::CallbackInfo& info) {
  const std::vector<std::uint32_t> slots = liveEngine(info.Env()).startReaders();
  Napi::Array result = Napi::Array::New(info.Env(), slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) result.Set(static_cast<uint32_t>(i), slots[i]);
  return result;
}

// submit(target, op, flags, sql, values?, names?, reader?, chunkRows?) -> slot, or -1 when every
// slot is in flight. For InsertRows, `values` is the block and `names` its text and blobs
// (readRowBlock). `reader` is the pinned reader's index for target 2 (PinnedReader);
// `chunkRows` the rows per chunk of an iteration. JS thread.
napi_value PoolWrap::submitRaw(napi_env env, napi_callback_info info) {
  constexpr std::size_t kArguments = 8;
  std::size_t argc = kArguments;
  napi_value argv[kArguments];
  void* data = nullptr;
  PoolWrap* pool = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) == napi_ok && data != nullptr) {
    pool = static_cast<SubmitBinding*>(data)->pool;
  }
  if (pool == nullptr || !pool->engine_) {
    napi_throw_error(env, nullptr, "litepool: the native pool is closed");
    return nullptr;
  }
  return pool->submit(env, argc, argv);
}

napi_value PoolWrap::submit(napi_env env, std::size_t argc, const napi_value* argv) {
  napi_value result = nullptr;
  const std::uint32_t slot = engine_->acquireSlot();
  if (slot == UINT32_MAX) {
    napi_create_int32(env, -1, &result);
    return result;
  }
  Request& request = engine_->request(slot);
  int32_t target = 0, op = 0;
  uint32_t requestFlags = 0;
  napi_get_value_int32(env, argv[0], &target);
  napi_get_value_int32(env, argv[1], &op);
  napi_get_value_uint32(env, argv[2], &requestFlags);
  request.op = static_cast<Op>(op);
  request.flags = requestFlags;
  request.namesEpoch = namesEpoch_;
  if (request.op == Op::Batch) {
    readBatch(env, argv[3], argv[4], argv[5], request);
  } else {
    napi_valuetype sqlKind;
    napi_typeof(env, argv[3], &sqlKind);
    if (sqlKind == napi_number) {
      // A registered SQL text (registerSql): copied, never read from the JS string again.
      uint32_t id = 0;
      napi_get_value_uint32(env, argv[3], &id);
      request.sql.assign(sqlTexts_[id]);
    } else if (sqlKind == napi_string) {
      readSql(env, argv[3], request);
    }
    if (request.op == Op::InsertRows) {
      readRowBlock(env, argv[4], argv[5], request);
    } else {
      readParams(env, argv[4], argv[5], request);
    }
  }
  int32_t reader = -1;
  if (argc > 6) napi_get_value_int32(env, argv[6], &reader);
  if (argc > 7) napi_get_value_uint32(env, argv[7], &request.chunkRows);
  engine_->submit(slot, static_cast<Target>(target), reader);
  napi_create_uint32(env, slot, &result);
  return result;
}

// registerSql(sql) -> id: keeps a copy of `sql`, so that submit() can take the id instead of
// reading the JS string every time. forgetSql() drops every registered text (ids start over), and
// tells the workers that lib/ forgot the column names it knew as well (a new names epoch: each
// statement reports its names again, Request::namesEpoch).
Napi::Value PoolWrap::registerSql(const Napi::CallbackInfo& info) {
  liveEngine(info.Env());
  sqlTexts_.emplace_back();
  readString(info.Env(), info[0], sqlTexts_.back());
  return Napi::Number::New(info.Env(), static_cast<double>(sqlTexts_.size() - 1));
}

Napi::Value PoolWrap::forgetSql(const Napi::CallbackInfo& info) {
  sqlTexts_.clear();
  ++namesEpoch_;
  return info.Env().Undefined();
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
