#!/usr/bin/env node
// Owns the reading of deps/sqlite-options.txt, the one list of SQLite compile options.
// binding.gyp and CMakeLists.txt call this script instead of keeping their own copies.
//
// Usage: node deps/sqlite-options.mjs <release|debug> [--cmake]
//   prints the defines of that build type (debug = release + debug-only options), separated by
//   spaces (for gyp's <!@(...) expansion) or by semicolons with --cmake (a CMake list).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Parses the option file into its sections: { release: string[], debug: string[] }. */
export function readSqliteOptions(file = join(dirname(fileURLToPath(import.meta.url)), 'sqlite-options.txt')) {
  const sections = { release: [], debug: [] };
  let current = null;
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      if (!(header[1] in sections)) throw new Error(`unknown section [${header[1]}] in ${file}`);
      current = header[1];
      continue;
    }
    if (!current) throw new Error(`option ${line} in ${file} stands before any [section]`);
    if (!/^[A-Z][A-Z0-9_]*(=[^\s]+)?$/.test(line)) throw new Error(`malformed option line: ${raw}`);
    sections[current].push(line);
  }
  return sections;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const kind = process.argv[2] ?? 'release';
  const { release, debug } = readSqliteOptions();
  const defines = kind === 'debug' ? [...release, ...debug] : kind === 'release' ? release : null;
  if (!defines) {
    process.stderr.write('usage: node deps/sqlite-options.mjs <release|debug> [--cmake]\n');
    process.exit(2);
  }
  process.stdout.write(defines.join(process.argv.includes('--cmake') ? ';' : ' '));
}
