// Covers 'litepool/fastify' with the real Fastify: a pool opened from { path, ...options } and
// closed by app.close(), a pool passed in and left open, two named instances (and an unnamed one
// beside them), named instances of encapsulated plugins (seen by their children, not by the root
// or siblings), registration errors, 200 concurrent requests through inject() and through a real
// listen() on 127.0.0.1 with fetch, per-route transactions (commit below 400, rollback on a throw
// and on 4xx, its timeout, 200 concurrent read-modify-write routes ending exact, reads answered
// while a route's transaction holds the writer), a streamed response, route settings checked
// at startup, the same pools shared by several apps (none written on), later onSend hooks that
// throw (rolled back), clients gone before and after the transaction began, and routes added
// before the plugin.
import { tracingChannel } from 'node:diagnostics_channel';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LitepoolError, open, Pool, ScopeEndedError } from '../lib/index.ts';
import litepool from '../lib/integrations/fastify/index.ts';
import type { TransactionChannelContext } from '../lib/observers/channels.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let counter = 0;
const apps: FastifyInstance[] = [];
const pools: Pool[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-fastify-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

const file = (): string => join(dir, `fastify-${++counter}.db`);

function app(): FastifyInstance {
  const instance = Fastify({ logger: false });
  apps.push(instance);
  return instance;
}

/** An app with the unnamed instance, a counter table and the routes most tests use. */
async function serverWithCounter(options: { transactionTimeout?: number } = {}): Promise<FastifyInstance> {
  const server = app();
  await server.register(litepool, { path: file(), readers: 3 });
  await server.litepool.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0)');
  server.get('/counter', async () => server.litepool.get<{ value: number }>('SELECT value FROM counter WHERE id = 1'));
  server.post('/increment', { config: { litepool: { transaction: { timeout: options.transactionTimeout ?? 30_000 } } } }, async (request) => {
    const tx = request.litepoolTx!;
    const row = await tx.get<{ value: number }>('SELECT value FROM counter WHERE id = 1');
    await sleep(1);
    await tx.run('UPDATE counter SET value = ? WHERE id = 1', [row!.value + 1]);
    return { value: row!.value + 1 };
  });
  return server;
}

describe('registration', () => {
  it('opens a pool from { path, ...options } and closes it with the app', async () => {
    const server = app();
    await server.register(litepool, { path: file(), readers: 2 });
    const pool = server.litepool;
    await pool.exec('CREATE TABLE t (v TEXT)');
    expect(pool.stats().readers.size).toBe(2);
    await server.close();
    expect(pool.closed).toBe(true);
  });

  it('decorates with a pool passed in and leaves it open on close', async () => {
    const pool = await open(file());
    pools.push(pool);
    const server = app();
    await server.register(litepool, { pool });
    expect(server.litepool).toBe(pool);
    await server.close();
    expect(pool.closed).toBe(false);
    expect(await pool.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });

  it('registers two named instances beside the unnamed one, each its own database, all closed with the app', async () => {
    const server = app();
    await server.register(litepool, { path: file() });
    await server.register(litepool, { name: 'main', path: file() });
    await server.register(litepool, { name: 'analytics', path: file(), readers: 1 });
    const { main, analytics } = server.litepool;
    expect(main).not.toBe(analytics);
    await main!.exec('CREATE TABLE users (name TEXT)');
    await analytics!.exec('CREATE TABLE events (kind TEXT)');
    await main!.run("INSERT INTO users VALUES ('ada')");
    await analytics!.run("INSERT INTO events VALUES ('click')");
    server.get('/both', async () => ({
      users: await server.litepool.main!.all('SELECT * FROM users'),
      events: await server.litepool.analytics!.all('SELECT * FROM events'),
      tables: await server.litepool.all("SELECT name FROM sqlite_schema WHERE type = 'table'"),
    }));
    const response = await server.inject('/both');
    expect(response.json()).toEqual({ users: [{ name: 'ada' }], events: [{ kind: 'click' }], tables: [] });
    const unnamed = server.litepool;
    await server.close();
    expect([unnamed.closed, main!.closed, analytics!.closed]).toEqual([true, true, true]);
  });

  it('registers named instances alone', async () => {
    const server = app();
    await server.register(litepool, { name: 'a', path: file() });
    await server.register(litepool, { name: 'b', path: file() });
    expect(Object.keys(server.litepool).sort()).toEqual(['a', 'b']);
    expect(await server.litepool.b!.get('SELECT 2 AS two')).toEqual({ two: 2 });
  });

  it('keeps an instance registered in an encapsulated plugin to that plugin and its children, never the root or a sibling', async () => {
    const server = app();
    await server.register(litepool, { path: file(), readers: 1 });
    const root = server.litepool;
    const paths = { a: file(), b: file(), deeper: file() };
    const named = (instance: FastifyInstance) => ({
      tenant: instance.litepool.tenant?.path ?? null,
      deeper: instance.litepool.deeper?.path ?? null,
      keys: Object.keys(instance.litepool).sort(),
    });
    const seen: Record<string, ReturnType<typeof named>> = {};
    const childPools: Record<string, Pool> = {};
    server.register(async function tenantA(child) {
      await child.register(litepool, { name: 'tenant', path: paths.a, readers: 1 });
      await child.litepool.tenant!.exec('CREATE TABLE log (entry TEXT)');
      childPools.a = child.litepool.tenant!;
      child.register(async function nested(grandchild) {
        await grandchild.register(litepool, { name: 'deeper', path: paths.deeper, readers: 1 });
        seen.nested = named(grandchild);
        childPools.deeper = grandchild.litepool.deeper!;
      });
      child.get('/a', async () => named(child));
      child.post('/a/tx', { config: { litepool: { transaction: { name: 'tenant' } } } }, async (request) => {
        await request.litepoolTx!.run("INSERT INTO log VALUES ('a')");
        return { ok: true };
      });
      // The unnamed instance of the root is still served here, as the pool itself.
      child.get('/a/unnamed', async () => child.litepool.get<{ one: number }>('SELECT 1 AS one'));
    });
    server.register(async function tenantB(child) {
      // The same name in a sibling: its own instance.
      await child.register(litepool, { name: 'tenant', path: paths.b, readers: 1 });
      childPools.b = child.litepool.tenant!;
      child.get('/b', async () => named(child));
    });
    server.register(async function other(child) {
      child.get('/c', async () => named(child));
    });
    await server.ready();
    expect(server.litepool).toBe(root);
    expect(server.litepool).toBeInstanceOf(Pool);
    expect(named(server)).toEqual({ tenant: null, deeper: null, keys: [] });
    expect((await server.inject('/a')).json()).toEqual({ tenant: paths.a, deeper: null, keys: ['tenant'] });
    expect(seen.nested).toEqual({ tenant: paths.a, deeper: paths.deeper, keys: ['deeper', 'tenant'] });
    expect((await server.inject('/b')).json()).toEqual({ tenant: paths.b, deeper: null, keys: ['tenant'] });
    expect((await server.inject('/c')).json()).toEqual({ tenant: null, deeper: null, keys: [] });
    expect((await server.inject('/a/unnamed')).json()).toEqual({ one: 1 });
    expect((await server.inject({ method: 'POST', url: '/a/tx' })).statusCode).toBe(200);
    const tenantA = await open(paths.a, { readers: 1 });
    pools.push(tenantA);
    expect(await tenantA.all('SELECT * FROM log')).toEqual([{ entry: 'a' }]);
    const opened = [root, ...Object.values(childPools)];
    await server.close();
    expect(opened.map((pool) => pool.closed)).toEqual([true, true, true, true]);

    // A route of a sibling asking for that instance: not registered there.
    const sibling = app();
    await sibling.register(litepool, { path: file() });
    sibling.register(async function tenantA(child) {
      await child.register(litepool, { name: 'tenant', path: file() });
    });
    sibling.register(async function other(child) {
      child.post('/x', { config: { litepool: { transaction: { name: 'tenant' } } } }, async () => ({}));
    });
    await expect(sibling.ready()).rejects.toThrow(/instance 'tenant', which is not registered/);
  });

  it('refuses a name taken twice, a second unnamed instance and bad options', async () => {
    const twice = app();
    await twice.register(litepool, { name: 'main', path: file() });
    await expect(twice.register(litepool, { name: 'main', path: file() })).rejects.toMatchObject({ code: 'LITEPOOL_MISUSE' });
    await expect(twice.register(litepool, { name: 'main', path: file() })).rejects.toBeInstanceOf(LitepoolError);

    const unnamed = app();
    await unnamed.register(litepool, { path: file() });
    await expect(unnamed.register(litepool, { path: file() })).rejects.toThrow(/already registered/);
    const clash = app();
    await clash.register(litepool, { path: file() });
    await expect(clash.register(litepool, { name: 'close', path: file() })).rejects.toThrow(/already taken/);

    await expect(app().register(litepool, {} as never)).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await expect(app().register(litepool, { path: file(), readerz: 2 } as never)).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await expect(app().register(litepool, { pool: {} } as never)).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await expect(app().register(litepool, { path: file(), name: '' })).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await expect(app().register(litepool, {} as never)).rejects.toBeInstanceOf(LitepoolError);
  });

  it('serves the same pools to apps built side by side and one after another, writing nothing on them', async () => {
    const main = await open(file());
    const audit = await open(file());
    pools.push(main, audit);
    await audit.exec('CREATE TABLE log (entry TEXT)');
    // An app factory, as in per-test setups: every app registers the same two pools.
    const build = async (): Promise<FastifyInstance> => {
      const server = app();
      await server.register(litepool, { pool: main });
      await server.register(litepool, { name: 'audit', pool: audit });
      server.post('/a', { config: { litepool: { transaction: { name: 'audit' } } } }, async (request) => {
        await request.litepoolTx!.run("INSERT INTO log VALUES ('a')");
        return { ok: true };
      });
      await server.ready();
      return server;
    };
    const first = await build();
    const second = await build();
    expect(Reflect.ownKeys(main)).toEqual([]);
    // Beside named instances, app.litepool is a view of the unnamed pool, the app's own.
    expect(first.litepool).not.toBe(second.litepool);
    expect(first.litepool).toBeInstanceOf(Pool);
    expect([first.litepool.audit, second.litepool.audit]).toEqual([audit, audit]);
    expect(Object.keys(first.litepool)).toEqual(['audit']);
    const { get } = first.litepool;
    expect(await get('SELECT 1 AS one')).toEqual({ one: 1 });
    expect(first.litepool.path).toBe(main.path);
    await first.close();
    const third = await build();
    expect(third.litepool.closed).toBe(false);
    for (const server of [second, third]) expect((await server.inject({ method: 'POST', url: '/a' })).statusCode).toBe(200);
    expect(await audit.all('SELECT entry FROM log')).toEqual([{ entry: 'a' }, { entry: 'a' }]);

    // Alone, the unnamed pool is app.litepool itself.
    const alone = app();
    await alone.register(litepool, { pool: main });
    expect(alone.litepool).toBe(main);

    // Each app has its own named instances.
    const other = app();
    await other.register(litepool, { pool: main });
    await other.register(litepool, { name: 'metrics', pool: audit });
    expect(other.litepool.metrics).toBe(audit);
    expect(other.litepool.audit).toBeUndefined();
    expect('metrics' in third.litepool).toBe(false);
    expect(third.litepool.metrics).toBeUndefined();
    expect(() => {
      (third.litepool as unknown as { audit: Pool }).audit = main;
    }).toThrow(TypeError);
    expect(third.litepool.audit).toBe(audit);
  });
});

describe('requests', () => {
  it('serves 200 concurrent requests through inject(), reads and transactional writes, ending exact', async () => {
    const server = await serverWithCounter();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? server.inject({ method: 'POST', url: '/increment' }) : server.inject('/counter'))),
    );
    expect(responses.map((r) => r.statusCode).filter((s) => s !== 200)).toEqual([]);
    const increments = responses.filter((_, i) => i % 2 === 0).map((r) => r.json<{ value: number }>().value);
    expect(new Set(increments).size).toBe(100);
    expect(Math.max(...increments)).toBe(100);
    expect((await server.inject('/counter')).json()).toEqual({ value: 100 });
  });

  it('serves 200 concurrent requests over a real listen() on 127.0.0.1', async () => {
    const server = await serverWithCounter();
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? fetch(`${address}/increment`, { method: 'POST' }) : fetch(`${address}/counter`),
      ),
    );
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ value: number }>));
    expect(Math.max(...bodies.filter((_, i) => i % 2 === 0).map((b) => b.value))).toBe(100);
    expect(await (await fetch(`${address}/counter`)).json()).toEqual({ value: 100 });
  });

  it('streams a large result as NDJSON from iterate()', async () => {
    const server = app();
    await server.register(litepool, { path: file() });
    await server.litepool.exec(
      'CREATE TABLE n (i INTEGER PRIMARY KEY); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) INSERT INTO n SELECT x FROM c',
    );
    server.get('/stream', async (_request, reply) => {
      const rows = server.litepool.iterate<{ i: number }>('SELECT i FROM n ORDER BY i', [], { chunkSize: 500 });
      reply.type('application/x-ndjson');
      return Readable.from((async function* () {
        for await (const row of rows) yield `${JSON.stringify(row)}\n`;
      })());
    });
    const response = await server.inject('/stream');
    const lines = response.body.trim().split('\n');
    expect(lines).toHaveLength(5000);
    expect(JSON.parse(lines[4999]!)).toEqual({ i: 5000 });
    expect(server.litepool.stats().readers.pinned).toBe(0);
  });
});

describe('route transactions', () => {
  async function serverWithRoutes(): Promise<FastifyInstance> {
    const server = app();
    await server.register(litepool, { path: file(), readers: 2 });
    await server.litepool.exec('CREATE TABLE items (name TEXT UNIQUE NOT NULL)');
    server.post<{ Body: { names: string[]; status?: number; fail?: boolean } }>(
      '/items',
      { config: { litepool: { transaction: true } } },
      async (request, reply) => {
        for (const name of request.body.names) await request.litepoolTx!.run('INSERT INTO items (name) VALUES (?)', [name]);
        if (request.body.fail) throw new Error('handler failed');
        reply.code(request.body.status ?? 201);
        return { inserted: request.body.names.length };
      },
    );
    server.get('/items', async () => (await server.litepool.all<{ name: string }>('SELECT name FROM items ORDER BY name')).map((r) => r.name));
    server.get('/plain', async (request) => ({ tx: request.litepoolTx }));
    return server;
  }

  it('commits when the reply status is below 400', async () => {
    const server = await serverWithRoutes();
    const response = await server.inject({ method: 'POST', url: '/items', payload: { names: ['a', 'b'] } });
    expect(response.statusCode).toBe(201);
    expect((await server.inject('/items')).json()).toEqual(['a', 'b']);
    expect((await server.inject('/plain')).json()).toEqual({ tx: null });
  });

  it('rolls back when the handler throws, when a statement fails, and on a 4xx reply', async () => {
    const server = await serverWithRoutes();
    expect((await server.inject({ method: 'POST', url: '/items', payload: { names: ['x'], fail: true } })).statusCode).toBe(500);
    expect((await server.inject({ method: 'POST', url: '/items', payload: { names: ['y', 'y'] } })).statusCode).toBe(500);
    expect((await server.inject({ method: 'POST', url: '/items', payload: { names: ['z'], status: 409 } })).statusCode).toBe(409);
    expect((await server.inject('/items')).json()).toEqual([]);
    expect(server.litepool.stats().writer.held).toBe(false);
  });

  it('answers other requests while a route transaction holds the writer', async () => {
    const server = await serverWithCounter();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.post('/slow', { config: { litepool: { transaction: true } } }, async (request) => {
      await request.litepoolTx!.run('UPDATE counter SET value = 42');
      await gate;
      return { ok: true };
    });
    const slow = server.inject({ method: 'POST', url: '/slow' });
    await new Promise<void>((resolve) => {
      const poll = (): void => (server.litepool.stats().writer.held ? resolve() : void setTimeout(poll, 5));
      poll();
    });
    // A read is answered at once, from the last committed state.
    expect((await server.inject('/counter')).json()).toEqual({ value: 0 });
    release();
    expect((await slow).statusCode).toBe(200);
    expect((await server.inject('/counter')).json()).toEqual({ value: 42 });
  });

  it("is bounded by the transaction timeout: rolled back, the reply fails, the writer is free", async () => {
    const server = app();
    await server.register(litepool, { path: file() });
    await server.litepool.exec('CREATE TABLE t (v INTEGER)');
    server.post('/stuck', { config: { litepool: { transaction: { timeout: 100 } } } }, async (request) => {
      await request.litepoolTx!.run('INSERT INTO t VALUES (1)');
      await sleep(300);
      return { ok: true };
    });
    const response = await server.inject({ method: 'POST', url: '/stuck' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ code: 'LITEPOOL_TRANSACTION_TIMEOUT' });
    expect(await server.litepool.all('SELECT * FROM t')).toEqual([]);
    expect(server.litepool.stats().writer.held).toBe(false);
  });

  it('runs on the named instance the route asks for, with the behavior asked for', async () => {
    const server = app();
    await server.register(litepool, { name: 'main', path: file() });
    await server.register(litepool, { name: 'audit', path: file() });
    await server.litepool.audit!.exec('CREATE TABLE log (entry TEXT)');
    for (const behavior of ['deferred', 'immediate', 'exclusive'] as const) {
      server.post(`/audit/${behavior}`, { config: { litepool: { transaction: { name: 'audit', behavior } } } }, async (request) => {
        await request.litepoolTx!.run('INSERT INTO log VALUES (?)', [behavior]);
        return { ok: true };
      });
    }
    server.post('/audit', { config: { litepool: { transaction: { name: 'audit' } } } }, async (request) => {
      await request.litepoolTx!.run("INSERT INTO log VALUES ('default')");
      return { ok: true };
    });
    // litepool:transaction carries the pool and the behavior each transaction ran with.
    const ran: { pool: object; behavior: string }[] = [];
    const handlers = {
      asyncEnd: (ctx: unknown) => {
        const { pool, behavior } = ctx as TransactionChannelContext;
        ran.push({ pool, behavior });
      },
    };
    const channel = tracingChannel('litepool:transaction');
    channel.subscribe(handlers as never);
    try {
      for (const url of ['/audit', '/audit/deferred', '/audit/immediate', '/audit/exclusive']) {
        expect((await server.inject({ method: 'POST', url })).statusCode).toBe(200);
      }
    } finally {
      channel.unsubscribe(handlers as never);
    }
    const audit = server.litepool.audit!;
    expect(ran.filter((t) => t.pool === audit).map((t) => t.behavior)).toEqual(['immediate', 'deferred', 'immediate', 'exclusive']);
    expect(ran.filter((t) => t.pool !== audit)).toEqual([]);
    expect(await audit.all('SELECT * FROM log')).toEqual([{ entry: 'default' }, { entry: 'deferred' }, { entry: 'immediate' }, { entry: 'exclusive' }]);
  });

  it('checks route settings at startup', async () => {
    const unknownName = app();
    await unknownName.register(litepool, { path: file() });
    unknownName.post('/x', { config: { litepool: { transaction: { name: 'nope' } } } }, async () => ({}));
    await expect(unknownName.ready()).rejects.toThrow(/instance 'nope', which is not registered/);

    const badSetting = app();
    await badSetting.register(litepool, { path: file() });
    expect(() => badSetting.post('/y', { config: { litepool: { transaction: { behaviour: 'immediate' } } as never } }, async () => ({}))).toThrow(
      /unknown route config.litepool.transaction option behaviour/,
    );
  });
});

describe('route transactions: later hooks, clients gone, routes added early', () => {
  const transaction = { config: { litepool: { transaction: true } } };

  /** Resolves once `condition` holds (polled). */
  const until = (condition: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const poll = (): void => (condition() ? resolve() : void setTimeout(poll, 5));
      poll();
    });

  /** A POST over a real connection that `signal` cuts; resolves with the status, or 'aborted'. */
  const post = (url: string, signal?: AbortSignal, body?: object): Promise<number | 'aborted'> =>
    new Promise((resolve) => {
      const headers = { connection: 'close', ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
      const sent = httpRequest(url, { method: 'POST', agent: false, headers, signal }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      });
      sent.on('error', () => resolve('aborted'));
      sent.end(body === undefined ? undefined : JSON.stringify(body));
    });

  async function serverWithTable(): Promise<FastifyInstance> {
    const server = app();
    await server.register(litepool, { path: file() });
    await server.litepool.exec('CREATE TABLE t (v TEXT)');
    return server;
  }

  const rows = async (server: FastifyInstance): Promise<string[]> =>
    (await server.litepool.all<{ v: string }>('SELECT v FROM t ORDER BY rowid')).map((row) => row.v);

  it("rolls back when an onSend hook of the route or of a plugin registered after litepool throws", async () => {
    const server = await serverWithTable();
    server.post('/pre-serialization', { ...transaction, preSerialization: async () => { throw new Error('preSerialization failed'); } }, async (request) => {
      await request.litepoolTx!.run("INSERT INTO t VALUES ('pre-serialization')");
      return { ok: true };
    });
    server.post('/route-on-send', { ...transaction, onSend: async () => { throw new Error('route onSend failed'); } }, async (request) => {
      await request.litepoolTx!.run("INSERT INTO t VALUES ('route onSend')");
      return { ok: true };
    });
    await server.register(async (child) => {
      child.addHook('onSend', async (request, _reply, payload) => {
        if (request.url === '/child-on-send') throw new Error('child onSend failed');
        return payload;
      });
      child.post('/child-on-send', transaction, async (request) => {
        await request.litepoolTx!.run("INSERT INTO t VALUES ('child onSend')");
        return { ok: true };
      });
      // A later onSend hook that passes: the transaction is still open in it, and commits after it.
      child.post('/child-ok', { ...transaction, onSend: async (request, _reply, payload) => {
        await request.litepoolTx!.run("INSERT INTO t VALUES ('from onSend')");
        return payload;
      } }, async (request) => {
        await request.litepoolTx!.run("INSERT INTO t VALUES ('child ok')");
        return { ok: true };
      });
    });
    for (const url of ['/pre-serialization', '/route-on-send', '/child-on-send']) {
      const response = await server.inject({ method: 'POST', url });
      expect([url, response.statusCode]).toEqual([url, 500]);
    }
    expect(await rows(server)).toEqual([]);
    expect((await server.inject({ method: 'POST', url: '/child-ok' })).statusCode).toBe(200);
    expect(await rows(server)).toEqual(['child ok', 'from onSend']);
    expect(server.litepool.stats().writer.held).toBe(false);
  });

  // With a body, the request is read before the client goes: Fastify's onRequestAbort misses it.
  it.each([
    ['without a body', undefined],
    ['with a JSON body', { v: 'body' }],
  ])('skips the handler and begins nothing when the client goes away while the request waits for the writer (%s)', async (_, body) => {
    const server = await serverWithTable();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.post('/hold', transaction, async (request) => {
      await request.litepoolTx!.run("INSERT INTO t VALUES ('holder')");
      await gate;
      return { ok: true };
    });
    let ran = false;
    let sent!: () => void;
    const replied = new Promise<void>((resolve) => {
      sent = resolve;
    });
    server.post('/write', { ...transaction, onSend: async (_request, _reply, payload) => (sent(), payload) }, async (request) => {
      ran = true;
      await request.litepoolTx!.run("INSERT INTO t VALUES ('from the request whose client left')");
      return { ok: true };
    });
    // Resolves once the server saw the connection of /write close.
    let seen!: () => void;
    const closed = new Promise<void>((resolve) => {
      seen = resolve;
    });
    server.addHook('onRequest', async (request, reply) => {
      if (request.url === '/write') reply.raw.once('close', seen);
    });
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    const holder = post(`${address}/hold`);
    await until(() => server.litepool.stats().writer.held);
    const client = new AbortController();
    const writer = post(`${address}/write`, client.signal, body);
    // The request's transaction waits for the writer (a session in line) before the client leaves.
    await until(() => server.litepool.stats().leasesWaiting > 0);
    client.abort();
    expect(await writer).toBe('aborted');
    await closed;
    release();
    expect(await holder).toBe(200);
    await replied;
    await until(() => !server.litepool.stats().writer.held);
    expect(ran).toBe(false);
    expect(await rows(server)).toEqual(['holder']);
  });

  it('rolls back when the client goes away mid-handler: its next statement fails with ScopeEndedError', async () => {
    const server = await serverWithTable();
    let started!: () => void;
    const inHandler = new Promise<void>((resolve) => {
      started = resolve;
    });
    let resume!: () => void;
    const gate = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let failure: unknown;
    let sent!: () => void;
    const replied = new Promise<void>((resolve) => {
      sent = resolve;
    });
    server.post('/w', { ...transaction, onSend: async (_request, _reply, payload) => (sent(), payload) }, async (request) => {
      await request.litepoolTx!.run("INSERT INTO t VALUES ('first')");
      started();
      await gate;
      try {
        await request.litepoolTx!.run("INSERT INTO t VALUES ('second')");
      } catch (error) {
        failure = error;
        throw error;
      }
      return { ok: true };
    });
    let seen!: () => void;
    const aborted = new Promise<void>((resolve) => {
      seen = resolve;
    });
    server.addHook('onRequestAbort', async (_request) => seen());
    const address = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = new AbortController();
    const response = post(`${address}/w`, client.signal);
    await inHandler;
    client.abort();
    expect(await response).toBe('aborted');
    await aborted;
    resume();
    await replied;
    expect(failure).toBeInstanceOf(ScopeEndedError);
    expect(failure).toMatchObject({ code: 'LITEPOOL_SCOPE_ENDED' });
    expect(await rows(server)).toEqual([]);
    // The rollback runs when the client goes: it has ended, or ends now, and frees the writer.
    await until(() => !server.litepool.stats().writer.held);
  });

  it('serves a route added before the plugin, checking its settings at its requests and naming the cause', async () => {
    const logs: string[] = [];
    const server = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void logs.push(line) } } });
    apps.push(server);
    server.get('/bad', { config: { litepool: { transaction: { timeout: 'x' } } as never } }, async () => ({ ok: true }));
    server.post('/early', transaction, async (request) => {
      await request.litepoolTx!.run("INSERT INTO t VALUES ('early')");
      return { ok: true };
    });
    await server.register(litepool, { path: file() });
    await server.litepool.exec('CREATE TABLE t (v TEXT)');
    await server.ready();
    for (let i = 0; i < 2; i++) {
      const bad = await server.inject('/bad');
      expect(bad.statusCode).toBe(500);
      expect(bad.json()).toMatchObject({
        code: 'LITEPOOL_INVALID_ARGUMENT',
        message: 'route GET /bad, added before the litepool plugin was registered: transaction.timeout must be a number, got string',
      });
    }
    expect((await server.inject({ method: 'POST', url: '/early' })).statusCode).toBe(200);
    expect(await rows(server)).toEqual(['early']);
    const warnings = logs.map((line) => JSON.parse(line) as { msg: string }).map((entry) => entry.msg);
    expect(warnings.filter((msg) => msg.includes('has config.litepool but was added before the litepool plugin was registered')).map((msg) => msg.split(' has ')[0])).toEqual([
      'route GET /bad',
      'route POST /early',
    ]);
  });
});
