#!/usr/bin/env node
// Owns installing the Litestream binary the replication tests run (test/98-litestream.test.ts):
// the @flydotio/litestream-<platform>-<arch> npm package (Litestream 0.3.13), for this machine
// only and without touching package.json or the lock file. It is not a declared dependency: the
// package that would pull it in lists binaries for platforms the registry does not have, which
// `npm ci` refuses. Where no such package exists, it says so and the tests skip.
//
// Usage: npm run install:litestream
import { spawnSync } from 'node:child_process';

const VERSION = '1.0.1';
const name = `@flydotio/litestream-${process.platform}-${process.arch}`;
const view = spawnSync('npm', ['view', `${name}@${VERSION}`, 'version'], { encoding: 'utf8', shell: process.platform === 'win32' });
if (view.status !== 0 || view.stdout.trim() !== VERSION) {
  console.log(`install:litestream: no ${name}@${VERSION} in the registry; the Litestream tests will skip on this platform`);
  process.exit(0);
}
const install = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `${name}@${VERSION}`], {
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
process.exit(install.status ?? 1);
