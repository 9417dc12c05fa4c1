// Owns the JS face of the fault-injection VFS: see fault_binding.h. Every function here runs on
// the JS thread; the rules it sets are atomics that the workers' VFS calls read.
#include "fault_binding.h"

#include <string>

#include "fault_vfs.h"

namespace litepool::fault {

namespace {

const char* const kCallNames[kCallCount] = {"read", "write", "sync", "truncate", "lock", "shmLock"};

Call callNamed(Napi::Env env, const std::string& name) {
  for (int i = 0; i < kCallCount; ++i) {
    if (name == kCallNames[i]) return static_cast<Call>(i);
  }
  throw Napi::RangeError::New(env, "faultVfs.arm: unknown call '" + name + "'");
}

int fileKinds(Napi::Env env, Napi::Value value) {
  if (value.IsUndefined()) return kAnyFile;
  if (!value.IsArray()) throw Napi::TypeError::New(env, "faultVfs.arm: files must be an array");
  const Napi::Array list = value.As<Napi::Array>();
  int kinds = 0;
  for (std::uint32_t i = 0; i < list.Length(); ++i) {
    const std::string kind = list.Get(i).ToString().Utf8Value();
    if (kind == "main") kinds |= kMainDb;
    else if (kind == "wal") kinds |= kWal;
    else if (kind == "journal") kinds |= kJournal;
    else if (kind == "other") kinds |= kOtherFile;
    else throw Napi::RangeError::New(env, "faultVfs.arm: unknown file kind '" + kind + "'");
  }
  return kinds;
}

Napi::Value jsArm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "faultVfs.arm takes { call, nth, code, files, sticky, shortRead }");
  const Napi::Object spec = info[0].As<Napi::Object>();
  Plan plan;
  plan.call = callNamed(env, spec.Get("call").ToString().Utf8Value());
  const Napi::Value nth = spec.Get("nth");
  plan.nth = nth.IsNumber() ? nth.As<Napi::Number>().Int64Value() : 1;
  const Napi::Value code = spec.Get("code");
  plan.code = code.IsNumber() ? code.As<Napi::Number>().Int32Value() : 0;
  plan.files = fileKinds(env, spec.Get("files"));
  plan.sticky = spec.Get("sticky").ToBoolean().Value();
  plan.shortRead = spec.Get("shortRead").ToBoolean().Value();
  if (plan.code == 0 && !(plan.shortRead && plan.call == Call::Read)) {
    throw Napi::RangeError::New(env, "faultVfs.arm: code must be a SQLite error code");
  }
  fault::arm(plan);
  return env.Undefined();
}

Napi::Value jsClear(const Napi::CallbackInfo& info) {
  fault::clear();
  return info.Env().Undefined();
}

Napi::Value jsStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object counts = Napi::Object::New(env);
  for (int i = 0; i < kCallCount; ++i) counts.Set(kCallNames[i], static_cast<double>(calls(static_cast<Call>(i))));
  Napi::Object result = Napi::Object::New(env);
  result.Set("calls", counts);
  result.Set("faults", static_cast<double>(faults()));
  return result;
}

}  // namespace

Napi::Object binding(Napi::Env env) {
  registerVfs();
  Napi::Object object = Napi::Object::New(env);
  object.Set("name", kVfsName);
  object.Set("arm", Napi::Function::New(env, jsArm, "arm"));
  object.Set("clear", Napi::Function::New(env, jsClear, "clear"));
  object.Set("stats", Napi::Function::New(env, jsStats, "stats"));
  return object;
}

}  // namespace litepool::fault
