// Owns the conversion of JS arguments into the request record (results: batch_encoder.h).
//
// Everything here runs on the JS thread. Inputs were validated by the TypeScript layer
// (lib/params.ts), so these functions trust the types they are given.
#pragma once

#include <node_api.h>

#include "request.h"

namespace litepool {

// JS thread. Replaces `out` with the UTF-8 bytes of a JS string.
void readString(napi_env env, napi_value value, std::string& out);
// JS thread. Copies the SQL text into the request.
void readSql(napi_env env, napi_value sql, Request& request);
// JS thread. Copies parameter values (an array, undefined, or one bare number, string, bigint or
// boolean standing for a one-value array) and, for named parameters, their names (an array of
// strings of the same length, or undefined) into the request.
void readParams(napi_env env, napi_value values, napi_value names, Request& request);
// JS thread. Reads a Batch request: `sqls` is an array of SQL strings, `values` an array (one
// entry per statement) of parameter arrays or undefined, `names` likewise of name arrays.
void readBatch(napi_env env, napi_value sqls, napi_value values, napi_value names, Request& request);
// JS thread. Reads the values of an InsertRows request (contract.h, RowBlock): `block` is a
// Uint8Array holding the header, payloads and tags; `extras` an array whose first element is the
// Uint16Array of text units and whose others are the blobs (Uint8Arrays), in order. Copies them
// into request.block, so the JS side may reuse its buffers at once.
void readRowBlock(napi_env env, napi_value block, napi_value extras, Request& request);

}  // namespace litepool
