// Owns the training workload of the profile-guided build (scripts/pgo/build.sh): a broad mix of
// what an application asks of SQLite, run through the public API against an instrumented addon
// so that the compiler learns which paths of the SQLite amalgamation are hot.
//
// It must stay general: its own schema (a shop: customers, products, orders, order lines, a log
// and a full-text index), none of the benchmark datasets or statements of bench/. The benchmarks
// then measure the profile on workloads it never saw (docs/benchmarks.md, "Profile-guided build").
//
//   node scripts/pgo/train.mjs [--scale=1]     (after `npm run build:ts`)
//
// Runs on the JS thread of its own process; every query runs on the pool's reader and writer
// threads. Prints one line per phase; exits non-zero if any answer is wrong.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { open } from '../../dist/index.js';

const scale = Number(/^--scale=(.+)$/.exec(process.argv.find((a) => a.startsWith('--scale=')) ?? '')?.[1] ?? 1);
if (!(scale > 0)) throw new Error('--scale must be a positive number');

const CUSTOMERS = Math.round(5_000 * scale);
const PRODUCTS = Math.round(2_000 * scale);
const ORDERS = Math.round(40_000 * scale);
const CONCURRENCY = 32;

// A small deterministic generator (xorshift32), so every training run sees the same data.
let state = 0x9e3779b9;
function random() {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
}
const pick = (n) => 1 + Math.floor(random() * n);
const WORDS = 'amber basalt cedar dune ember fjord glacier harbor iris juniper kelp lagoon meadow nectar orchid prairie quartz reef sierra tundra umber valley willow xenon yarrow zephyr'.split(' ');
const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');

/** Runs `count` calls of `task(i)` with at most CONCURRENCY in flight. */
async function concurrently(count, task) {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

async function phase(name, body) {
  const started = performance.now();
  await body();
  console.log(`pgo train: ${name} (${Math.round(performance.now() - started)} ms)`);
}

const dir = mkdtempSync(join(tmpdir(), 'litepool-pgo-'));
const db = await open(join(dir, 'shop.db'), { readers: 2 });
try {
  await phase('schema', () =>
    db.exec(`
      CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, country TEXT NOT NULL, joined REAL NOT NULL, profile TEXT);
      CREATE TABLE products (sku TEXT PRIMARY KEY, title TEXT NOT NULL, price_cents INTEGER NOT NULL, stock INTEGER NOT NULL, tags TEXT) WITHOUT ROWID;
      CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), placed_at INTEGER NOT NULL, status TEXT NOT NULL);
      CREATE TABLE order_lines (order_id INTEGER NOT NULL REFERENCES orders(id), sku TEXT NOT NULL, qty INTEGER NOT NULL, cents INTEGER NOT NULL, PRIMARY KEY (order_id, sku));
      CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, what TEXT NOT NULL, detail BLOB);
      CREATE INDEX orders_by_customer ON orders(customer_id, placed_at);
      CREATE INDEX lines_by_sku ON order_lines(sku);
      CREATE VIRTUAL TABLE product_search USING fts5(sku UNINDEXED, title, tags);
    `),
  );

  await phase('bulk load (insertMany, batch, multi-row INSERT)', async () => {
    const customers = [];
    for (let i = 1; i <= CUSTOMERS; i++) {
      customers.push({
        id: i,
        name: words(2),
        email: `c${i}@shop.test`,
        country: ['DE', 'FR', 'JP', 'BR', 'US', 'IN'][i % 6],
        joined: 1.6e9 + random() * 1e8,
        profile: JSON.stringify({ tier: i % 3, tags: [words(1), words(1)], newsletter: i % 2 === 0 }),
      });
    }
    await db.insertMany('customers', customers);
    const products = [];
    for (let i = 1; i <= PRODUCTS; i++) {
      products.push({ sku: `P-${String(i).padStart(6, '0')}`, title: words(3), price_cents: 100 + pick(50_000), stock: pick(500), tags: words(4) });
    }
    await db.insertMany('products', products);
    await db.run('INSERT INTO product_search (sku, title, tags) SELECT sku, title, tags FROM products');
    for (let start = 1; start <= ORDERS; start += 500) {
      const statements = [];
      for (let id = start; id < Math.min(start + 500, ORDERS + 1); id++) {
        statements.push({ sql: 'INSERT INTO orders (id, customer_id, placed_at, status) VALUES (?, ?, ?, ?)', params: [id, pick(CUSTOMERS), 1.7e9 + id * 60, ['new', 'paid', 'shipped', 'returned'][id % 4]] });
        const lines = 1 + (id % 4);
        const values = [];
        const params = [];
        for (let k = 0; k < lines; k++) {
          values.push('(?, ?, ?, ?)');
          params.push(id, `P-${String(((id * 7 + k * 13) % PRODUCTS) + 1).padStart(6, '0')}`, 1 + (k % 3), 100 + pick(20_000));
        }
        statements.push({ sql: `INSERT INTO order_lines (order_id, sku, qty, cents) VALUES ${values.join(', ')}`, params });
      }
      await db.batch(statements);
    }
    await db.exec('ANALYZE');
  });

  await phase('point reads (rowid, unique index, WITHOUT ROWID key)', () =>
    concurrently(60_000 * scale, async (i) => {
      if (i % 3 === 0) assert.ok(await db.get('SELECT id, name, email, country FROM customers WHERE id = ?', [pick(CUSTOMERS)]));
      else if (i % 3 === 1) assert.ok(await db.get('SELECT id, name FROM customers WHERE email = ?', [`c${pick(CUSTOMERS)}@shop.test`]));
      else assert.ok(await db.get('SELECT title, price_cents FROM products WHERE sku = ?', [`P-${String(pick(PRODUCTS)).padStart(6, '0')}`]));
    }),
  );

  await phase('range scans, sorting, LIMIT/OFFSET, iterate', async () => {
    await concurrently(4_000 * scale, async () => {
      const rows = await db.all('SELECT id, placed_at, status FROM orders WHERE customer_id = ? ORDER BY placed_at DESC LIMIT 20', [pick(CUSTOMERS)]);
      for (let k = 1; k < rows.length; k++) assert.ok(rows[k - 1].placed_at >= rows[k].placed_at);
      await db.all('SELECT sku, title FROM products ORDER BY price_cents DESC, sku LIMIT 25 OFFSET ?', [pick(200)]);
      await db.all('SELECT id, name FROM customers WHERE id BETWEEN ? AND ? + 50', [pick(CUSTOMERS), pick(CUSTOMERS)]);
    });
    let seen = 0;
    for await (const row of db.iterate('SELECT order_id, sku, qty * cents AS total FROM order_lines WHERE order_id <= ?', [Math.min(ORDERS, 20_000)])) {
      seen += row.total > 0 ? 1 : 0;
    }
    assert.ok(seen > 0);
  });

  await phase('joins and aggregates (GROUP BY, HAVING, DISTINCT, subqueries, CTE, windows)', () =>
    concurrently(1_500 * scale, async (i) => {
      switch (i % 6) {
        case 0:
          await db.all(
            `SELECT c.country, COUNT(DISTINCT o.customer_id) AS buyers, SUM(l.qty * l.cents) AS revenue
             FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_lines l ON l.order_id = o.id
             WHERE o.placed_at BETWEEN ? AND ? + 120000 GROUP BY c.country HAVING revenue > 0 ORDER BY revenue DESC`,
            [1.7e9 + pick(ORDERS) * 60, 1.7e9 + pick(ORDERS) * 60],
          );
          break;
        case 1:
          await db.get(
            `SELECT c.name, COUNT(o.id) AS orders, MAX(o.placed_at) AS last, AVG(l.cents) AS avg_cents
             FROM customers c LEFT JOIN orders o ON o.customer_id = c.id LEFT JOIN order_lines l ON l.order_id = o.id
             WHERE c.id = ? GROUP BY c.id`,
            [pick(CUSTOMERS)],
          );
          break;
        case 2:
          await db.all(
            `SELECT p.sku, p.title, (SELECT SUM(qty) FROM order_lines WHERE sku = p.sku) AS sold
             FROM products p WHERE p.stock < ? ORDER BY sold DESC NULLS LAST LIMIT 10`,
            [pick(500)],
          );
          break;
        case 3:
          await db.all(
            `WITH recent AS (SELECT id, customer_id FROM orders WHERE id > ?)
             SELECT customer_id, COUNT(*) AS n FROM recent GROUP BY customer_id ORDER BY n DESC LIMIT 5`,
            [ORDERS - pick(5_000)],
          );
          break;
        case 4:
          await db.all(
            `SELECT id, placed_at, ROW_NUMBER() OVER (PARTITION BY status ORDER BY placed_at) AS nth,
                    SUM(id) OVER (ORDER BY placed_at ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS rolling
             FROM orders WHERE customer_id = ?`,
            [pick(CUSTOMERS)],
          );
          break;
        default:
          await db.all(
            `SELECT status, COUNT(*) AS n, MIN(placed_at), MAX(placed_at) FROM orders
             WHERE id IN (SELECT order_id FROM order_lines WHERE sku = ?) GROUP BY status`,
            [`P-${String(pick(PRODUCTS)).padStart(6, '0')}`],
          );
      }
    }),
  );

  await phase('expressions: strings, LIKE, JSON, math, dates, CASE', () =>
    concurrently(3_000 * scale, async (i) => {
      const id = pick(CUSTOMERS);
      const row = await db.get(
        `SELECT upper(name) AS shout, substr(email, 1, instr(email, '@') - 1) AS local, length(name) AS len,
                json_extract(profile, '$.tier') AS tier, json_array_length(profile, '$.tags') AS tags,
                printf('%08.2f', joined / 1e6) AS joined_m, date(joined, 'unixepoch') AS day,
                CASE WHEN country IN ('DE', 'FR') THEN 'eu' WHEN country = 'JP' THEN 'apac' ELSE 'other' END AS region,
                round(sqrt(id) * 3.0, 2) AS math, coalesce(NULL, hex(randomblob(4)) IS NOT NULL) AS ok
         FROM customers WHERE id = ?`,
        [id],
      );
      assert.equal(row.local, `c${id}`);
      if (i % 10 === 0) await db.all("SELECT sku FROM products WHERE title LIKE ? || '%' LIMIT 20", [WORDS[i % WORDS.length]]);
      if (i % 10 === 1) await db.all('SELECT key, value FROM customers, json_each(customers.profile) WHERE customers.id = ?', [id]);
    }),
  );

  await phase('full-text search', () =>
    concurrently(1_500 * scale, async (i) => {
      await db.all("SELECT sku, snippet(product_search, 1, '[', ']', '…', 4) AS hit FROM product_search WHERE product_search MATCH ? ORDER BY rank LIMIT 10", [
        i % 2 ? WORDS[i % WORDS.length] : `${WORDS[i % WORDS.length]} OR ${WORDS[(i * 7) % WORDS.length]}`,
      ]);
    }),
  );

  await phase('writes: single-row INSERT/UPDATE/DELETE, upserts, RETURNING, transactions', async () => {
    await concurrently(40_000 * scale, async (i) => {
      switch (i % 5) {
        case 0:
          await db.run('INSERT INTO audit (at, what, detail) VALUES (?, ?, ?)', [i, words(3), Buffer.alloc(32, i)]);
          break;
        case 1:
          await db.run('UPDATE products SET stock = stock - 1 WHERE sku = ? AND stock > 0', [`P-${String(pick(PRODUCTS)).padStart(6, '0')}`]);
          break;
        case 2:
          await db.run(
            'INSERT INTO order_lines (order_id, sku, qty, cents) VALUES (?, ?, 1, 500) ON CONFLICT (order_id, sku) DO UPDATE SET qty = qty + 1',
            [pick(ORDERS), `P-${String(pick(PRODUCTS)).padStart(6, '0')}`],
          );
          break;
        case 3:
          await db.get("UPDATE orders SET status = 'shipped' WHERE id = ? RETURNING id, status", [pick(ORDERS)]);
          break;
        default:
          await db.run('DELETE FROM audit WHERE id < (SELECT MAX(id) FROM audit) - 1000');
      }
    });
    await concurrently(500 * scale, () =>
      db.transaction(async (tx) => {
        const customer = pick(CUSTOMERS);
        const { lastInsertRowid } = await tx.run("INSERT INTO orders (customer_id, placed_at, status) VALUES (?, ?, 'new')", [customer, Date.now()]);
        await tx.run('INSERT INTO order_lines (order_id, sku, qty, cents) VALUES (?, ?, 2, 999)', [lastInsertRowid, `P-${String(pick(PRODUCTS)).padStart(6, '0')}`]);
        const total = await tx.get('SELECT SUM(qty * cents) AS total FROM order_lines WHERE order_id = ?', [lastInsertRowid]);
        assert.equal(total.total, 1998);
      }),
    );
  });

  await phase('schema changes and maintenance (index build, integrity check, checkpoint)', async () => {
    await db.exec('CREATE INDEX customers_by_country ON customers(country, joined); CREATE INDEX audit_by_what ON audit(what)');
    await db.all('SELECT country, COUNT(*) FROM customers GROUP BY country');
    const integrity = await db.integrityCheck();
    assert.ok(integrity.ok, 'integrity check failed');
    await db.exec('DROP INDEX audit_by_what; PRAGMA wal_checkpoint(TRUNCATE)');
  });
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
