// Owns `app.litepool`, the decoration one app (an encapsulation context) gets, and the registry
// of the instances it sees (its own and its ancestors'): the unnamed pool itself while it is the
// only instance; beside named instances, a view of it (its methods bound to it, `instanceof
// Pool`) that serves them as read-only properties; with named instances only, an object holding
// them. The pools themselves are never written to: the same Pool may decorate any number of apps
// (an app factory per test, an app rebuilt after app.close()), each with its own named instances.
// Runs on the JS thread.

import type { Pool } from '../../index.ts';
import type { LitepoolDecoration } from './augment.ts';

/**
 * The instances registered in one encapsulation context (undefined: the unnamed one) over those
 * of the context it is in, as Fastify's decorators are: a plugin sees its own and its
 * ancestors' instances, never its siblings', and its ancestors never see its own.
 */
export class Registry {
  readonly #own = new Map<string | undefined, Pool>();
  readonly #parent: Registry | undefined;

  constructor(parent?: Registry) {
    this.#parent = parent;
  }

  get(name: string | undefined): Pool | undefined {
    return this.#own.get(name) ?? this.#parent?.get(name);
  }

  has(name: string | undefined): boolean {
    return this.#own.has(name) || this.#parent?.has(name) === true;
  }

  set(name: string | undefined, pool: Pool): void {
    this.#own.set(name, pool);
  }

  /** The names seen here, the ancestors' first. */
  keys(): Set<string | undefined> {
    const keys = new Set(this.#parent?.keys());
    for (const name of this.#own.keys()) keys.add(name);
    return keys;
  }

  get size(): number {
    return this.keys().size;
  }
}

/**
 * The getter of one app's decoration: the unnamed pool while it is alone in `registry`, else a
 * view made once (the unnamed pool, when there is one, is registered before any named one).
 */
export function decorationGetter(registry: Registry): () => LitepoolDecoration {
  let view: LitepoolDecoration | undefined;
  return () => {
    const unnamed = registry.get(undefined);
    if (unnamed !== undefined && registry.size === 1) return unnamed as LitepoolDecoration;
    return (view ??= createView(registry));
  };
}

/** A view of the unnamed pool (or of nothing) that serves the named instances of `registry`. */
function createView(registry: Registry): LitepoolDecoration {
  const unnamed = registry.get(undefined);
  const target: object = unnamed ?? {};
  /** The pool's methods, bound to it once each (a Pool keeps its state in #private fields). */
  const bound = new Map<PropertyKey, { method: (...args: never[]) => unknown; bound: unknown }>();
  const named = (key: PropertyKey): Pool | undefined => (typeof key === 'string' ? registry.get(key) : undefined);
  const handler: ProxyHandler<object> = {
    get(object, key) {
      const pool = named(key);
      if (pool !== undefined) return pool;
      const value: unknown = Reflect.get(object, key, object);
      if (unnamed === undefined || typeof value !== 'function' || key === 'constructor') return value;
      const known = bound.get(key);
      if (known?.method === value) return known.bound;
      const method = value as (...args: never[]) => unknown;
      const result = method.bind(unnamed);
      bound.set(key, { method, bound: result });
      return result;
    },
    has: (object, key) => named(key) !== undefined || Reflect.has(object, key),
    ownKeys: (object) => {
      const keys = Reflect.ownKeys(object);
      for (const name of registry.keys()) if (name !== undefined && !keys.includes(name)) keys.push(name);
      return keys;
    },
    getOwnPropertyDescriptor(object, key) {
      const pool = named(key);
      if (pool !== undefined) return { value: pool, writable: false, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(object, key);
    },
  };
  return new Proxy(target, handler) as LitepoolDecoration;
}
