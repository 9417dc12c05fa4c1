// Owns what the HTTP benchmark records about the machine it runs on: CPU model and count, memory,
// Node and the git commit, the load average, and how much CPU other processes take during a
// measurement (machine-wide busy time from /proc/stat minus the CPU the benchmark's own processes
// report), since on a small machine a busy neighbour skews every figure.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** Machine-wide busy CPU seconds (Linux: /proc/stat; undefined elsewhere) at a point in time. */
export function cpuSnapshot() {
  try {
    const hz = 100;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { at: performance.now(), busy: (total - idle) / hz };
  } catch {
    return undefined;
  }
}

/**
 * Cores used on average by processes other than ours between two snapshots, given the CPU
 * seconds our own processes (this one, the server, the load generator) used meanwhile.
 */
export function otherCores(a, b, oursSeconds) {
  if (!a || !b) return undefined;
  const seconds = (b.at - a.at) / 1000;
  return Math.max(0, (b.busy - a.busy - oursSeconds) / seconds);
}

/** CPU seconds this process used since `since` (a process.cpuUsage() value). */
export function cpuSecondsSince(since) {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

export function machineInfo(root) {
  const cpus = os.cpus();
  let git;
  const rev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (rev.status === 0) {
    const dirty = spawnSync('git', ['status', '--porcelain', '--', 'lib', 'native', 'deps'], { cwd: root, encoding: 'utf8' });
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
    loadAverageAtStart: os.loadavg(),
    git,
  };
}
