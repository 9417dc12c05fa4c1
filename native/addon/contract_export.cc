// Owns the addon's `contract` export: see contract_export.h. Every member of contract.h is listed
// here by name; the test fails when one is missing, so a new one cannot be forgotten.
#include "contract_export.h"

#include <initializer_list>
#include <utility>

#include "contract.h"

namespace litepool {

namespace {

using Entry = std::pair<const char*, double>;

// One member of a contract.h enum or namespace, by its name.
#define LITEPOOL_ENTRY(group, member) Entry(#member, static_cast<double>(group::member))

Napi::Object table(Napi::Env env, std::initializer_list<Entry> entries) {
  Napi::Object object = Napi::Object::New(env);
  for (const Entry& entry : entries) object.Set(entry.first, entry.second);
  return object;
}

}  // namespace

// JS thread.
Napi::Object contractObject(Napi::Env env) {
  Napi::Object contract = Napi::Object::New(env);
  contract.Set("Op", table(env, {
      LITEPOOL_ENTRY(Op, Get), LITEPOOL_ENTRY(Op, All), LITEPOOL_ENTRY(Op, Run), LITEPOOL_ENTRY(Op, Exec),
      LITEPOOL_ENTRY(Op, Open), LITEPOOL_ENTRY(Op, Close), LITEPOOL_ENTRY(Op, Pin), LITEPOOL_ENTRY(Op, Unpin),
      LITEPOOL_ENTRY(Op, Reset), LITEPOOL_ENTRY(Op, IterateStart), LITEPOOL_ENTRY(Op, IterateNext),
      LITEPOOL_ENTRY(Op, IterateEnd), LITEPOOL_ENTRY(Op, Batch), LITEPOOL_ENTRY(Op, Reopen),
      LITEPOOL_ENTRY(Op, InsertRows), LITEPOOL_ENTRY(Op, Checkpoint), LITEPOOL_ENTRY(Op, BackupStart),
      LITEPOOL_ENTRY(Op, BackupStep), LITEPOOL_ENTRY(Op, BackupEnd),
  }));
  contract.Set("CheckpointMode", table(env, {
      LITEPOOL_ENTRY(CheckpointMode, Passive), LITEPOOL_ENTRY(CheckpointMode, Full),
      LITEPOOL_ENTRY(CheckpointMode, Restart), LITEPOOL_ENTRY(CheckpointMode, Truncate),
  }));
  contract.Set("Target", table(env, {
      LITEPOOL_ENTRY(Target, Readers), LITEPOOL_ENTRY(Target, Writer), LITEPOOL_ENTRY(Target, PinnedReader),
  }));
  contract.Set("RequestFlag", table(env, {
      LITEPOOL_ENTRY(RequestFlag, SafeIntegers), LITEPOOL_ENTRY(RequestFlag, WantNames),
      LITEPOOL_ENTRY(RequestFlag, KeepTransaction), LITEPOOL_ENTRY(RequestFlag, ReturnRows),
      LITEPOOL_ENTRY(RequestFlag, Groupable), LITEPOOL_ENTRY(RequestFlag, ExpectTransaction),
      LITEPOOL_ENTRY(RequestFlag, Counters), LITEPOOL_ENTRY(RequestFlag, HoldReader),
      LITEPOOL_ENTRY(RequestFlag, RefuseTransactionEnd), LITEPOOL_ENTRY(RequestFlag, FirstChunkOnly),
      LITEPOOL_ENTRY(RequestFlag, Internal), LITEPOOL_ENTRY(RequestFlag, ReadOnly),
      LITEPOOL_ENTRY(RequestFlag, NoBusyWait),
  }));
  contract.Set("Status", table(env, {
      LITEPOOL_ENTRY(Status, Rows), LITEPOOL_ENTRY(Status, Done), LITEPOOL_ENTRY(Status, SqliteFailed),
      LITEPOOL_ENTRY(Status, BindFailed), LITEPOOL_ENTRY(Status, Misuse), LITEPOOL_ENTRY(Status, NeedsWriter),
      LITEPOOL_ENTRY(Status, Cancelled), LITEPOOL_ENTRY(Status, IntegerOverflow),
      LITEPOOL_ENTRY(Status, RowsMore),
  }));
  contract.Set("CellTag", table(env, {
      LITEPOOL_ENTRY(CellTag, Null), LITEPOOL_ENTRY(CellTag, Number), LITEPOOL_ENTRY(CellTag, Bigint),
      LITEPOOL_ENTRY(CellTag, Object), LITEPOOL_ENTRY(CellTag, Undefined),
  }));
  contract.Set("HeaderCell", table(env, {
      LITEPOOL_ENTRY(HeaderCell, Slot), LITEPOOL_ENTRY(HeaderCell, Status), LITEPOOL_ENTRY(HeaderCell, A),
      LITEPOOL_ENTRY(HeaderCell, B), LITEPOOL_ENTRY(HeaderCell, C), LITEPOOL_ENTRY(HeaderCell, QueuedMicros),
      LITEPOOL_ENTRY(HeaderCell, ExecMicros), LITEPOOL_ENTRY(HeaderCell, Rows), LITEPOOL_ENTRY(HeaderCell, Changes),
      LITEPOOL_ENTRY(HeaderCell, Worker), LITEPOOL_ENTRY(HeaderCell, GroupSize), LITEPOOL_ENTRY(HeaderCell, ExtraCells),
      LITEPOOL_ENTRY(HeaderCell, RowCells),
  }));
  contract.Set("HEADER_CELLS", static_cast<double>(HEADER_CELLS));
  contract.Set("ValueTag", table(env, {
      LITEPOOL_ENTRY(ValueTag, Null), LITEPOOL_ENTRY(ValueTag, Number), LITEPOOL_ENTRY(ValueTag, Bigint),
      LITEPOOL_ENTRY(ValueTag, Text), LITEPOOL_ENTRY(ValueTag, Blob),
  }));
  contract.Set("BlockCell", table(env, {
      LITEPOOL_ENTRY(BlockCell, Rows), LITEPOOL_ENTRY(BlockCell, Columns), LITEPOOL_ENTRY(BlockCell, FirstRow),
      LITEPOOL_ENTRY(BlockCell, TextUnits),
  }));
  contract.Set("BLOCK_HEADER_CELLS", static_cast<double>(BLOCK_HEADER_CELLS));
  contract.Set("WRITER_WORKER", static_cast<double>(WRITER_WORKER));
  contract.Set("ITERATE_CHUNK_BYTES", static_cast<double>(ITERATE_CHUNK_BYTES));
  return contract;
}

#undef LITEPOOL_ENTRY

}  // namespace litepool
