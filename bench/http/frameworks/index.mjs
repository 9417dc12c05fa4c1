// Owns the table of HTTP frameworks the benchmark servers run on.

export const FRAMEWORKS = [
  { id: 'node', label: 'node:http', module: './node-http.mjs' },
  { id: 'fastify', label: 'Fastify', module: './fastify.mjs' },
];

export const frameworkById = (id) => FRAMEWORKS.find((f) => f.id === id);

/** Loads a framework's module (in the server process only). */
export const loadFramework = (id) => import(new URL(frameworkById(id).module, import.meta.url));
