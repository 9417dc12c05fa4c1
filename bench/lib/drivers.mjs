// Owns the drivers the benchmark compares, behind one small interface: litepool, better-sqlite3,
// sqlite3 (one connection, and a round-robin set of connections), a better-sqlite3 connection
// opened and closed per query, and node:sqlite when the running Node has it.
//
// Every connection runs with the same settings so the comparison is fair: WAL, synchronous=NORMAL,
// a 16,000 KiB page cache (litepool's default) and a 5 s busy timeout. Every driver uses prepared
// statements kept per connection (litepool keeps its own statement cache natively).
//
// A connection object has: kind ('async' | 'sync'), get(sql, params), all(sql, params),
// iterate(sql, params) → number of rows seen, run(sql, params), insertMany(sql, rows), close().
// Sync drivers return values, async drivers promises.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const CACHE_KIB = 16_000;
export const SETUP_PRAGMAS = [
  'PRAGMA journal_mode = WAL',
  'PRAGMA synchronous = NORMAL',
  `PRAGMA cache_size = -${CACHE_KIB}`,
  'PRAGMA busy_timeout = 5000',
];

/** Loads every driver module; returns { litepool, BetterSqlite3, sqlite3, nodeSqlite, versions }. */
export async function loadDrivers() {
  const litepool = await import('../../dist/index.js');
  const BetterSqlite3 = require('better-sqlite3');
  const sqlite3 = require('sqlite3');
  let nodeSqlite;
  let nodeSqliteSkip;
  try {
    nodeSqlite = await import('node:sqlite');
  } catch (error) {
    nodeSqliteSkip = `node:sqlite is not available in Node ${process.versions.node} (${error.code ?? error.message})`;
  }

  const memory = new BetterSqlite3(':memory:');
  const versions = {
    litepool: {
      version: require('../../package.json').version,
      sqlite: litepool.Pool.sqliteVersion,
    },
    'better-sqlite3': {
      version: packageVersion('better-sqlite3'),
      sqlite: memory.prepare('SELECT sqlite_version() AS v').get().v,
    },
    sqlite3: { version: packageVersion('sqlite3'), sqlite: sqlite3.VERSION },
    'node:sqlite': nodeSqlite
      ? { version: `node ${process.versions.node}`, sqlite: nodeSqliteVersion(nodeSqlite) }
      : { skipped: nodeSqliteSkip },
    tinybench: { version: packageVersion('tinybench') },
  };
  memory.close();
  return { litepool, BetterSqlite3, sqlite3, nodeSqlite, nodeSqliteSkip, versions };
}

/** The installed version of a bench dependency (read from disk: not every package exports ./package.json). */
function packageVersion(name) {
  return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
}

function nodeSqliteVersion(nodeSqlite) {
  const db = new nodeSqlite.DatabaseSync(':memory:');
  try {
    return db.prepare('SELECT sqlite_version() AS v').get().v;
  } finally {
    db.close();
  }
}

/** A per-connection cache of prepared statements. */
function statementCache(prepare) {
  const cache = new Map();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

// ── litepool ──────────────────────────────────────────────────────────────────────────────────

async function openLitepool(mod, file) {
  const pool = await mod.open(file, { readers: 4, synchronous: 'normal', cacheSize: CACHE_KIB, busyTimeout: 5000 });
  const multiRowSql = new Map();
  return {
    kind: 'async',
    pool,
    get: (sql, params) => pool.get(sql, params),
    all: (sql, params) => pool.all(sql, params),
    iterate:
      typeof pool.iterate === 'function'
        ? async (sql, params) => {
            let n = 0;
            for await (const _row of pool.iterate(sql, params)) n++;
            return n;
          }
        : async (sql, params) => (await pool.all(sql, params)).length,
    iterateMethod: typeof pool.iterate === 'function' ? 'iterate()' : 'all() (no iterate())',
    run: (sql, params) => pool.run(sql, params),
    /** One multi-row INSERT … VALUES (…), (…) statement through run(): one writer round trip. */
    insertMany: (sql, rows) => {
      let text = multiRowSql.get(sql);
      if (!text) {
        const values = sql.slice(sql.toUpperCase().lastIndexOf('VALUES') + 6).trim();
        text = `${sql.slice(0, sql.toUpperCase().lastIndexOf('VALUES'))}VALUES ${Array(rows.length).fill(values).join(', ')}`;
        multiRowSql.set(sql, text);
      }
      return pool.run(text, rows.flat());
    },
    /** The same 100 rows through db.batch(): one prepared INSERT per row, atomic, one round trip. */
    insertManyBatch:
      typeof pool.batch === 'function' ? (sql, rows) => pool.batch(rows.map((params) => ({ sql, params }))) : undefined,
    /** The same 100 rows through db.transaction(): one awaited run() per row. */
    insertManyTx:
      typeof pool.transaction === 'function'
        ? (sql, rows) =>
            pool.transaction(async (tx) => {
              for (const row of rows) await tx.run(sql, row);
            })
        : undefined,
    close: () => pool.close(),
  };
}

// ── better-sqlite3 ────────────────────────────────────────────────────────────────────────────

function openBetterSqlite3(BetterSqlite3, file) {
  const db = new BetterSqlite3(file);
  for (const pragma of SETUP_PRAGMAS) db.exec(pragma);
  const stmt = statementCache((sql) => db.prepare(sql));
  const txs = new Map();
  return {
    kind: 'sync',
    db,
    get: (sql, params) => stmt(sql).get(...params),
    all: (sql, params) => stmt(sql).all(...params),
    iterate: (sql, params) => {
      let n = 0;
      for (const _row of stmt(sql).iterate(...params)) n++;
      return n;
    },
    iterateMethod: '.iterate()',
    run: (sql, params) => stmt(sql).run(...params),
    insertMany: (sql, rows) => {
      let tx = txs.get(sql);
      if (!tx) {
        const insert = stmt(sql);
        tx = db.transaction((many) => {
          for (const row of many) insert.run(...row);
        });
        txs.set(sql, tx);
      }
      tx(rows);
    },
    close: () => db.close(),
  };
}

/** A new better-sqlite3 connection for every query: open, prepare, run, close. */
function openPerQuery(BetterSqlite3, file) {
  const once = (sql, use) => {
    const db = new BetterSqlite3(file);
    try {
      return use(db.prepare(sql));
    } finally {
      db.close();
    }
  };
  return {
    kind: 'sync',
    get: (sql, params) => once(sql, (s) => s.get(...params)),
    all: (sql, params) => once(sql, (s) => s.all(...params)),
    close: () => {},
  };
}

// ── node:sqlite ───────────────────────────────────────────────────────────────────────────────

function openNodeSqlite(nodeSqlite, file) {
  const db = new nodeSqlite.DatabaseSync(file);
  for (const pragma of SETUP_PRAGMAS) db.exec(pragma);
  const stmt = statementCache((sql) => db.prepare(sql));
  const hasIterate = typeof db.prepare('SELECT 1').iterate === 'function';
  return {
    kind: 'sync',
    db,
    get: (sql, params) => stmt(sql).get(...params),
    all: (sql, params) => stmt(sql).all(...params),
    iterate: hasIterate
      ? (sql, params) => {
          let n = 0;
          for (const _row of stmt(sql).iterate(...params)) n++;
          return n;
        }
      : (sql, params) => stmt(sql).all(...params).length,
    iterateMethod: hasIterate ? '.iterate()' : '.all() (no .iterate())',
    run: (sql, params) => stmt(sql).run(...params),
    insertMany: (sql, rows) => {
      const insert = stmt(sql);
      db.exec('BEGIN');
      try {
        for (const row of rows) insert.run(...row);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
    close: () => db.close(),
  };
}

// ── sqlite3 ───────────────────────────────────────────────────────────────────────────────────

function sqlite3Open(sqlite3, file) {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (error) => {
      if (error) reject(error);
      else resolve(db);
    });
  });
}

const sqlite3Exec = (db, sql) => new Promise((resolve, reject) => db.exec(sql, (e) => (e ? reject(e) : resolve())));

async function sqlite3Connection(sqlite3, file) {
  const db = await sqlite3Open(sqlite3, file);
  await sqlite3Exec(db, SETUP_PRAGMAS.join('; '));
  const statements = [];
  const stmt = statementCache((sql) => {
    const s = db.prepare(sql);
    statements.push(s);
    return s;
  });
  return {
    db,
    get: (sql, params) => new Promise((resolve, reject) => stmt(sql).get(params, (e, row) => (e ? reject(e) : resolve(row)))),
    all: (sql, params) => new Promise((resolve, reject) => stmt(sql).all(params, (e, rows) => (e ? reject(e) : resolve(rows)))),
    iterate: (sql, params) =>
      new Promise((resolve, reject) => {
        let n = 0;
        stmt(sql).each(
          params,
          () => void n++,
          (e) => (e ? reject(e) : resolve(n)),
        );
      }),
    run: (sql, params) =>
      new Promise((resolve, reject) =>
        stmt(sql).run(params, function done(e) {
          if (e) reject(e);
          else resolve({ changes: this.changes, lastInsertRowid: this.lastID });
        }),
      ),
    insertMany: async (sql, rows) => {
      await sqlite3Exec(db, 'BEGIN');
      try {
        const insert = stmt(sql);
        await Promise.all(
          rows.map((row) => new Promise((resolve, reject) => insert.run(row, (e) => (e ? reject(e) : resolve())))),
        );
        await sqlite3Exec(db, 'COMMIT');
      } catch (error) {
        await sqlite3Exec(db, 'ROLLBACK').catch(() => {});
        throw error;
      }
    },
    close: async () => {
      await Promise.all(statements.map((s) => new Promise((resolve) => s.finalize(() => resolve()))));
      await new Promise((resolve, reject) => db.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** `size` sqlite3 connections; each call goes to the next one (round robin). */
async function openSqlite3(sqlite3, file, size) {
  const conns = [];
  for (let i = 0; i < size; i++) conns.push(await sqlite3Connection(sqlite3, file));
  if (size === 1) return { kind: 'async', ...conns[0], iterateMethod: 'Statement#each()' };
  let next = 0;
  const pick = () => conns[next++ % size];
  return {
    kind: 'async',
    get: (sql, params) => pick().get(sql, params),
    all: (sql, params) => pick().all(sql, params),
    iterate: (sql, params) => pick().iterate(sql, params),
    iterateMethod: 'Statement#each()',
    run: (sql, params) => pick().run(sql, params),
    insertMany: (sql, rows) => pick().insertMany(sql, rows),
    close: () => Promise.all(conns.map((c) => c.close())),
  };
}

/**
 * The driver table. `open(file)` resolves with a connection object; `available` is false (with
 * `skip` saying why) when the running Node lacks the driver.
 */
export function driverTable(mods) {
  const { litepool, BetterSqlite3, sqlite3, nodeSqlite, nodeSqliteSkip } = mods;
  return [
    { id: 'litepool', label: 'litepool', kind: 'async', open: (file) => openLitepool(litepool, file) },
    { id: 'better-sqlite3', label: 'better-sqlite3', kind: 'sync', open: async (file) => openBetterSqlite3(BetterSqlite3, file) },
    { id: 'sqlite3', label: 'sqlite3 (1 conn)', kind: 'async', open: (file) => openSqlite3(sqlite3, file, 1) },
    { id: 'sqlite3x4', label: 'sqlite3 (4 conns)', kind: 'async', open: (file) => openSqlite3(sqlite3, file, 4) },
    {
      id: 'node-sqlite',
      label: 'node:sqlite',
      kind: 'sync',
      available: Boolean(nodeSqlite),
      skip: nodeSqliteSkip,
      open: async (file) => openNodeSqlite(nodeSqlite, file),
    },
    {
      id: 'open-per-query',
      label: 'open per query (better-sqlite3)',
      kind: 'sync',
      perQuery: true,
      open: async (file) => openPerQuery(BetterSqlite3, file),
    },
  ].map((d) => ({ available: true, ...d }));
}
