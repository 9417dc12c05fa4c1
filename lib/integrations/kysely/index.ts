// Owns the public surface of 'litepool/kysely': the dialect and the types of its configuration.

export { LitepoolDialect } from './dialect.ts';
export type { LitepoolDialectConfig, LitepoolDialectSettings } from './config.ts';
