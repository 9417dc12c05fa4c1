// Owns the package's public surface: everything users import from 'litepool'.

export { open, Pool } from './pool.ts';
export {
  LitepoolError,
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
  QueryOptions,
  Row,
  RunResult,
  SqlOutputValue,
  SqlValue,
  SynchronousMode,
} from './types.ts';
