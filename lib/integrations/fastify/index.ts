// Owns the public surface of 'litepool/fastify': the plugin (default export), its option types,
// and the types it adds to Fastify (augment.ts).

import { litepool } from './plugin.ts';

export type { LitepoolDecoration } from './augment.ts';
export type { LitepoolPluginOptions, LitepoolRouteConfig, RouteTransactionOptions } from './options.ts';
export { litepool };
export default litepool;
