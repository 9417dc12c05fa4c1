// Owns the parameter-encoding benchmark: point reads (`SELECT ... WHERE id = ?`) through
// db.get with positional and named parameters, at concurrency 1 and 64, plus the cost of checking
// and copying the parameters alone (encodeParams, 1,000,000 calls). It compares builds of the
// library: give it one or more compiled library directories and it runs them in turns, so that
// a loaded machine disturbs every build alike.
// Usage: node bench/param-encoding.mjs [--rounds N] [dist-dir ...]   (default: dist/)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let rounds = 3;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else dirs.push(resolve(args[i]));
}
if (dirs.length === 0) dirs.push(resolve('dist'));

const READS = 100_000;
const ENCODES = 1_000_000;
const ROWS = 10_000;

async function loadBuild(dir) {
  const library = await import(pathToFileURL(join(dir, 'index.js')).href);
  const params = await import(pathToFileURL(join(dir, 'params.js')).href);
  return { open: library.open, encodeParams: params.encodeParams };
}

async function pointReads(db, concurrency, named) {
  const sql = named ? 'SELECT id, v FROM t WHERE id = :id' : 'SELECT id, v FROM t WHERE id = ?';
  let next = 0;
  const worker = async () => {
    while (next < READS) {
      const id = (next++ % ROWS) + 1;
      await db.get(sql, named ? { id } : [id]);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return READS / ((performance.now() - start) / 1000);
}

function encodes(encodeParams) {
  const inputs = [[1], [1, 'two', 3.5, null], { id: 1 }, { a: 1, b: 'x', c: true }];
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < ENCODES; i++) sink += encodeParams(inputs[i & 3]).values.length;
  const seconds = (performance.now() - start) / 1000;
  if (sink === 0) throw new Error('unreachable');
  return ENCODES / seconds;
}

const builds = await Promise.all(dirs.map(loadBuild));
const results = dirs.map(() => ({ c1: [], c64: [], named64: [], encode: [] }));
const work = mkdtempSync(join(tmpdir(), 'litepool-param-bench-'));
try {
  const file = join(work, 'bench.db');
  {
    const db = await builds[0].open(file, { readers: 2 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await db.insertMany('t', Array.from({ length: ROWS }, (_, i) => ({ v: `value ${i}` })));
    await db.close();
  }
  for (let round = 1; round <= rounds; round++) {
    for (const [index, build] of builds.entries()) {
      const db = await build.open(file, { readers: 2 });
      await pointReads(db, 64, false); // warm-up
      results[index].c1.push(await pointReads(db, 1, false));
      results[index].c64.push(await pointReads(db, 64, false));
      results[index].named64.push(await pointReads(db, 64, true));
      results[index].encode.push(encodes(build.encodeParams));
      await db.close();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const k = (value) => `${(value / 1000).toFixed(1)}k/s`;
console.log(`point reads (${READS} per run) and encodeParams (${ENCODES} calls), median of ${rounds} rounds`);
for (const [index, dir] of dirs.entries()) {
  const r = results[index];
  console.log(
    `${dir}: get c=1 ${k(median(r.c1))}, get c=64 ${k(median(r.c64))}, named get c=64 ${k(median(r.named64))}, encodeParams ${k(median(r.encode))}`,
  );
}
