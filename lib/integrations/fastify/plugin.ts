// Owns the Fastify plugin's registration: open the pool (or take one), decorate the app with it
// (`app.litepool`, or `app.litepool[name]` for named instances: decoration.ts), each encapsulation
// context seeing its own instances and its ancestors', close pools it opened when the app
// closes, and install the per-route transactions once per app.

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { open } from '../../index.ts';
import { misuse } from '../arguments.ts';
import { decorationGetter, Registry } from './decoration.ts';
import { resolvePluginOptions, type LitepoolPluginOptions } from './options.ts';
import { installRouteTransactions } from './route-transactions.ts';

/** The instances registered in each encapsulation context, by the getter of its `litepool` decoration. */
const registries = new WeakMap<object, Registry>();

/**
 * The registry behind `app.litepool` and whether `app` made that decoration itself (else it is
 * an ancestor's, seen through encapsulation); undefined when something else made it.
 */
function registryOf(app: FastifyInstance): { registry: Registry; own: boolean } | undefined {
  for (let holder: object | null = app; holder !== null; holder = Object.getPrototypeOf(holder) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(holder, 'litepool');
    if (!descriptor) continue;
    const registry = descriptor.get === undefined ? undefined : registries.get(descriptor.get);
    return registry && { registry, own: holder === app };
  }
  return undefined;
}

async function register(app: FastifyInstance, options: LitepoolPluginOptions): Promise<void> {
  const { name, pool: given, path, poolOptions } = resolvePluginOptions(options);
  /** The registry of this context, or of the ancestor whose instances it sees. */
  let found: { registry: Registry; own: boolean } | undefined;
  if (app.hasDecorator('litepool')) {
    found = registryOf(app);
    if (!found) throw misuse("the app already has a 'litepool' decoration that this plugin did not make");
    if (name === undefined) {
      throw misuse(
        found.registry.has(undefined)
          ? 'an unnamed litepool instance is already registered: give this one a name'
          : 'register the unnamed litepool instance before the named ones',
      );
    }
    if (found.registry.has(name) || name in app.litepool) throw misuse(`the name '${name}' is already taken on app.litepool`);
  }
  const pool = given ?? (await open(path!, poolOptions));
  if (!given) app.addHook('onClose', () => pool.close());
  if (found?.own) {
    found.registry.set(name, pool);
    return;
  }
  // The first instance of this context: its own decoration, over the ancestor's it saw (Fastify
  // lets a child context decorate what its parent has); the ancestor's hooks serve its routes.
  const registry = new Registry(found?.registry);
  registry.set(name, pool);
  const getter = decorationGetter(registry);
  registries.set(getter, registry);
  app.decorate('litepool', { getter });
  if (!found) installRouteTransactions(app, (context) => registryOf(context)?.registry);
}

/**
 * The litepool plugin for Fastify.
 *
 * @example
 * import Fastify from 'fastify';
 * import litepool from 'litepool/fastify';
 *
 * const app = Fastify();
 * await app.register(litepool, { path: 'app.db', readers: 4 });
 * app.get('/users/:id', async (request) => app.litepool.get('SELECT * FROM users WHERE id = ?', [request.params.id]));
 * app.post('/transfer', { config: { litepool: { transaction: true } } }, async (request) => {
 *   await request.litepoolTx!.run('UPDATE accounts SET balance = balance - 100 WHERE id = 1');
 *   await request.litepoolTx!.run('UPDATE accounts SET balance = balance + 100 WHERE id = 2');
 *   return { ok: true };
 * });
 */
export const litepool = fp(register, { fastify: '5.x', name: 'litepool' });
