// Owns the HTTP benchmark's check of its dependencies: the peer drivers, Fastify and autocannon
// must load from bench/node_modules (bench/package.json). When they do not, it runs
// `npm install` in bench/ (better-sqlite3 and sqlite3 may compile from source: a minute or two
// each), then `npm rebuild` of the native peers for a Node whose ABI changed, and stops with the
// error when they still do not load. Each probe runs in a child process: a native binary built for
// another Node can crash the process that loads it.

import { spawnSync } from 'node:child_process';

const PROBE =
  "const B=require('better-sqlite3');new B(':memory:').prepare('select 1').get();" +
  "const s=require('sqlite3');new s.Database(':memory:').close();" +
  "require.resolve('fastify');require.resolve('autocannon');";

export function ensurePeers(benchDir) {
  const probe = () => spawnSync(process.execPath, ['-e', PROBE], { cwd: benchDir, encoding: 'utf8' });
  const npm = (...args) => {
    console.error(`bench/http: npm ${args.join(' ')} in bench/ (the native peers may compile from source: a minute or two)`);
    const result = spawnSync('npm', [...args, '--no-audit', '--no-fund'], {
      cwd: benchDir,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
    if (result.status !== 0) {
      console.error(`bench/http: \`npm ${args.join(' ')}\` in bench/ failed (exit ${result.status ?? result.signal})`);
      process.exit(1);
    }
  };
  let loaded = probe();
  if (loaded.status === 0) return;
  npm('install');
  loaded = probe();
  if (loaded.status === 0) return;
  npm('rebuild', 'better-sqlite3', 'sqlite3');
  loaded = probe();
  if (loaded.status !== 0) {
    console.error(`bench/http: the bench dependencies still do not load (${loaded.signal ?? `exit ${loaded.status}`}):\n${loaded.stderr}`);
    process.exit(1);
  }
}
