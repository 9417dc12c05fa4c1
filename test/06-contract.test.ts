// Covers the JS/native contract, whose one source is native/core/contract.h: lib/native/contract.ts
// is exactly what scripts/gen-contract.mjs generates from it now (never stale, never edited by
// hand), its values are the ones contract.h states, and the compiled addon reports the same
// numbers (its `contract` export, built from contract.h), so an addon built from another
// contract.h fails here instead of misreading completions. Also: the generator refuses what it
// cannot read, and a changed number is seen by the checks.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { binding } from '../lib/native/binding.ts';
import * as contract from '../lib/native/contract.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

type Item =
  | { kind: 'group'; name: string; doc: string[]; members: { name: string; value: number; doc?: string }[] }
  | { kind: 'constant'; name: string; doc: string[]; value: number };

interface Generator {
  SOURCE: string;
  OUTPUT: string;
  parseContract(text: string): Item[];
  renderContract(items: Item[]): string;
}

let generator: Generator;
let source: string;

/** The values `items` define, shaped like the generated module's exports. */
function valuesOf(items: Item[]): Record<string, unknown> {
  return Object.fromEntries(
    items.map((item) => [
      item.name,
      item.kind === 'constant' ? item.value : Object.fromEntries(item.members.map((member) => [member.name, member.value])),
    ]),
  );
}

/** The generated module's runtime exports (types vanish at runtime). */
function generatedValues(): Record<string, unknown> {
  return { ...contract };
}

beforeAll(async () => {
  const url = pathToFileURL(join(root, 'scripts', 'gen-contract.mjs')).href;
  generator = (await import(/* @vite-ignore */ url)) as Generator;
  source = readFileSync(join(root, generator.SOURCE), 'utf8');
});

describe('lib/native/contract.ts against native/core/contract.h', () => {
  it('is exactly what scripts/gen-contract.mjs generates now (else: npm run gen:contract)', () => {
    const current = readFileSync(join(root, generator.OUTPUT), 'utf8');
    expect(current).toBe(generator.renderContract(generator.parseContract(source)));
    expect(current.split('\n')[0]).toContain('do not edit');
    // The script's own check agrees.
    expect(() => execFileSync(process.execPath, ['scripts/gen-contract.mjs', '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });

  it('exports exactly the groups and constants of contract.h, with the same values', () => {
    expect(generatedValues()).toEqual(valuesOf(generator.parseContract(source)));
  });

  it('holds every name lib/ relies on, and a header that ends with its row count', () => {
    expect(Object.keys(generatedValues()).sort()).toEqual(
      ['BLOCK_HEADER_CELLS', 'BlockCell', 'CellTag', 'CheckpointMode', 'HEADER_CELLS', 'HeaderCell', 'ITERATE_CHUNK_BYTES', 'Op', 'RequestFlag', 'Status', 'Target', 'ValueTag', 'WRITER_WORKER'].sort(),
    );
    expect(contract.HEADER_CELLS).toBe(contract.HeaderCell.RowCells + 1);
    // The checkpoint modes are SQLite's SQLITE_CHECKPOINT_* values.
    expect(contract.CheckpointMode).toEqual({ Passive: 0, Full: 1, Restart: 2, Truncate: 3 });
    // Flags are distinct single bits.
    const bits = Object.values(contract.RequestFlag);
    for (const bit of bits) expect(bit & (bit - 1)).toBe(0);
    expect(new Set(bits).size).toBe(bits.length);
  });
});

describe('the compiled addon', () => {
  it('was built from the same contract (else: rebuild the addon)', () => {
    const native = (binding() as unknown as { contract?: Record<string, unknown> }).contract;
    expect(native, "the addon exports 'contract'").toBeDefined();
    expect(native).toEqual(generatedValues());
  });
});

describe('the checks themselves', () => {
  it('see one changed number in contract.h', () => {
    const changed = source.replace(/^(\s*Misuse = )(\d+),/m, (_, head: string, value: string) => `${head}${Number(value) + 100},`);
    expect(changed).not.toBe(source);
    const items = generator.parseContract(changed);
    expect(generator.renderContract(items)).not.toBe(readFileSync(join(root, generator.OUTPUT), 'utf8'));
    expect(valuesOf(items)).not.toEqual(generatedValues());
  });

  it('refuse a member without a value, a value they cannot read, and two members with one value', () => {
    const wrap = (body: string) => `namespace litepool {\nenum class Thing : std::uint8_t {\n${body}\n};\n}  // namespace litepool\n`;
    expect(() => generator.parseContract(wrap('  First,'))).toThrow(/explicit value/);
    expect(() => generator.parseContract(wrap('  First = kOther,'))).toThrow(/cannot read the value/);
    expect(() => generator.parseContract(wrap('  First = 1,\n  Second = 1,'))).toThrow(/share the value 1/);
    expect(generator.parseContract(wrap('  First = 1u << 3,  // a bit'))).toEqual([
      { kind: 'group', name: 'Thing', doc: [], members: [{ name: 'First', value: 8, doc: 'a bit' }] },
    ]);
  });
});
