// Owns the package's public surface: everything users import from 'litepool'.

export { open } from './api/open.ts';
export { Pool } from './api/pool.ts';
export { Transaction } from './api/transaction.ts';
export { Lease } from './api/lease.ts';
export { ConnectionHandle } from './api/connection-handle.ts';
export { WriteQueue } from './api/write-queue.ts';
export type { Replica, ReplicaPosition, TxidLike } from './replication/litefs.ts';
export {
  AcquireTimeoutError,
  LitepoolError,
  OperationBlockedError,
  MigrationError,
  type MigrationErrorCode,
  QueueClosedError,
  QueueFullError,
  QueueTimeoutError,
  ScopeEndedError,
  TransactionTimeoutError,
  OperationTimeoutError,
  PoolClosedError,
  PolicyError,
  ReadOnlyReplicaError,
  ReplicaTimeoutError,
  SqliteError,
  sqliteCodeName,
} from './errors.ts';
export type { Schema } from './maintenance/schema.ts';
export type { OverflowPolicy, WriteQueueOptions, WriteQueueStats, WriteResult } from './write-queue-types.ts';
export type {
  AddColumnOptions,
  BackupOptions,
  BackupProgress,
  BackupResult,
  ColumnInfo,
  CreateIndexOptions,
  ForeignKeyInfo,
  ForeignKeyViolation,
  IndexColumn,
  IndexInfo,
  IntegrityCheckOptions,
  IntegrityCheckResult,
  TableInfo,
  VacuumOptions,
} from './operations-types.ts';
export type {
  AcquireEvent,
  AcquireOptions,
  ArrayQueryOptions,
  BatchStatement,
  BeforeQueryEvent,
  CheckpointEvent,
  CheckpointMode,
  CheckpointResult,
  CheckpointSource,
  ConnectionEvent,
  IterateOptions,
  MigrationEvent,
  NewConnection,
  ObservedPool,
  Observer,
  Operation,
  OperationOptions,
  Params,
  PoolStats,
  QueryEvent,
  QueryOptions,
  QueueEvent,
  ReadOptions,
  Role,
  Row,
  RunResult,
  ScopeOperations,
  SqlOutputValue,
  SqlValue,
  StatementCounters,
  TransactionBehavior,
  TransactionEvent,
  TransactionOptions,
  WalEvent,
} from './types.ts';
export type { CheckpointOnClose, PoolOptions, PragmaValue, Preset, Replication, RetryOptions, RetryPolicy, SynchronousMode } from './options-types.ts';
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
