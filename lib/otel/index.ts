// Owns the 'litepool/otel' entry point.
export { instrument, type InstrumentOptions, type InstrumentedPool } from './instrument.ts';
