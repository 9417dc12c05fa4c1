// Owns the 'litepool/observers' entry point: the built-in observers and their types.

export { MetricsCollector, type MetricsCollectorOptions, type MetricsSnapshot, type SeriesSnapshot, type LatencySummary } from './metrics-collector.ts';
export { QueryLogger, redactParams, type LoggerLike, type QueryLoggerOptions } from './query-logger.ts';
export { QueryProfiler, type QueryProfilerOptions, type StatementProfile } from './query-profiler.ts';
export { policies, type DenyFullScansOptions } from './policies.ts';
export type * from './types.ts';
