// Owns the query-builder benchmark: point reads and the heavy JOIN/GROUP BY of the main suite,
// built with Kysely and with Drizzle, each on litepool (litepool/kysely, litepool/drizzle) and on
// better-sqlite3 (Kysely's SqliteDialect; Drizzle's better-sqlite3 session), 64 concurrent
// clients awaiting one query at a time, as a server's requests would. The same queries written
// as raw SQL on both drivers, in the same harness, show what the builders themselves cost.
// One process, one driver at a time, on the shared dataset of bench/lib/data.mjs.
// Prints a table per workload and writes bench/results/orm-latest.json (orm-quick.json).
//
//   node bench/orm.mjs           (after `npm run build:ts`; installs the bench peers on first use)
//   node bench/orm.mjs --quick   smaller heavy dataset, shorter runs
//
// Kysely and Drizzle come from the repository's devDependencies, so both sides of a comparison
// run the same copy of the builder.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

import { asyncWorkers, randomId, sleep } from './lib/harness.mjs';
import { buildDataset, ITEMS, SQL } from './lib/data.mjs';
import { CACHE_KIB, SETUP_PRAGMAS } from './lib/adapters/common.mjs';
import { loadBetterSqlite3 } from './lib/peers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const require = createRequire(import.meta.url);
const CONCURRENCY = 64;
const settings = quick ? { users: 200, warmupMs: 300, runMs: 1_000 } : { users: 1_000, warmupMs: 500, runMs: 3_000 };


const BetterSqlite3 = loadBetterSqlite3();
const { open } = await import('../dist/index.js');
const { LitepoolDialect } = await import('../dist/integrations/kysely/index.js');
const litepoolDrizzle = await import('../dist/integrations/drizzle/index.js');
const { Kysely, SqliteDialect } = await import('kysely');
const { count, eq } = await import('drizzle-orm');
const { BaseSQLiteDatabase, SQLiteSyncDialect, integer, real, sqliteTable, text } = await import('drizzle-orm/sqlite-core');
const { BetterSQLiteSession } = await import('drizzle-orm/better-sqlite3/session');

let gc = globalThis.gc;
if (!gc) {
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc');
  } catch {
    gc = () => {};
  }
}

// ── the schema, for Drizzle ───────────────────────────────────────────────────────────────────

const items = sqliteTable('items', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull(),
  score: real('score').notNull(),
  createdAt: integer('created_at').notNull(),
});
const users = sqliteTable('users', { id: integer('id').primaryKey(), name: text('name').notNull(), email: text('email').notNull() });
const posts = sqliteTable('posts', {
  id: integer('id').primaryKey(),
  userId: integer('user_id').notNull(),
  title: text('title').notNull(),
  body: text('body').notNull(),
  createdAt: integer('created_at').notNull(),
});
const comments = sqliteTable('comments', { id: integer('id').primaryKey(), postId: integer('post_id').notNull() });
const likes = sqliteTable('likes', { id: integer('id').primaryKey(), postId: integer('post_id').notNull() });

// ── the queries: the main suite's SQL, built with each tool ───────────────────────────────────

const kyselyQueries = (db) => ({
  point: (id) =>
    db.selectFrom('items').select(['id', 'name', 'email', 'score', 'created_at']).where('id', '=', id).executeTakeFirst(),
  heavy: (id) =>
    db
      .selectFrom('posts as p')
      .innerJoin('users as u', 'p.user_id', 'u.id')
      .leftJoin('comments as c', 'c.post_id', 'p.id')
      .leftJoin('likes as l', 'l.post_id', 'p.id')
      .select(['p.id', 'p.title', 'u.name as author', (eb) => eb.fn.count('c.id').as('comments'), (eb) => eb.fn.count('l.id').as('likes')])
      .where('p.id', '=', id)
      .groupBy(['p.id', 'p.title', 'u.name'])
      .executeTakeFirst(),
});

const drizzleQueries = (db) => ({
  point: async (id) =>
    db
      .select({ id: items.id, name: items.name, email: items.email, score: items.score, created_at: items.createdAt })
      .from(items)
      .where(eq(items.id, id))
      .get(),
  heavy: async (id) =>
    db
      .select({ id: posts.id, title: posts.title, author: users.name, comments: count(comments.id), likes: count(likes.id) })
      .from(posts)
      .innerJoin(users, eq(posts.userId, users.id))
      .leftJoin(comments, eq(comments.postId, posts.id))
      .leftJoin(likes, eq(likes.postId, posts.id))
      .where(eq(posts.id, id))
      .groupBy(posts.id, posts.title, users.name)
      .get(),
});

// ── the contenders ────────────────────────────────────────────────────────────────────────────

function openBetterSqlite3(file) {
  const db = new BetterSqlite3(file);
  for (const pragma of SETUP_PRAGMAS) db.exec(pragma);
  return db;
}

const openLitepool = (file) => open(file, { readers: 4, synchronous: 'normal', cacheSize: CACHE_KIB, busyTimeout: 5000 });

const contenders = [
  {
    tool: 'Kysely',
    driver: 'litepool',
    async open(file) {
      const pool = await openLitepool(file);
      const db = new Kysely({ dialect: new LitepoolDialect({ pool }) });
      return { queries: kyselyQueries(db), close: async () => (await db.destroy(), await pool.close()) };
    },
  },
  {
    tool: 'Kysely',
    driver: 'better-sqlite3',
    async open(file) {
      const database = openBetterSqlite3(file);
      const db = new Kysely({ dialect: new SqliteDialect({ database }) });
      return { queries: kyselyQueries(db), close: () => db.destroy() };
    },
  },
  {
    tool: 'Drizzle',
    driver: 'litepool',
    async open(file) {
      const pool = await openLitepool(file);
      return { queries: drizzleQueries(litepoolDrizzle.drizzle(pool)), close: () => pool.close() };
    },
  },
  {
    tool: 'Drizzle',
    driver: 'better-sqlite3',
    async open(file) {
      // What drizzle-orm/better-sqlite3's drizzle() builds (that module imports better-sqlite3
      // from the repository root, where it is not installed; bench/ has its own copy).
      const client = openBetterSqlite3(file);
      const dialect = new SQLiteSyncDialect();
      const db = new BaseSQLiteDatabase('sync', dialect, new BetterSQLiteSession(client, dialect, undefined, {}), undefined);
      return { queries: drizzleQueries(db), close: () => client.close() };
    },
  },
  {
    tool: 'raw SQL',
    driver: 'litepool',
    async open(file) {
      const pool = await openLitepool(file);
      return {
        queries: { point: (id) => pool.get(SQL.point, [id]), heavy: (id) => pool.get(SQL.heavy, [id]) },
        close: () => pool.close(),
      };
    },
  },
  {
    tool: 'raw SQL',
    driver: 'better-sqlite3',
    async open(file) {
      const db = openBetterSqlite3(file);
      const point = db.prepare(SQL.point);
      const heavy = db.prepare(SQL.heavy);
      return { queries: { point: async (id) => point.get(id), heavy: async (id) => heavy.get(id) }, close: () => db.close() };
    },
  },
];

// ── the run ───────────────────────────────────────────────────────────────────────────────────

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n) => n.toFixed(2);

const dir = mkdtempSync(join(tmpdir(), 'litepool-orm-bench-'));
try {
  const file = join(dir, 'bench.db');
  process.stderr.write(`building the dataset (${fmtInt(settings.users)} users)...\n`);
  const shape = buildDataset(BetterSqlite3, file, { users: settings.users });

  // Every contender must answer the same thing before it is timed.
  const expected = { point: new BetterSqlite3(file, { readonly: true }), heavy: undefined };
  const reference = {
    point: expected.point.prepare(SQL.point).get(4242),
    heavy: expected.point.prepare(SQL.heavy).get(7),
  };
  expected.point.close();

  const workloads = {
    point: { label: `point SELECT by primary key (${fmtInt(ITEMS)} rows)`, id: () => randomId(ITEMS), check: 4242 },
    heavy: {
      label: `heavy JOIN + GROUP BY (${fmtInt(shape.posts)} posts, ${fmtInt(shape.comments)} comments, ${fmtInt(shape.likes)} likes)`,
      id: () => randomId(shape.posts),
      check: 7,
    },
  };
  const results = {};
  const started = performance.now();
  for (const [workload, spec] of Object.entries(workloads)) {
    results[workload] = [];
    for (const contender of contenders) {
      process.stderr.write(`  … ${workload}: ${contender.tool} on ${contender.driver}\n`);
      const conn = await contender.open(file);
      try {
        const answer = await conn.queries[workload](spec.check);
        if (JSON.stringify(answer) !== JSON.stringify(reference[workload])) {
          throw new Error(`${contender.tool} on ${contender.driver} answered ${JSON.stringify(answer)}, expected ${JSON.stringify(reference[workload])}`);
        }
        const fn = () => conn.queries[workload](spec.id());
        await asyncWorkers({ concurrency: CONCURRENCY, durationMs: settings.warmupMs, fn });
        const run = await asyncWorkers({ concurrency: CONCURRENCY, durationMs: settings.runMs, fn, latencies: true });
        results[workload].push({ tool: contender.tool, driver: contender.driver, opsPerSec: run.opsPerSec, latency: run.latency });
      } finally {
        await conn.close();
        gc();
        await sleep(50);
      }
    }
  }
  const totalSeconds = (performance.now() - started) / 1000;

  for (const [workload, rows] of Object.entries(results)) {
    console.log(`\n${workloads[workload].label}, ${CONCURRENCY} concurrent clients, ops/s`);
    console.log(['tool', 'driver', 'ops/s', 'vs same tool on better-sqlite3', 'median ms', 'p99 ms'].join(' | '));
    for (const row of rows) {
      const base = rows.find((r) => r.tool === row.tool && r.driver === 'better-sqlite3');
      row.vsBetterSqlite3 = row.opsPerSec / base.opsPerSec;
      console.log(
        [row.tool, row.driver, fmtInt(row.opsPerSec), `${row.vsBetterSqlite3.toFixed(2)}x`, fmtMs(row.latency.median), fmtMs(row.latency.p99)].join(' | '),
      );
    }
  }
  const heavyKysely = results.heavy.find((r) => r.tool === 'Kysely' && r.driver === 'litepool').vsBetterSqlite3;
  const heavyDrizzle = results.heavy.find((r) => r.tool === 'Drizzle' && r.driver === 'litepool').vsBetterSqlite3;
  console.log(`\ntarget: heavy through each builder on litepool >= 1.3x the same builder on better-sqlite3`);
  console.log(`  Kysely ${heavyKysely.toFixed(2)}x ${heavyKysely >= 1.3 ? 'met' : 'NOT met'}; Drizzle ${heavyDrizzle.toFixed(2)}x ${heavyDrizzle >= 1.3 ? 'met' : 'NOT met'}`);

  mkdirSync(join(here, 'results'), { recursive: true });
  const versions = {
    kysely: require('../node_modules/kysely/package.json').version,
    'drizzle-orm': require('../node_modules/drizzle-orm/package.json').version,
    'better-sqlite3': require('better-sqlite3/package.json').version,
  };
  const report = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    totalSeconds,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      totalMemoryBytes: totalmem(),
      loadAverageAtEnd: loadavg(),
      node: process.version,
      platform: process.platform,
      arch: process.arch,
    },
    versions,
    settings: { ...settings, concurrency: CONCURRENCY },
    dataset: shape,
    results,
  };
  writeFileSync(join(here, 'results', `orm-${quick ? 'quick' : 'latest'}.json`), `${JSON.stringify(report, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
