// Owns the per-route transactions of the Fastify plugin: a route with
// `config: { litepool: { transaction: true } }` gets `request.litepoolTx`, a transaction on the
// writer begun before its handler (preHandler, after validation) and ended before the reply is
// written, by an onSend hook added to the route itself after its own ones (so after every other
// onSend hook of the app, its plugins and the route): committed for a status below 400, rolled
// back when the handler or a hook threw or the status is 400 or above. A client gone before
// the transaction began skips the handler; gone after, the transaction is rolled back (the
// handler's later statements fail with ScopeEndedError). A reply that never reaches onSend (a
// hijacked reply, an onSend hook that always throws) rolls it back when the request ends. The
// pool's transaction timeout bounds it: past it, the transaction is rolled back and the reply
// fails with TransactionTimeoutError.
// A route added before the plugin was registered is not seen by its onRoute hook: its settings
// are checked at its requests, and its transaction ends in the plugin's own onSend hook.
// Runs on the JS thread.

import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
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
export interface Instances {
  get(name: string | undefined): Pool | undefined;
  has(name: string | undefined): boolean;
}

/** The instances an encapsulation context sees (a route's: `request.server`, or where it was added). */
export type InstancesOf = (context: FastifyInstance) => Instances | undefined;

/** A route's settings, put in its config by the onRoute hook (undefined: no transaction). */
const SETTINGS = Symbol('litepool route settings');

type RouteConfig = { litepool?: unknown; [SETTINGS]?: ResolvedRouteTransaction | undefined };

/** Installs the hooks once per app; they find pools in the route's context at request time. */
export function installRouteTransactions(app: FastifyInstance, instancesOf: InstancesOf): void {
  const states = new WeakMap<FastifyRequest, RequestState>();
  /** Aborted when the request's client goes away, before or after its transaction began. */
  const aborts = new WeakMap<FastifyRequest, AbortController>();
  /** Settings of routes added before the plugin (or why they are wrong), checked at their first request. */
  const lateSettings = new WeakMap<object, { settings?: ResolvedRouteTransaction | undefined; error?: unknown }>();
  const routesNaming = new Map<string, { name: string; context: FastifyInstance }>();

  const abortOf = (request: FastifyRequest): AbortController => {
    let abort = aborts.get(request);
    if (!abort) aborts.set(request, (abort = new AbortController()));
    return abort;
  };

  const settingsFor = (request: FastifyRequest): ResolvedRouteTransaction | undefined => {
    const config = request.routeOptions.config as RouteConfig;
    if (SETTINGS in config) return config[SETTINGS];
    if (config.litepool === undefined) return undefined;
    let late = lateSettings.get(config);
    if (!late) {
      const route = `route ${String(request.routeOptions.method)} ${request.routeOptions.url}`;
      try {
        late = { settings: resolveRouteConfig(config.litepool) };
      } catch (error) {
        if (error instanceof Error) error.message = `${route}, added before the litepool plugin was registered: ${error.message}`;
        late = { error };
      }
      lateSettings.set(config, late);
      if (late.settings !== undefined || 'error' in late) {
        request.log.warn(
          `${route} has config.litepool but was added before the litepool plugin was registered: its settings were not checked ` +
            'at startup, and its transaction ends before the onSend hooks of the route and of plugins registered after litepool',
        );
      }
    }
    if ('error' in late) throw late.error;
    return late.settings;
  };

  app.decorateRequest('litepoolTx', null);

  // Ends the transaction: from the route's own last onSend hook, or from the plugin's one for a
  // route added before the plugin.
  const finish = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
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
  };
  const finishHook = finish as onSendHookHandler;

  // Settings are checked when a route is added, names once every plugin has loaded.
  app.addHook('onRoute', function (this: FastifyInstance, route) {
    const config = (route.config ?? {}) as RouteConfig;
    const settings = resolveRouteConfig(config.litepool);
    route.config = { ...config, [SETTINGS]: settings } as typeof route.config;
    if (!settings) return;
    if (settings.name !== undefined) routesNaming.set(`${String(route.method)} ${route.url}`, { name: settings.name, context: this });
    // Last of the route's onSend hooks: Fastify runs the app's and its plugins' ones before them.
    const own = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...own, finishHook];
  });
  app.addHook('onReady', async () => {
    for (const [route, { name, context }] of routesNaming) {
      if (!instancesOf(context)?.has(name)) throw misuse(`route ${route} asks for a transaction on litepool instance '${name}', which is not registered`);
    }
  });

  const abandon = async (request: FastifyRequest): Promise<void> => {
    const state = take(request);
    if (!state) return;
    request.log.warn('the route transaction was rolled back: the request ended before its reply was sent');
    await state.held.rollback();
  };
  /** The client went away: a transaction waited for is not begun, one begun is rolled back. */
  const clientGone = async (request: FastifyRequest): Promise<void> => {
    abortOf(request).abort(new DOMException('the client closed the request before its reply was sent', 'AbortError'));
    await abandon(request);
  };

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const settings = settingsFor(request);
    if (!settings) return;
    const pool = instancesOf(request.server)?.get(settings.name);
    if (!pool) {
      throw misuse(`this route asks for a transaction on litepool instance ${settings.name === undefined ? '(unnamed)' : `'${settings.name}'`}, which is not registered`);
    }
    // Fastify's onRequestAbort misses a client gone once the request's body was read: the
    // response closing before it was ended says so.
    const response = reply.raw;
    if (response.destroyed && !response.writableEnded) await clientGone(request);
    else response.once('close', () => void (response.writableEnded || clientGone(request)));
    const { signal } = abortOf(request);
    // A client gone already, or while the writer is waited for: the handler does not run.
    if (signal.aborted) throw signal.reason;
    const held = await holdTransaction(pool, { behavior: settings.behavior, timeout: settings.timeout, signal });
    if (signal.aborted) {
      await held.rollback();
      throw signal.reason;
    }
    states.set(request, { held, failed: false });
    request.litepoolTx = held.scope;
  });

  app.addHook('onError', async (request: FastifyRequest) => {
    const state = states.get(request);
    if (state) state.failed = true;
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) =>
    SETTINGS in (request.routeOptions.config as RouteConfig) ? payload : finish(request, reply, payload),
  );

  app.addHook('onResponse', abandon);
  app.addHook('onRequestAbort', async (request: FastifyRequest) => clientGone(request));

  /** Takes the request's transaction off it; the ended Transaction stays on request.litepoolTx. */
  function take(request: FastifyRequest): RequestState | undefined {
    const state = states.get(request);
    if (!state) return undefined;
    states.delete(request);
    return state;
  }
}
