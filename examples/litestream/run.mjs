// Runnable example: litepool under Litestream. Creates a database in a temporary directory, starts
// `litestream replicate` on it, writes orders through litepool (replication: 'litestream'),
// closes the pool, restores the replica into a new file and checks that every order is there,
// then restores to a point in time before the last batch of orders.
// Run: node examples/litestream/run.mjs  (from the repository, after `npm ci` and
// `npm run install:litestream`, which installs the @flydotio/litestream npm package for this
// platform; or set LITESTREAM=/path/to/litestream)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from 'litepool';

const config = join(dirname(fileURLToPath(import.meta.url)), 'litestream.yml');
const litestream = process.env.LITESTREAM ?? installedLitestream();

/** The binary `npm run install:litestream` installed for this platform. */
function installedLitestream() {
  const name = `@flydotio/litestream-${process.platform}-${process.arch}`;
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), 'litestream');
  } catch {
    console.error(`no Litestream binary: run \`npm run install:litestream\` (installs ${name}), or set LITESTREAM=/path/to/litestream`);
    process.exit(1);
  }
}
const dataDir = mkdtempSync(join(tmpdir(), 'litepool-litestream-example-'));
const env = { ...process.env, DATA_DIR: dataDir };
const database = join(dataDir, 'app.db');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cli = (...args) => execFileSync(litestream, [...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** Orders in a restored copy of the database. */
async function ordersIn(file) {
  const db = await open(file, { readers: 1, create: false });
  try {
    return (await db.get('SELECT count(*) AS n FROM orders')).n;
  } finally {
    await db.close();
  }
}

console.log(`Litestream ${cli('version').trim()}, data in ${dataDir}`);
let replicator;
try {
  // The schema first, so that Litestream finds a database to replicate.
  const setup = await open(database, { replication: 'litestream' });
  await setup.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL NOT NULL)');
  await setup.close();

  replicator = spawn(litestream, ['replicate', '-config', config], { env, stdio: 'ignore' });
  await sleep(1500);

  const db = await open(database, { replication: 'litestream' });
  // Concurrent single writes (group-committed) and a transaction.
  await Promise.all(Array.from({ length: 500 }, (_, i) => db.run('INSERT INTO orders (customer, total) VALUES (?, ?)', [`c${i % 20}`, i])));
  await db.transaction(async (tx) => {
    for (let i = 0; i < 100; i++) await tx.run('INSERT INTO orders (customer, total) VALUES (?, ?)', ['bulk', i]);
  });
  await sleep(2500); // Litestream ships the WAL every second (sync-interval)
  const before = new Date().toISOString();
  await sleep(1500);
  await db.insertMany('orders', Array.from({ length: 400 }, (_, i) => ({ customer: 'late', total: i })));
  const written = (await db.get('SELECT count(*) AS n FROM orders')).n;
  await db.close(); // a passive checkpoint at most: the WAL stays with Litestream
  await sleep(2500);

  console.log('generations:\n' + cli('generations', '-config', config, database));
  cli('restore', '-config', config, '-o', join(dataDir, 'restored.db'), database);
  const restored = await ordersIn(join(dataDir, 'restored.db'));
  console.log(`written ${written} orders, restored ${restored}`);
  cli('restore', '-config', config, '-timestamp', before, '-o', join(dataDir, 'at.db'), database);
  console.log(`restored as of ${before}: ${await ordersIn(join(dataDir, 'at.db'))} orders (the last 400 came later)`);
  if (restored !== written) process.exitCode = 1;
} finally {
  if (replicator && replicator.exitCode === null && replicator.signalCode === null) {
    const exited = new Promise((resolve) => replicator.once('exit', resolve));
    replicator.kill('SIGTERM'); // Litestream ships what is left, then exits
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
