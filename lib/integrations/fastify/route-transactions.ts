// Owns the per-route transactions of the Fastify plugin: a route with
// `config: { litepool: { transaction: true } }` gets `request.litepoolTx`, a transaction on the
// writer begun before its handler (preHandler, after validation) and ended before the reply is
// written (onSend): committed for a status below 400, rolled back when the handler threw or the
// status is 400 or above. A reply that never reaches onSend (a hijacked reply, a client gone)
// rolls it back when the request ends. The pool's transaction timeout bounds it: past it, the
// transaction is rolled back and the reply fails with TransactionTimeoutError.
// Runs on the JS thread.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool, Transaction } from '../../index.ts';
import { misuse } from '../arguments.ts';
import { holdTransaction, type HeldTransaction } from '../held-transaction.ts';
import { resolveRouteConfig, type ResolvedRouteTransaction } from './options.ts';

interface RequestState {
  held: HeldTransaction<Transaction>;
  /** The handler (or a hook after it) failed: roll back whatever the status says. */
  failed: boolean;
}

/** Where instances are found by name (undefined: the unnamed one). */
export type Instances = ReadonlyMap<string | undefined, Pool>;

/** Installs the hooks once per app; they find pools in `instances` at request time. */
export function installRouteTransactions(app: FastifyInstance, instances: Instances): void {
  const states = new WeakMap<FastifyRequest, RequestState>();
  const settingsOf = new WeakMap<object, ResolvedRouteTransaction | undefined>();
  const routesNaming = new Map<string, string>();

  const settingsFor = (request: FastifyRequest): ResolvedRouteTransaction | undefined => {
    const config = request.routeOptions.config as { litepool?: unknown };
    if (config.litepool === undefined) return undefined;
    if (!settingsOf.has(config)) settingsOf.set(config, resolveRouteConfig(config.litepool));
    return settingsOf.get(config);
  };

  app.decorateRequest('litepoolTx', null);

  // Settings are checked when a route is added, names once every plugin has loaded.
  app.addHook('onRoute', (route) => {
    const settings = resolveRouteConfig((route.config as { litepool?: unknown } | undefined)?.litepool);
    if (settings?.name !== undefined) routesNaming.set(`${String(route.method)} ${route.url}`, settings.name);
  });
  app.addHook('onReady', async () => {
    for (const [route, name] of routesNaming) {
      if (!instances.has(name)) throw misuse(`route ${route} asks for a transaction on litepool instance '${name}', which is not registered`);
    }
  });

  app.addHook('preHandler', async (request: FastifyRequest) => {
    const settings = settingsFor(request);
    if (!settings) return;
    const pool = instances.get(settings.name);
    if (!pool) {
      throw misuse(`this route asks for a transaction on litepool instance ${settings.name === undefined ? '(unnamed)' : `'${settings.name}'`}, which is not registered`);
    }
    const held = await holdTransaction(pool, { behavior: settings.behavior, timeout: settings.timeout });
    states.set(request, { held, failed: false });
    request.litepoolTx = held.scope;
  });

  app.addHook('onError', async (request: FastifyRequest) => {
    const state = states.get(request);
    if (state) state.failed = true;
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const state = take(request);
    if (!state) return payload;
    if (state.failed || reply.statusCode >= 400) {
      await state.held.rollback();
      if (state.held.failure !== undefined) request.log.error({ err: state.held.failure }, 'the route transaction ended early');
    } else {
      // A failed COMMIT (the transaction timed out...) turns the reply into that error.
      await state.held.commit();
    }
    return payload;
  });

  const abandon = async (request: FastifyRequest): Promise<void> => {
    const state = take(request);
    if (!state) return;
    request.log.warn('the route transaction was rolled back: the request ended before its reply was sent');
    await state.held.rollback();
  };
  app.addHook('onResponse', abandon);
  app.addHook('onRequestAbort', abandon);

  function take(request: FastifyRequest): RequestState | undefined {
    const state = states.get(request);
    if (!state) return undefined;
    states.delete(request);
    request.litepoolTx = null;
    return state;
  }
}
