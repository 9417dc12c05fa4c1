// Owns the package's public surface: everything users import from 'litepool'.

export { open, Pool, type AcquireOptions, type ReadOptions } from './pool.ts';
export { Transaction, type TransactionBehavior, type TransactionOptions } from './transaction.ts';
export { Lease } from './lease.ts';
export { ConnectionHandle } from './keeper.ts';
export type { IterateOptions } from './scope.ts';
export {
  WriteQueue,
  type OverflowPolicy,
  type WriteQueueOptions,
  type WriteQueueStats,
  type WriteResult,
} from './write-queue.ts';
export type { RetryPolicy } from './retry.ts';
export type { Replica, ReplicaPosition, TxidLike } from './replication/litefs.ts';
export type { BatchStatement } from './batch.ts';
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
  ReadOnlyReplicaError,
  ReplicaTimeoutError,
  SqliteError,
  sqliteCodeName,
} from './errors.ts';
export type {
  ArrayQueryOptions,
  CheckpointOnClose,
  OperationOptions,
  Params,
  PoolOptions,
  PoolStats,
  PragmaValue,
  Preset,
  Replication,
  RetryOptions,
  QueryOptions,
  Row,
  RunResult,
  SqlOutputValue,
  SqlValue,
  SynchronousMode,
} from './types.ts';
