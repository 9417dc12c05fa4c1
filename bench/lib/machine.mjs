// Owns what a run records about the machine it ran on: CPU, memory, OS, Node and V8, the git
// commit measured, and the CPU time other processes took meanwhile (from /proc, Linux only),
// since a busy neighbour skews every figure on a 2-core machine.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { now } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * CPU time of the whole machine and of this process (with its waited-for children), in seconds,
 * from /proc (Linux only): lets a run report how much CPU other processes took meanwhile, since
 * a busy neighbour skews every figure on a 2-core machine.
 */
export function cpuSnapshot() {
  try {
    const hz = 100;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    const self = readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields[11..14] are utime, stime, cutime, cstime (stat fields 14–17).
    const ours = fields[11] + fields[12] + fields[13] + fields[14];
    return { at: now(), busy: (total - idle) / hz, ours: ours / hz };
  } catch {
    return undefined;
  }
}

/** Cores used by other processes on average between two snapshots. */
export function otherLoad(a, b) {
  if (!a || !b) return undefined;
  const seconds = (b.at - a.at) / 1000;
  return Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / seconds);
}

export function machineInfo() {
  const cpus = os.cpus();
  let git;
  const rev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (rev.status === 0) {
    const dirty = spawnSync('git', ['status', '--porcelain', '--', 'lib', 'native', 'deps'], { cwd: ROOT, encoding: 'utf8' });
    git = { commit: rev.stdout.trim(), libOrNativeModified: dirty.status === 0 ? dirty.stdout.trim().length > 0 : undefined };
  }
  return {
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.versions.node,
    v8: process.versions.v8,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    loadAverageAtStart: os.loadavg(),
    git,
  };
}
