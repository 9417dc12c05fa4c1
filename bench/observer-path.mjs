// Owns the benchmark of an observed operation's own JS work, without SQLite, the addon or the
// event loop: the query trace of one point read (created, admitted, handed over, completed,
// settled) with a MetricsCollector attached, as the dispatcher drives it, in nanoseconds per
// operation. What it measures is what observing adds on the JS thread; being all CPU on one
// thread, it is far less sensitive to a busy machine than bench/observers.mjs. Several builds
// (`--root <dir>`, a checkout with its own dist/; default this one) run in fresh child processes,
// interleaved round by round.
//
//   node bench/observer-path.mjs                                  (after `npm run build:ts`)
//   node bench/observer-path.mjs --root . --root /path/to/other/checkout --rounds 5

import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const OPERATIONS = 2_000_000;
const SQL = 'SELECT * FROM items WHERE id = ?';

/** Child: drives OPERATIONS traces through the build in `root`; prints the best of 3 passes in ns per operation. */
async function child(root) {
  const load = (path) => import(pathToFileURL(join(root, 'dist', path)).href);
  const { ObserverHub } = await load('observers/hub.js');
  const { QueryTrace } = await load('observers/query-trace.js');
  const { MetricsCollector } = await load('observers/index.js');
  const hub = new ObserverHub(':bench:');
  hub.add(new MetricsCollector());
  const params = [1];
  const one = (i) => {
    const trace = new QueryTrace(hub, 'get', SQL, 'reader', false, params);
    // Builds that finish an operation where its request settles (direct(), settled()), and the
    // ones before them (finish() once the operation's own promise settled).
    if (trace.direct) trace.direct();
    trace.admit(false, false);
    trace.submitted();
    trace.completed(12, 5, 1, 0, i & 3, 0, undefined);
    if (trace.settled) trace.settled(true, undefined, undefined);
    else trace.finish(undefined, false);
  };
  let best = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPERATIONS; i++) one(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / OPERATIONS);
  }
  process.stdout.write(`${JSON.stringify({ nsPerOperation: best })}\n`);
}

async function main() {
  const roots = [];
  for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === '--root') roots.push(resolve(process.argv[++i]));
  if (roots.length === 0) roots.push(resolve(here, '..'));
  const at = process.argv.indexOf('--rounds');
  const rounds = at === -1 ? 5 : Number(process.argv[at + 1]);
  console.log(`observed point read, JS work only, ${OPERATIONS} per pass; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const results = new Map(roots.map((root) => [root, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const root of round % 2 === 0 ? [...roots].reverse() : roots) {
      const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', root], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${root} failed: ${run.stderr}`);
      const { nsPerOperation } = JSON.parse(run.stdout.trim().split('\n').at(-1));
      results.get(root).push(nsPerOperation);
      console.log(`  round ${round}  ${nsPerOperation.toFixed(1).padStart(7)} ns/operation  ${root}`);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log('\nmedians:');
  for (const [root, values] of results) console.log(`  ${median(values).toFixed(1).padStart(7)} ns/operation  ${root}`);
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();
