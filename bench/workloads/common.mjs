// Owns what every workload does between measurements: a connection opened for one measurement and
// always closed, a forced garbage collection and a short pause before the next driver starts (so
// one driver's garbage is not collected on another's time), the median of repeated runs, and the
// progress lines on stderr.

import v8 from 'node:v8';
import vm from 'node:vm';

import { sleep } from '../lib/harness.mjs';

let gc = globalThis.gc;
if (!gc) {
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc');
  } catch {
    gc = () => {};
  }
}

/** Collects garbage, then lets the event loop breathe for 50 ms. */
export async function settle() {
  gc();
  await sleep(50);
}

/** Opens `driver` on `file`, runs `body(conn)`, always closes. */
export async function withConnection(driver, file, body) {
  const conn = await driver.open(file);
  try {
    return await body(conn);
  } finally {
    await conn.close();
    await settle();
  }
}

/** The run whose `key` is the median of `runs`. */
export function median(runs, key) {
  return [...runs].sort((a, b) => a[key] - b[key])[Math.floor((runs.length - 1) / 2)];
}

export function progress(message) {
  process.stderr.write(`  … ${message}\n`);
}
