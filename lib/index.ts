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
export type { BatchStatement } from './batch.ts';
export {
  AcquireTimeoutError,
  LitepoolError,
  MigrationError,
  type MigrationErrorCode,
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
export type {
  DownOptions,
  DownReport,
  MigrateOptions,
  MigrateReport,
  MigrateRunOptions,
  MigrationDefinition,
  MigrationFunction,
  MigrationRun,
  MigrationSource,
  MigrationState,
  MigrationStatusEntry,
  MigrationStatusOptions,
  MigrationTransaction,
  Migrations,
  OpenMigrationOptions,
  RepairOptions,
} from './migrations/types.ts';
