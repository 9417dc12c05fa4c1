#!/usr/bin/env node
// Owns the check of a compiled addon (a prebuild or a local build) against what the package
// promises: it reads the ELF file itself (no readelf, no objdump: it runs on any CI runner) and
// fails when the binary
//   - requires a symbol version above the baseline: GLIBC_x (glibc), GLIBCXX_x (libstdc++),
//     CXXABI_x (the C++ ABI part of libstdc++) or GCC_x (libgcc_s);
//   - exports dynamic symbols other than the Node-API module entry points
//     (napi_register_module_v1, node_api_module_get_api_version_v1);
//   - does not provide the N-API version it claims: it must export napi_register_module_v1, the
//     version its node_api_module_get_api_version_v1 returns must equal the claim, and every
//     Node-API function it imports must exist in that version (the per-version symbol lists of the
//     node-api-headers package).
// Mach-O (macOS) and PE (Windows) files are reported as "skipped: not ELF" and pass.
//
// The default baseline is the manylinux_2_28 toolchain, the container the glibc prebuilds are
// built in (AlmaLinux 8: glibc 2.28, and GCC 8's libstdc++ and libgcc_s, whose newest symbol
// versions are GLIBCXX_3.4.25, CXXABI_1.3.11 and GCC_7.0.0; its gcc-toolset links anything newer
// from a static archive). So a binary that passes runs on glibc 2.28 and later: Debian 10+,
// Ubuntu 20.04+, RHEL/AlmaLinux/Rocky 8+, Amazon Linux 2023. A version family the baseline does
// not name is reported, never failed.
//
// Usage: node scripts/check-binary.mjs [options] FILE...
//   --baseline LIST  comma-separated NAME_VERSION entries that replace the default of their family,
//                    e.g. GLIBC_2.31,GLIBCXX_3.4.28 (default GLIBC_2.28,GLIBCXX_3.4.25,
//                    CXXABI_1.3.11,GCC_7.0.0)
//   --napi N         the claimed N-API version (default: the highest of package.json's
//                    binary.napi_versions)
//   --allow-export NAME  one more dynamic symbol that may be exported (repeatable)
//   --report-only    print the findings but exit 0 (a local build made with a newer toolchain)
//   --json           print the reports as JSON instead of text
// Exit status: 0 every file passes (or --report-only), 1 a file fails a check, 2 usage error or a
// file that cannot be read or parsed.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const DEFAULT_BASELINE = Object.freeze({ GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11', GCC: '7.0.0' });
export const MODULE_EXPORTS = Object.freeze(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
/** Node loads a module that does not export node_api_module_get_api_version_v1 as this version. */
export const DEFAULT_MODULE_API_VERSION = 8;

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// ELF reading

const SHT_DYNSYM = 11;
const SHT_DYNAMIC = 6;
const SHT_NOBITS = 8;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const DT_NEEDED = 1;
const DT_SONAME = 14;
const SHN_UNDEF = 0;
const STB_NAMES = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'UNIQUE' };
const STT_SECTION = 3;
const STT_FILE = 4;
const MACHINES = { 3: 'x86', 8: 'mips', 20: 'ppc', 21: 'ppc64', 22: 's390x', 40: 'arm', 62: 'x86-64', 183: 'aarch64', 243: 'riscv', 258: 'loongarch' };

export class ElfError extends Error {}

/** What the file is, from its first bytes: 'elf', 'mach-o', 'pe' or 'unknown'. */
export function fileKind(bytes) {
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return 'elf';
  if (bytes.length >= 4) {
    const magic = bytes.readUInt32BE(0);
    if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe, 0xcafebabf].includes(magic)) return 'mach-o';
  }
  if (bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a) return 'pe';
  return 'unknown';
}

/**
 * Parses what the checks need from an ELF shared object: the machine, the dynamic symbols (with the
 * symbol version each undefined one requires), the required versions per library (.gnu.version_r)
 * and DT_NEEDED. Throws ElfError on a malformed file.
 */
export function parseElf(bytes) {
  if (fileKind(bytes) !== 'elf') throw new ElfError('not an ELF file');
  const is64 = bytes[4] === 2;
  if (bytes[4] !== 1 && bytes[4] !== 2) throw new ElfError(`unknown ELF class ${bytes[4]}`);
  const little = bytes[5] === 1;
  if (bytes[5] !== 1 && bytes[5] !== 2) throw new ElfError(`unknown ELF data encoding ${bytes[5]}`);

  const check = (offset, size) => {
    if (offset < 0 || size < 0 || offset + size > bytes.length) throw new ElfError(`truncated ELF file (needs bytes ${offset}..${offset + size}, has ${bytes.length})`);
  };
  const u8 = (o) => (check(o, 1), bytes[o]);
  const u16 = (o) => (check(o, 2), little ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o));
  const u32 = (o) => (check(o, 4), little ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o));
  const u64 = (o) => {
    check(o, 8);
    const value = little ? bytes.readBigUInt64LE(o) : bytes.readBigUInt64BE(o);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`value at ${o} is too large`);
    return Number(value);
  };
  const word = is64 ? u64 : u32; // Elf_Addr, Elf_Off, Elf64_Xword
  const cstring = (o) => {
    check(o, 1);
    const end = bytes.indexOf(0, o);
    if (end < 0) throw new ElfError(`unterminated string at ${o}`);
    return bytes.toString('latin1', o, end);
  };

  const machineCode = u16(18);
  const shoff = word(is64 ? 40 : 32);
  const shentsize = u16(is64 ? 58 : 46);
  const shnum = u16(is64 ? 60 : 48);
  if (shoff === 0 || shnum === 0) throw new ElfError('no section headers (a fully stripped file cannot be checked)');
  if (shentsize < (is64 ? 64 : 40)) throw new ElfError(`section header size ${shentsize} is too small`);

  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push(
      is64
        ? { type: u32(o + 4), addr: u64(o + 16), offset: u64(o + 24), size: u64(o + 32), link: u32(o + 40), info: u32(o + 44), entsize: u64(o + 56) }
        : { type: u32(o + 4), addr: u32(o + 12), offset: u32(o + 16), size: u32(o + 20), link: u32(o + 24), info: u32(o + 28), entsize: u32(o + 36) },
    );
  }
  const stringAt = (section, index) => {
    if (!section) throw new ElfError('missing string table');
    if (index >= section.size) throw new ElfError(`string index ${index} outside its table`);
    return cstring(section.offset + index);
  };

  // .gnu.version_r: which versions of which libraries the file requires; index -> name.
  const versionNames = new Map();
  const requirements = [];
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (verneed) {
    const strtab = sections[verneed.link];
    let o = verneed.offset;
    for (let n = 0; n < verneed.info; n++) {
      const count = u16(o + 2);
      const file = stringAt(strtab, u32(o + 4));
      let aux = o + u32(o + 8);
      for (let k = 0; k < count; k++) {
        const name = stringAt(strtab, u32(aux + 8));
        const index = u16(aux + 6) & 0x7fff;
        versionNames.set(index, name);
        requirements.push({ file, version: name });
        const next = u32(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = u32(o + 12);
      if (next === 0) break;
      o += next;
    }
  }
  // .gnu.version_d: versions the file defines (their names appear as absolute symbols).
  const definedVersions = new Set();
  const verdef = sections.find((s) => s.type === SHT_GNU_VERDEF);
  if (verdef) {
    const strtab = sections[verdef.link];
    let o = verdef.offset;
    for (let n = 0; n < verdef.info; n++) {
      const index = u16(o + 4) & 0x7fff;
      const auxOffset = o + u32(o + 12);
      const name = stringAt(strtab, u32(auxOffset));
      definedVersions.add(name);
      versionNames.set(index, name);
      const next = u32(o + 16);
      if (next === 0) break;
      o += next;
    }
  }

  // .dynsym with .gnu.version: every dynamic symbol, defined or imported, and its version.
  const symbols = [];
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  if (!dynsym) throw new ElfError('no .dynsym section (not a shared object?)');
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  const dynstr = sections[dynsym.link];
  const entsize = dynsym.entsize || (is64 ? 24 : 16);
  const count = Math.floor(dynsym.size / entsize);
  for (let i = 1; i < count; i++) {
    const o = dynsym.offset + i * entsize;
    const nameIndex = u32(o);
    const info = is64 ? u8(o + 4) : u8(o + 12);
    const other = is64 ? u8(o + 5) : u8(o + 13);
    const shndx = is64 ? u16(o + 6) : u16(o + 14);
    const value = is64 ? u64(o + 8) : u32(o + 4);
    const size = is64 ? u64(o + 16) : u32(o + 8);
    const versionIndex = versym ? u16(versym.offset + i * 2) & 0x7fff : 0;
    symbols.push({
      name: stringAt(dynstr, nameIndex),
      binding: STB_NAMES[info >> 4] ?? `BIND_${info >> 4}`,
      type: info & 0xf,
      visibility: other & 0x3,
      defined: shndx !== SHN_UNDEF,
      shndx,
      value,
      size,
      version: versionIndex > 1 ? (versionNames.get(versionIndex) ?? null) : null,
    });
  }

  // DT_NEEDED and DT_SONAME from .dynamic.
  const needed = [];
  let soname = null;
  const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
  if (dynamic) {
    const strtab = sections[dynamic.link];
    const step = is64 ? 16 : 8;
    for (let o = dynamic.offset; o + step <= dynamic.offset + dynamic.size; o += step) {
      const tag = is64 ? u64(o) : u32(o);
      const value = is64 ? u64(o + 8) : u32(o + 4);
      if (tag === 0) break;
      if (tag === DT_NEEDED) needed.push(stringAt(strtab, value));
      if (tag === DT_SONAME) soname = stringAt(strtab, value);
    }
  }

  /** `length` bytes at virtual address `address`, or null when no section holds them. */
  const bytesAt = (address, length) => {
    for (const s of sections) {
      if (s.type === SHT_NOBITS || s.addr === 0) continue;
      if (address >= s.addr && address + length <= s.addr + s.size) {
        const start = s.offset + (address - s.addr);
        check(start, length);
        return bytes.subarray(start, start + length);
      }
    }
    return null;
  };

  return {
    bits: is64 ? 64 : 32,
    littleEndian: little,
    machineCode,
    machine: MACHINES[machineCode] ?? `machine ${machineCode}`,
    symbols,
    requirements,
    definedVersions,
    needed,
    soname,
    bytesAt,
  };
}

/**
 * The constant that a function consisting of "return <constant>;" returns, decoded from its
 * machine code (x86, x86-64, aarch64, 32-bit arm), or null when the code is not of that form.
 */
export function decodeReturnConstant(elf, symbol) {
  const code = elf.bytesAt(symbol.value, Math.min(Math.max(symbol.size, 4), 32));
  if (!code) return null;
  const little = elf.littleEndian;
  const u32 = (o) => (o + 4 <= code.length ? (little ? code.readUInt32LE(o) : code.readUInt32BE(o)) : null);
  if (elf.machineCode === 62 || elf.machineCode === 3) {
    let o = 0;
    // endbr64 / endbr32 (control-flow enforcement builds).
    if (code.length >= 4 && code[0] === 0xf3 && code[1] === 0x0f && code[2] === 0x1e && (code[3] === 0xfa || code[3] === 0xfb)) o = 4;
    // mov eax, imm32; ret
    if (code.length >= o + 6 && code[o] === 0xb8 && code[o + 5] === 0xc3) return code.readInt32LE(o + 1);
    return null;
  }
  if (elf.machineCode === 183) {
    let o = 0;
    // bti c (branch target identification builds).
    if (u32(0) === 0xd503245f) o = 4;
    const mov = u32(o);
    const ret = u32(o + 4);
    // movz w0, #imm16 (lsl 0); ret
    if (mov !== null && ret === 0xd65f03c0 && (mov & 0xffe0001f) === 0x52800000) return (mov >>> 5) & 0xffff;
    return null;
  }
  if (elf.machineCode === 40) {
    const mov = u32(0);
    const ret = u32(4);
    // mov r0, #imm8 (no rotation); bx lr
    if (mov !== null && ret === 0xe12fff1e && (mov & 0xffffff00) === 0xe3a00000) return mov & 0xff;
    return null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The checks

/** Splits "GLIBCXX_3.4.25" into { family: 'GLIBCXX', version: '3.4.25' }; null for e.g. GLIBC_PRIVATE. */
export function splitVersion(name) {
  const match = /^([A-Za-z][A-Za-z0-9_]*?)_(\d+(?:\.\d+)*)$/.exec(name);
  return match ? { family: match[1], version: match[2] } : null;
}

/** Compares dotted version numbers: negative, zero or positive. */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Parses --baseline: "GLIBC_2.31,GLIBCXX_3.4.28" over the default baseline. */
export function parseBaseline(text, base = DEFAULT_BASELINE) {
  const baseline = { ...base };
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const parts = splitVersion(entry);
    if (!parts) throw new Error(`--baseline entry '${entry}' is not NAME_VERSION (e.g. GLIBC_2.28)`);
    baseline[parts.family] = parts.version;
  }
  return baseline;
}

let napiSymbolVersions;
/** Map of every Node-API function name to the first N-API version that has it. */
export function napiVersionOf() {
  if (!napiSymbolVersions) {
    let symbols;
    try {
      symbols = require('node-api-headers').symbols;
    } catch (error) {
      throw new Error(`the Node-API symbol lists come from the node-api-headers package (a devDependency: run npm ci): ${error.message}`);
    }
    napiSymbolVersions = new Map();
    const versions = Object.keys(symbols)
      .map((key) => Number(/^v(\d+)$/.exec(key)?.[1]))
      .filter(Number.isInteger)
      .sort((a, b) => a - b);
    for (const version of versions) {
      const lists = symbols[`v${version}`];
      for (const name of [...(lists.js_native_api_symbols ?? []), ...(lists.node_api_symbols ?? [])]) {
        if (!napiSymbolVersions.has(name)) napiSymbolVersions.set(name, version);
      }
    }
  }
  return napiSymbolVersions;
}

/** The claimed N-API version: the highest of package.json's binary.napi_versions. */
export function claimedNapiVersion() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const versions = pkg.binary?.napi_versions;
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every(Number.isInteger)) {
    throw new Error('package.json has no binary.napi_versions list of integers; pass --napi N');
  }
  return Math.max(...versions);
}

/** The libc a Linux binary is linked against, from its DT_NEEDED entries and version needs. */
function libcOf(elf) {
  if (elf.needed.some((lib) => /^(libc\.musl|ld-musl)/.test(lib))) return 'musl';
  if (elf.requirements.some((r) => r.version.startsWith('GLIBC_')) || elf.needed.includes('libc.so.6')) return 'glibc';
  return 'unknown';
}

/**
 * Checks one binary. Returns a report: { file, kind, skipped?, ..., problems: string[] }.
 * `options`: { baseline, napi, allowExports }.
 */
export function checkBinary(file, bytes, options = {}) {
  const baseline = options.baseline ?? DEFAULT_BASELINE;
  const claimed = options.napi ?? claimedNapiVersion();
  const allowed = new Set([...MODULE_EXPORTS, ...(options.allowExports ?? [])]);
  const kind = fileKind(bytes);
  if (kind === 'unknown') return { file, kind, format: 'unknown', problems: ['not an ELF, Mach-O or PE file'] };
  if (kind !== 'elf') return { file, kind, skipped: `not ELF (${kind === 'pe' ? 'PE' : 'Mach-O'})`, problems: [] };
  const elf = parseElf(bytes);
  const problems = [];

  // Symbol versions, per family: the newest required, and the ones above the baseline.
  const byVersion = new Map();
  for (const symbol of elf.symbols) {
    if (symbol.defined || !symbol.version) continue;
    const list = byVersion.get(symbol.version) ?? [];
    list.push(symbol.name);
    byVersion.set(symbol.version, list);
  }
  const families = new Map();
  const unversioned = [];
  for (const { file: lib, version } of elf.requirements) {
    const parts = splitVersion(version);
    if (!parts) {
      unversioned.push(`${version} (${lib})`);
      continue;
    }
    const family = families.get(parts.family) ?? { family: parts.family, versions: new Set(), libraries: new Set() };
    family.versions.add(parts.version);
    family.libraries.add(lib);
    families.set(parts.family, family);
  }
  const versionReport = [];
  for (const family of [...families.values()].sort((a, b) => a.family.localeCompare(b.family))) {
    const versions = [...family.versions].sort(compareVersions);
    const newest = versions.at(-1);
    const limit = baseline[family.family];
    const above = limit ? versions.filter((v) => compareVersions(v, limit) > 0) : [];
    versionReport.push({
      family: family.family,
      libraries: [...family.libraries].sort(),
      versions,
      newest,
      baseline: limit ?? null,
      above: above.map((v) => ({ version: v, symbols: (byVersion.get(`${family.family}_${v}`) ?? []).sort() })),
    });
    if (above.length > 0) {
      const detail = above.map((v) => {
        const names = (byVersion.get(`${family.family}_${v}`) ?? []).sort();
        return `${family.family}_${v}${names.length ? ` (${names.slice(0, 6).join(', ')}${names.length > 6 ? `, +${names.length - 6} more` : ''})` : ''}`;
      });
      problems.push(`requires ${family.family} ${newest}, above the baseline ${family.family}_${limit}: ${detail.join('; ')}`);
    }
  }
  for (const entry of unversioned) problems.push(`requires the non-numbered symbol version ${entry}`);

  // Exports: only the module's entry points.
  const exported = elf.symbols.filter(
    (s) =>
      s.defined &&
      s.name !== '' &&
      s.binding !== 'LOCAL' &&
      s.type !== STT_SECTION &&
      s.type !== STT_FILE &&
      (s.visibility === 0 || s.visibility === 3) &&
      !(elf.definedVersions.has(s.name) && s.shndx === 0xfff1),
  );
  const exportNames = [...new Set(exported.map((s) => s.name))].sort();
  const unexpected = exportNames.filter((name) => !allowed.has(name));
  if (unexpected.length > 0) {
    problems.push(
      `exports ${unexpected.length} dynamic symbol(s) besides the module's: ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? `, +${unexpected.length - 8} more` : ''}`,
    );
  }
  if (!exportNames.includes('napi_register_module_v1')) problems.push('does not export napi_register_module_v1 (not a Node-API module)');

  // N-API: the version the module declares, and the version its imports need.
  const napiTable = napiVersionOf();
  const imports = elf.symbols.filter((s) => !s.defined && /^(napi|node_api)_/.test(s.name)).map((s) => s.name);
  const unknownImports = [];
  let importsNeed = 1;
  const newestImports = [];
  for (const name of [...new Set(imports)].sort()) {
    const version = napiTable.get(name);
    if (version === undefined) {
      unknownImports.push(name);
      continue;
    }
    if (version > importsNeed) {
      importsNeed = version;
      newestImports.length = 0;
    }
    if (version === importsNeed) newestImports.push(name);
  }
  if (unknownImports.length > 0) {
    problems.push(`imports Node-API functions of no released N-API version (experimental?): ${unknownImports.join(', ')}`);
  }
  if (importsNeed > claimed) {
    problems.push(`imports need N-API ${importsNeed} (${newestImports.join(', ')}), above the claimed ${claimed}`);
  }
  const versionSymbol = exported.find((s) => s.name === 'node_api_module_get_api_version_v1');
  let declared = null;
  let declaredFrom;
  if (versionSymbol) {
    declared = decodeReturnConstant(elf, versionSymbol);
    declaredFrom = declared === null ? `node_api_module_get_api_version_v1 could not be decoded on ${elf.machine}` : 'node_api_module_get_api_version_v1';
  } else {
    declared = DEFAULT_MODULE_API_VERSION;
    declaredFrom = 'no node_api_module_get_api_version_v1: Node assumes version 8';
  }
  if (declared !== null && declared !== claimed) {
    problems.push(`declares N-API version ${declared} (${declaredFrom}), but claims ${claimed}`);
  }

  return {
    file,
    kind,
    format: `ELF${elf.bits} ${elf.machine}`,
    libc: libcOf(elf),
    needed: elf.needed,
    baseline,
    versions: versionReport,
    exports: exportNames,
    napi: { claimed, declared, declaredFrom, importsNeed, newestImports, imports: imports.length },
    problems,
  };
}

/** The report as lines of text. */
export function formatReport(report, reportOnly = false) {
  if (report.skipped) return [`${report.file}: skipped: ${report.skipped}`];
  if (report.kind === 'unknown') return [`${report.file}: PROBLEM ${report.problems[0]}`];
  const lines = [`${report.file}: ${report.format}, ${report.libc}${report.needed.length ? `, needs ${report.needed.join(' ')}` : ''}`];
  lines.push(`  baseline  ${Object.entries(report.baseline).map(([family, version]) => `${family}_${version}`).join(' ')}`);
  for (const v of report.versions) {
    const status = v.baseline === null ? 'not in the baseline (reported only)' : v.above.length ? `ABOVE baseline ${v.family}_${v.baseline}` : `ok (baseline ${v.family}_${v.baseline})`;
    lines.push(`  ${v.family.padEnd(8)}  newest ${v.family}_${v.newest}: ${status}; required: ${v.versions.map((x) => `${v.family}_${x}`).join(' ')}`);
  }
  if (report.versions.length === 0) lines.push('  versions  none required (no symbol versioning, e.g. musl with a static libstdc++)');
  lines.push(`  exports   ${report.exports.length <= 8 ? report.exports.join(', ') : `${report.exports.length} symbols`}`);
  const n = report.napi;
  lines.push(
    `  N-API     claims ${n.claimed}; declares ${n.declared ?? 'unknown'} (${n.declaredFrom}); ${n.imports} Node-API imports need ${n.importsNeed}${n.newestImports.length ? ` (${n.newestImports.slice(0, 4).join(', ')}${n.newestImports.length > 4 ? ', ...' : ''})` : ''}`,
  );
  if (report.problems.length === 0) lines.push('  result    pass');
  else {
    for (const problem of report.problems) lines.push(`  PROBLEM   ${problem}`);
    lines.push(`  result    ${report.problems.length} problem(s)${reportOnly ? ' (report only: not failing)' : ''}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Command line

function usage(message) {
  if (message) process.stderr.write(`check-binary: ${message}\n`);
  process.stderr.write('usage: node scripts/check-binary.mjs [--baseline LIST] [--napi N] [--allow-export NAME] [--report-only] [--json] FILE...\n');
  process.exit(2);
}

function main(argv) {
  const files = [];
  let baseline = DEFAULT_BASELINE;
  let napi;
  let reportOnly = false;
  let json = false;
  const allowExports = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${arg} needs a value`));
    if (arg === '--baseline') {
      try {
        baseline = parseBaseline(value());
      } catch (error) {
        usage(error.message);
      }
    } else if (arg === '--napi') {
      napi = Number(value());
      if (!Number.isInteger(napi) || napi < 1) usage('--napi needs a positive integer');
    } else if (arg === '--allow-export') allowExports.push(value());
    else if (arg === '--report-only') reportOnly = true;
    else if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') usage();
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else files.push(arg);
  }
  if (files.length === 0) usage('no file given');

  const reports = [];
  let unreadable = false;
  for (const file of files) {
    try {
      reports.push(checkBinary(file, readFileSync(file), { baseline, napi, allowExports }));
    } catch (error) {
      unreadable = true;
      reports.push({ file, error: error.message, problems: [error.message] });
    }
  }
  if (json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  else {
    for (const report of reports) {
      const lines = report.error ? [`${report.file}: cannot check: ${report.error}`] : formatReport(report, reportOnly);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  }
  if (unreadable) process.exit(2);
  const failed = reports.filter((r) => r.problems.length > 0).length;
  if (failed > 0 && !reportOnly) {
    process.stderr.write(`check-binary: ${failed} of ${reports.length} file(s) failed\n`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
