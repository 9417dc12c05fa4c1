// Covers the layout rules of lib/ that keep the request path readable: no import circle (type-only
// imports included), no file over 350 lines, types.ts imports nothing and the other public types files
// (*-types.ts beside it) import only types files, request/ depends on
// neither connections/ nor api/, the handles and the keeper never import the dispatcher, and the
// JS/native contract's numbers come from lib/native/contract.ts only.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const report = JSON.parse(execFileSync(process.execPath, [join(root, 'scripts/check-lib-imports.mjs'), '--json'], { encoding: 'utf8' })) as {
  files: string[];
  edges: Record<string, string[]>;
  cycles: string[][];
};

describe('lib/ layout', () => {
  it('has no import circle', () => {
    expect(report.files.length).toBeGreaterThan(20);
    expect(report.cycles).toEqual([]);
  });

  it('has no file over 350 lines', () => {
    const long = report.files
      .map((file) => ({ file, lines: readFileSync(join(root, 'lib', file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 350);
    expect(long).toEqual([]);
  });

  it('types.ts imports nothing; the other public types files import only types files and declare no values', () => {
    expect(report.edges['types.ts']).toEqual([]);
    const typesFiles = report.files.filter((file) => /^[a-z-]+-types\.ts$/.test(file));
    expect(typesFiles).toEqual(expect.arrayContaining(['options-types.ts', 'operations-types.ts', 'write-queue-types.ts']));
    for (const file of typesFiles) {
      expect(report.edges[file]!.filter((target) => !/^(types|[a-z-]+-types)\.ts$/.test(target)), file).toEqual([]);
      const code = readFileSync(join(root, 'lib', file), 'utf8');
      expect(code.match(/^export (?!type |interface )/gm) ?? [], file).toEqual([]);
    }
  });

  it('request/ imports nothing from connections/ or api/', () => {
    const outward = Object.entries(report.edges)
      .filter(([file]) => file.startsWith('request/'))
      .flatMap(([file, targets]) => targets.filter((t) => t.startsWith('connections/') || t.startsWith('api/')).map((t) => `${file} -> ${t}`));
    expect(outward).toEqual([]);
  });

  it('the handles and the connection keeper never import the dispatcher', () => {
    const files = ['api/scope.ts', 'api/lease.ts', 'api/transaction.ts', 'api/snapshot.ts', 'api/connection-handle.ts', 'connections/health.ts', 'connections/hook-run.ts'];
    for (const file of files) expect(report.edges[file], file).not.toContain('request/dispatcher.ts');
  });

  it('the contract numbers are defined once, in native/contract.ts', () => {
    const definitions = /\b(?:const|enum)\s+(Op|Target|RequestFlag|Status|CellTag|CheckpointMode|HeaderCell|HEADER_CELLS|WRITER_WORKER)\b/;
    const defining = report.files.filter((file) => definitions.test(readFileSync(join(root, 'lib', file), 'utf8')));
    expect(defining).toEqual(['native/contract.ts']);
  });
});
