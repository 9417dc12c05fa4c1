// Owns the Fastify flavour of the benchmark server: the same three routes as plain Fastify route
// handlers (its own query-string and JSON body parsing, default serialization, logging off).

import { createRequire } from 'node:module';

import { isThenable } from '../routes.mjs';

export const id = 'fastify';
export const label = 'Fastify';

export async function start(handlers) {
  const Fastify = createRequire(import.meta.url)('fastify');
  const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
  // A synchronous driver's value goes straight to reply.send(); an async driver's promise is
  // returned for Fastify to await.
  const route = (handler, arg) => (request, reply) => {
    const value = handler(arg(request));
    if (isThenable(value)) return value;
    reply.send(value);
    return reply;
  };
  app.get('/point', route(handlers.point, (r) => Number(r.query.id)));
  app.get('/heavy', route(handlers.heavy, (r) => Number(r.query.id)));
  app.post('/items', route(handlers.insert, (r) => r.body));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, close: () => app.close() };
}
