// Owns the node:http flavour of the benchmark server: a bare http.createServer handler that
// routes by method and path, reads the id from the query string, and answers with JSON and an
// explicit Content-Length (keep-alive, no chunked encoding).

import http from 'node:http';

import { isThenable } from '../routes.mjs';

export const id = 'node';
export const label = 'node:http';

export function start(handlers) {
  const send = (res, value) => {
    const body = JSON.stringify(value ?? null);
    res.writeHead(value === undefined ? 404 : 200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  const fail = (res, error) => {
    const body = JSON.stringify({ error: String(error?.message ?? error) });
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const reply = (res, handler, arg) => {
    try {
      const value = handler(arg);
      if (isThenable(value)) value.then((v) => send(res, v), (e) => fail(res, e));
      else send(res, value);
    } catch (error) {
      fail(res, error);
    }
  };
  const queryId = (url, q) => Number(url.slice(q + 4));

  const server = http.createServer((req, res) => {
    const url = req.url;
    if (req.method === 'GET') {
      const q = url.indexOf('?id=');
      const path = q === -1 ? url : url.slice(0, q);
      if (path === '/point' && q !== -1) return reply(res, handlers.point, queryId(url, q));
      if (path === '/heavy' && q !== -1) return reply(res, handlers.heavy, queryId(url, q));
    } else if (req.method === 'POST' && url === '/items') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (error) {
          return fail(res, error);
        }
        reply(res, handlers.insert, body);
      });
      return;
    }
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      }),
    );
  });
}
