// Owns the addon's `contract` export: the numbers of contract.h as this build of the addon was
// compiled with them. test/06-contract.test.ts compares them with lib/native/contract.ts, so an
// addon built from another contract.h (a stale build) fails the test instead of misreading
// completions. Runs on the JS thread.
#pragma once

#include <napi.h>

namespace litepool {

// JS thread. { Op: { Get: 0, ... }, Target, RequestFlag, Status, CellTag, HeaderCell,
// HEADER_CELLS, WRITER_WORKER }, the same shape as lib/native/contract.ts's exports.
Napi::Object contractObject(Napi::Env env);

}  // namespace litepool
