// Owns how requests reach a pool's engine: each pool object's own submit function (installed by
// the constructor, freed with its SubmitBinding when it is collected), submit itself (a slot
// filled from the JS arguments, then pushed to a ring: native/README.md, step 1), and the SQL
// texts lib/ registers so that submit can take an id instead of a string. See pool_wrap.h.
//
// Every function here runs on the JS thread.
#include "pool_wrap.h"

#include "convert.h"

namespace litepool {

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

// JS thread, from submitRaw once the pool is known to be open: fills a free slot's Request from
// the arguments and pushes it to the engine.
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
// statement reports its names again, Request::namesEpoch). JS thread, both.
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

}  // namespace litepool
