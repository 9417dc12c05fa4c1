// Owns the reproduction of the lost reader wake-up: rounds of a reader lease and a plain read
// submitted in the same tick, the read awaited under the lease, on a pool with two readers; a
// watchdog prints stats() and exits with code 3 when no round finished for 5 s. Before the fix
// (Engine::handOff) a round hung after tens of thousands of rounds on a loaded 2-core machine.
// Usage: node scripts/soak/pin-race.mjs [--seconds N] [--readers N]   (default 300 s, 2 readers;
//   imports the compiled library from dist/)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { open } = await import(new URL('../../dist/index.js', import.meta.url).href);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}
const seconds = option('seconds', 300);
const readers = option('readers', 2);

const dir = mkdtempSync(join(tmpdir(), 'litepool-pin-race-'));
const db = await open(join(dir, 'pin-race.db'), { readers });
await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
await db.run('INSERT INTO t (v) VALUES (1)');
let rounds = 0;
let last = Date.now();
const watchdog = setInterval(() => {
  if (Date.now() - last > 5000) {
    console.log(`STALL after ${rounds} rounds; stats(): ${JSON.stringify(db.stats())}`);
    process.exit(3);
  }
}, 1000);
const deadline = Date.now() + seconds * 1000;
while (Date.now() < deadline) {
  await db.get('SELECT v FROM t WHERE id = 1'); // a reader has just worked: it polls the ring
  const leased = db.acquire();
  const plain = db.get('SELECT v FROM t WHERE id = 1');
  const lease = await leased;
  await plain;
  await lease.release();
  rounds++;
  last = Date.now();
}
clearInterval(watchdog);
await db.close();
rmSync(dir, { recursive: true, force: true });
console.log(`no stall in ${rounds} rounds (${seconds} s)`);
