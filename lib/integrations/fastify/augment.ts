// Owns the types the Fastify plugin adds to Fastify: `app.litepool`, `request.litepoolTx` and
// the route setting `config.litepool`.

import type { Pool, Transaction } from '../../index.ts';
import type { LitepoolRouteConfig } from './options.ts';

/** `app.litepool`: the unnamed pool, with the named ones as its properties. */
export type LitepoolDecoration = Pool & { readonly [name: string]: Pool };

declare module 'fastify' {
  interface FastifyInstance {
    /** The pool registered without a name; named pools are its properties (`app.litepool.main`). */
    litepool: LitepoolDecoration;
  }
  interface FastifyRequest {
    /** The transaction of a route configured with `config: { litepool: { transaction } }`; null elsewhere. */
    litepoolTx: Transaction | null;
  }
  interface FastifyContextConfig {
    /** litepool's per-route settings. */
    litepool?: LitepoolRouteConfig;
  }
}
