// Owns the Fastify plugin's registration: open the pool (or take one), decorate the app with it
// (`app.litepool`, or `app.litepool[name]` for named instances: decoration.ts), close pools it
// opened when the app closes, and install the per-route transactions once per app.

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { open } from '../../index.ts';
import { misuse } from '../arguments.ts';
import { decorationGetter, type Registry } from './decoration.ts';
import { resolvePluginOptions, type LitepoolPluginOptions } from './options.ts';
import { installRouteTransactions } from './route-transactions.ts';

/** The instances registered on each app, by the getter of its `litepool` decoration. */
const registries = new WeakMap<object, Registry>();

/** The registry behind `app.litepool`; undefined when something else made that decoration. */
function registryOf(app: FastifyInstance): Registry | undefined {
  for (let holder: object | null = app; holder !== null; holder = Object.getPrototypeOf(holder) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(holder, 'litepool');
    if (descriptor) return descriptor.get === undefined ? undefined : registries.get(descriptor.get);
  }
  return undefined;
}

async function register(app: FastifyInstance, options: LitepoolPluginOptions): Promise<void> {
  const { name, pool: given, path, poolOptions } = resolvePluginOptions(options);
  let registry: Registry | undefined;
  if (app.hasDecorator('litepool')) {
    registry = registryOf(app);
    if (!registry) throw misuse("the app already has a 'litepool' decoration that this plugin did not make");
    if (name === undefined) {
      throw misuse(
        registry.has(undefined)
          ? 'an unnamed litepool instance is already registered: give this one a name'
          : 'register the unnamed litepool instance before the named ones',
      );
    }
    if (registry.has(name) || name in app.litepool) throw misuse(`the name '${name}' is already taken on app.litepool`);
  }
  const pool = given ?? (await open(path!, poolOptions));
  if (!given) app.addHook('onClose', () => pool.close());
  if (registry) {
    registry.set(name, pool);
    return;
  }
  registry = new Map([[name, pool]]);
  const getter = decorationGetter(registry);
  registries.set(getter, registry);
  app.decorate('litepool', { getter });
  installRouteTransactions(app, registry);
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
