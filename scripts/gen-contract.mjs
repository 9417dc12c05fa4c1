#!/usr/bin/env node
// Owns the generation of lib/native/contract.ts from native/core/contract.h, the one source of the
// numbers lib/ and the native code speak in (Op, Target, RequestFlag, Status, CellTag, HeaderCell,
// HEADER_CELLS, WRITER_WORKER).
//
//   node scripts/gen-contract.mjs           writes lib/native/contract.ts (npm run gen:contract)
//   node scripts/gen-contract.mjs --check   exits 1 when lib/native/contract.ts is not current
//
// It reads the three forms contract.h allows (see its header) and refuses anything it does not
// understand inside them, a member without an explicit value, or two members of one enum with the
// same value. test/06-contract.test.ts imports parseContract() and renderContract().
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE = 'native/core/contract.h';
export const OUTPUT = 'lib/native/contract.ts';

/**
 * A C++ integer literal or `literal << shift`, as contract.h writes values.
 * @param {string} text
 * @param {string} where
 */
function evaluate(text, where) {
  const match = /^(-?)(\d+)u?(?:\s*<<\s*(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`${SOURCE}: cannot read the value '${text}' of ${where}`);
  const [, sign, digits, shift] = match;
  const value = Number(digits) * 2 ** Number(shift ?? 0) * (sign ? -1 : 1);
  if (!Number.isSafeInteger(value)) throw new Error(`${SOURCE}: the value of ${where} is out of range`);
  return value;
}

/** The text of a `//` comment, or undefined. */
function commentOf(text) {
  const match = /\/\/\s?(.*)$/.exec(text ?? '');
  return match ? match[1].trimEnd() : undefined;
}

/**
 * @typedef {{ name: string, value: number, doc?: string }} Member
 * @typedef {{ kind: 'group', name: string, doc: string[], members: Member[] }
 *         | { kind: 'constant', name: string, doc: string[], value: number }} Item
 */

/**
 * Reads contract.h into its items, in file order.
 * @param {string} text the contents of native/core/contract.h
 * @returns {Item[]}
 */
export function parseContract(text) {
  const lines = text.split('\n');
  /** @type {Item[]} */
  const items = [];
  /** @type {string[]} */
  let pendingDoc = [];
  /** @type {Item & { kind: 'group' } | undefined} */
  let open;
  let openKind = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const where = `${SOURCE}:${i + 1}`;
    if (open) {
      if ((openKind === 'enum' && /^};/.test(line)) || (openKind === 'namespace' && /^}\s*\/\/\s*namespace/.test(line))) {
        const seen = new Map();
        for (const member of open.members) {
          if (seen.has(member.value)) {
            throw new Error(`${SOURCE}: ${open.name}.${member.name} and ${open.name}.${seen.get(member.value)} share the value ${member.value}`);
          }
          seen.set(member.value, member.name);
        }
        items.push(open);
        open = undefined;
        continue;
      }
      if (line === '' || line.startsWith('//')) continue;
      const member =
        openKind === 'enum'
          ? /^(\w+)\s*=\s*([^,/]+?)\s*,\s*(\/\/.*)?$/.exec(line)
          : /^inline constexpr [\w:]+ (\w+)\s*=\s*([^;]+?)\s*;\s*(\/\/.*)?$/.exec(line);
      if (!member) throw new Error(`${where}: cannot read '${line}' inside ${open.name} (every member needs an explicit value)`);
      open.members.push({ name: member[1], value: evaluate(member[2], `${open.name}.${member[1]}`), doc: commentOf(member[3]) });
      continue;
    }
    if (line.startsWith('//')) {
      pendingDoc.push(commentOf(line) ?? '');
      continue;
    }
    const doc = pendingDoc;
    pendingDoc = [];
    let match;
    if ((match = /^enum class (\w+) : [\w:]+ \{$/.exec(line))) {
      open = { kind: 'group', name: match[1], doc, members: [] };
      openKind = 'enum';
    } else if ((match = /^namespace (\w+) \{$/.exec(line)) && match[1] !== 'litepool') {
      open = { kind: 'group', name: match[1], doc, members: [] };
      openKind = 'namespace';
    } else if ((match = /^inline constexpr [\w:]+ (\w+)\s*=\s*([^;]+?)\s*;\s*(\/\/.*)?$/.exec(line))) {
      items.push({ kind: 'constant', name: match[1], doc: match[3] ? [...doc, commentOf(match[3])] : doc, value: evaluate(match[2], match[1]) });
    }
  }
  if (open) throw new Error(`${SOURCE}: ${open.name} is never closed`);
  return items;
}

/** @param {string[]} lines @param {string} indent */
function tsdoc(lines, indent) {
  const text = lines.filter((line, i) => line !== '' || (i > 0 && i < lines.length - 1));
  if (text.length === 0) return [];
  if (text.length === 1) return [`${indent}/** ${text[0]} */`];
  return [`${indent}/**`, ...text.map((line) => (line ? `${indent} * ${line}` : `${indent} *`)), `${indent} */`];
}

/**
 * The TypeScript module for `items`.
 * @param {Item[]} items
 */
export function renderContract(items) {
  const out = [
    `// Generated from ${SOURCE} by scripts/gen-contract.mjs — do not edit.`,
    `// Change ${SOURCE}, then run \`npm run gen:contract\` and rebuild the addon.`,
    '//',
    '// Owns the numbers lib/ and the native code speak to each other in (see the C++ source for the',
    '// full story); test/06-contract.test.ts checks this file against it and against the compiled addon.',
  ];
  for (const item of items) {
    out.push('');
    out.push(...tsdoc(item.doc, ''));
    if (item.kind === 'constant') {
      out.push(`export const ${item.name} = ${item.value};`);
      continue;
    }
    out.push(`export const ${item.name} = {`);
    for (const member of item.members) {
      if (member.doc) out.push(`  /** ${member.doc} */`);
      out.push(`  ${member.name}: ${member.value},`);
    }
    out.push('} as const;');
    out.push(`export type ${item.name} = (typeof ${item.name})[keyof typeof ${item.name}];`);
  }
  return `${out.join('\n')}\n`;
}

/** The contents lib/native/contract.ts must have, from the current contract.h. */
export function generateContract() {
  return renderContract(parseContract(readFileSync(join(root, SOURCE), 'utf8')));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const expected = generateContract();
  const target = join(root, OUTPUT);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (current !== expected) {
      console.error(`${OUTPUT} is stale: run \`npm run gen:contract\` (it is generated from ${SOURCE}).`);
      process.exit(1);
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, expected);
    console.log(`wrote ${OUTPUT} from ${SOURCE}`);
  }
}
