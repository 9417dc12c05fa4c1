// Owns the optional CPU profile of a run (--cpu-prof): a V8 sampling profile of the JS thread,
// taken in this process through node:inspector around one workload and written as a .cpuprofile
// file (summarized by bench/cpuprofile-top.mjs).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Profiles the JS thread from now until stop(file) (node:inspector, in this process). */
export async function startProfiler() {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}
