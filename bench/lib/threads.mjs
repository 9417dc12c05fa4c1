// Owns the CPU time of this process's threads by role, from /proc/self/task (Linux only): the JS
// thread, litepool's reader and writer threads (the addon names them), and everything else (V8's
// compiler and GC helpers, libuv), so a benchmark can say where the time of an operation goes.

import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;
const ROLE_BY_NAME = { 'litepool-reader': 'readers', 'litepool-writer': 'writer' };

/** CPU seconds (user + system) of every live thread of this process, with its role; undefined off Linux. */
export function threadTimes() {
  let tids;
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const threads = new Map();
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After "pid (comm) ", fields[11] and fields[12] are utime and stime (stat fields 14 and 15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const role = Number(tid) === process.pid ? 'js' : (ROLE_BY_NAME[name] ?? 'other');
      threads.set(tid, { role, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The thread ended between the listing and the read: its time is lost to both snapshots.
    }
  }
  return threads;
}

/**
 * CPU seconds spent per role between two threadTimes() snapshots (threads born in between count
 * from zero). Resolution: one clock tick (10 ms) per thread.
 */
export function cpuByRole(before, after) {
  if (!before || !after) return undefined;
  const roles = { js: 0, readers: 0, writer: 0, other: 0 };
  for (const [tid, { role, seconds }] of after) roles[role] += seconds - (before.get(tid)?.seconds ?? 0);
  return roles;
}
