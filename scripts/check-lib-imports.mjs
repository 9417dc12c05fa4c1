#!/usr/bin/env node
// Owns the layout check of lib/: every relative import (type-only ones included) between the
// files of lib/, the import circles among them (there must be none), and the longest files.
// Prints the circles and exits 1 when there is one; `--json` prints { files, edges, cycles }.
//
// Usage: node scripts/check-lib-imports.mjs [--json]

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'lib');

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Relative specifiers of every import and re-export, `import type` and `import('...')` included. */
function importsOf(text) {
  // Comments do not import (a TSDoc example may show an import of the user's own file).
  const source = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = [];
  const patterns = [/\b(?:import|export)\b[^'";]*?\bfrom\s*'(\.[^']+)'/g, /\bimport\s*\(\s*'(\.[^']+)'\s*\)/g, /^\s*import\s+'(\.[^']+)'/gm];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]);
  return found;
}

const files = filesUnder(lib).map((file) => relative(lib, file)).sort();
const edges = new Map(files.map((file) => [file, []]));
for (const file of files) {
  // Comments are left out: a TSDoc example may show an import of the user's own files.
  const source = readFileSync(join(lib, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  for (const specifier of importsOf(source)) {
    const target = relative(lib, resolve(lib, dirname(file), specifier));
    if (!edges.has(target)) throw new Error(`${file} imports ${specifier}, which is not a file of lib/`);
    edges.get(file).push(target);
  }
}

// Depth-first search; a back edge closes a circle.
const cycles = [];
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const next of edges.get(file)) {
    if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ files, edges: Object.fromEntries(edges), cycles })}\n`);
} else if (cycles.length > 0) {
  for (const cycle of cycles) process.stdout.write(`import circle: ${cycle.join(' -> ')}\n`);
} else {
  process.stdout.write(`${files.length} files in lib/, no import circle\n`);
}
process.exit(cycles.length > 0 ? 1 : 0);
