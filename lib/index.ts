// Owns the package's public surface: everything users import from 'litepool'.

export { open } from './api/open.ts';
export { Pool } from './api/pool.ts';
export { Transaction } from './api/transaction.ts';
export { Lease } from './api/lease.ts';
export { ConnectionHandle } from './api/connection-handle.ts';
export { WriteQueue } from './api/write-queue.ts';
export {
  AcquireTimeoutError,
  LitepoolError,
  QueueClosedError,
  QueueFullError,
  QueueTimeoutError,
  ScopeEndedError,
  TransactionTimeoutError,
  OperationTimeoutError,
  PoolClosedError,
  SqliteError,
  sqliteCodeName,
} from './errors.ts';
export type {
  AcquireOptions,
  ArrayQueryOptions,
  BatchStatement,
  IterateOptions,
  NewConnection,
  OperationOptions,
  OverflowPolicy,
  Params,
  PoolOptions,
  PoolStats,
  PragmaValue,
  Preset,
  QueryOptions,
  ReadOptions,
  RetryOptions,
  RetryPolicy,
  Row,
  RunResult,
  ScopeOperations,
  SqlOutputValue,
  SqlValue,
  SynchronousMode,
  TransactionBehavior,
  TransactionOptions,
  WriteQueueOptions,
  WriteQueueStats,
  WriteResult,
} from './types.ts';
