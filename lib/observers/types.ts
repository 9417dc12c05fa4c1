// Owns nothing of its own: the observer types live with every other public type in lib/types.ts;
// this file re-exports them for 'litepool/observers' and the built-ins.

export type {
  AcquireEvent,
  BeforeQueryEvent,
  CheckpointEvent,
  CheckpointMode,
  CheckpointResult,
  CheckpointSource,
  ConnectionEvent,
  MigrationEvent,
  ObservedPool,
  Observer,
  Operation,
  QueryEvent,
  QueueEvent,
  Role,
  StatementCounters,
  TransactionEvent,
  WalEvent,
} from '../types.ts';
