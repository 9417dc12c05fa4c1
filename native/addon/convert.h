// Owns the conversion between JS values and the request record.
//
// Everything here runs on the JS thread. Inputs were validated by the TypeScript layer
// (lib/params.ts), so these functions trust the types they are given.
#pragma once

#include <node_api.h>

#include "request.h"

namespace litepool {

// JS thread. Copies the SQL text into the request.
void readSql(napi_env env, napi_value sql, Request& request);
// JS thread. Copies parameter values (an array, or undefined) and, for named parameters, their
// names (an array of strings of the same length, or undefined) into the request.
void readParams(napi_env env, napi_value values, napi_value names, Request& request);
// JS thread. Reads a Batch request: `sqls` is an array of SQL strings, `values` an array (one
// entry per statement) of parameter arrays or undefined, `names` likewise of name arrays.
void readBatch(napi_env env, napi_value sqls, napi_value values, napi_value names, Request& request);
// JS thread. Appends the result of a finished request to `batch` as five entries:
//   slot, status, then three status-specific values (see lib/native.ts).
void appendResult(napi_env env, napi_value batch, std::uint32_t& length, std::uint32_t slot, const Request& request);

}  // namespace litepool
