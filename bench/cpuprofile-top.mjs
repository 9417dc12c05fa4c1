// Owns the summary of a V8 CPU profile (.cpuprofile from `node --cpu-prof`): the functions the
// JS thread spent the most self time in, for finding the hot spots of a benchmark.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/run.mjs --only=point-select --drivers=litepool
//   node bench/cpuprofile-top.mjs /tmp/prof/*.cpuprofile [--top=25]

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 20);
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node bench/cpuprofile-top.mjs <file.cpuprofile>... [--top=N]');
  process.exit(2);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    let where = url ? url.replace(/^file:\/\//, '') : '';
    if (where.startsWith(root)) where = relative(root, where);
    const key = `${functionName || '(anonymous)'}${where ? `  ${where}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
}
