// Owns the package's public surface: everything users import from 'litepool'.

export { open, Pool, type AcquireOptions, type ReadOptions } from './api/pool.ts';
export { Transaction, type TransactionBehavior, type TransactionOptions } from './api/transaction.ts';
export { Lease } from './api/lease.ts';
export { ConnectionHandle } from './connections/health.ts';
export type { IterateOptions } from './api/scope.ts';
export {
  WriteQueue,
  type OverflowPolicy,
  type WriteQueueOptions,
  type WriteQueueStats,
  type WriteResult,
} from './api/write-queue.ts';
export type { RetryPolicy } from './connections/retry.ts';
export type { BatchStatement } from './input/batch.ts';
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
  ArrayQueryOptions,
  OperationOptions,
  Params,
  PoolOptions,
  PoolStats,
  PragmaValue,
  Preset,
  RetryOptions,
  QueryOptions,
  Row,
  RunResult,
  SqlOutputValue,
  SqlValue,
  SynchronousMode,
} from './types.ts';
