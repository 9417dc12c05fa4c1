// Covers scripts/check-binary.mjs, the check of a compiled addon against the platform baseline:
// on the addon the suite loads, a local build or a prebuild (its report names the symbol
// versions the file really requires, compared with readelf where that exists), and on small ELF files built here byte by byte, one per
// failure it must catch (a glibc or libstdc++ version above the baseline, an extra export, a
// declared or imported N-API version other than the claim), plus Mach-O, PE and truncated files.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, 'scripts', 'check-binary.mjs');
/** The addon this suite loads: a local build, or a prebuild when the suite runs on one. */
const localBuild = (createRequire(import.meta.url)('node-gyp-build') as { path: (dir: string) => string }).path(root);
const claimed = Math.max(...(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { binary: { napi_versions: number[] } }).binary.napi_versions);

interface VersionFamily {
  family: string;
  libraries: string[];
  versions: string[];
  newest: string;
  baseline: string | null;
  above: { version: string; symbols: string[] }[];
}
interface Report {
  file: string;
  kind: string;
  skipped?: string;
  format?: string;
  libc?: string;
  needed?: string[];
  versions?: VersionFamily[];
  exports?: string[];
  napi?: { claimed: number; declared: number | null; declaredFrom: string; importsNeed: number; imports: number };
  problems: string[];
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function reportOf(file: string, ...args: string[]): { status: number | null; report: Report } {
  const { status, stdout } = run(['--json', ...args, file]);
  const reports = JSON.parse(stdout) as Report[];
  expect(reports).toHaveLength(1);
  return { status, report: reports[0]! };
}

// ---- A minimal ELF64 little-endian shared object, built byte by byte ----

interface Export {
  name: string;
  /** Machine code of the function; a data object when omitted. */
  code?: number[];
}
interface Import {
  name: string;
  library: string;
  version?: string;
}
interface ElfSpec {
  machine?: number; // e_machine: 62 x86-64 (default), 183 aarch64
  exports: Export[];
  imports: Import[];
}

const X86_RETURN = (n: number): number[] => [0xb8, n & 0xff, (n >> 8) & 0xff, 0, 0, 0xc3]; // mov eax, n; ret
const AARCH64_RETURN = (n: number): number[] => {
  const words = [(0x52800000 | (n << 5)) >>> 0, 0xd65f03c0]; // movz w0, #n; ret
  return words.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]);
};

/**
 * An ELF64 little-endian shared object: one PT_LOAD segment mapping the file at address 0, and
 * the sections the checker reads (.text, .dynstr, .dynsym, .gnu.version, .gnu.version_r,
 * .dynamic), each at the address equal to its file offset. readelf reads it like a linker's.
 */
function buildElf(spec: ElfSpec): Buffer {
  const strings: Buffer[] = [Buffer.from([0])];
  const stringOffset = new Map<string, number>([['', 0]]);
  let strSize = 1;
  const str = (s: string): number => {
    if (!stringOffset.has(s)) {
      stringOffset.set(s, strSize);
      strings.push(Buffer.from(`${s}\0`, 'latin1'));
      strSize += Buffer.byteLength(s, 'latin1') + 1;
    }
    return stringOffset.get(s)!;
  };

  // Library and versions needed (imports without a library, like napi_*, resolve against the
  // executable and need neither); version indexes from 2 on.
  const libraries = [...new Set(spec.imports.map((i) => i.library).filter(Boolean))];
  const needs = libraries
    .map((library) => ({ library, versions: [...new Set(spec.imports.filter((i) => i.library === library && i.version).map((i) => i.version!))] }))
    .filter((need) => need.versions.length > 0);
  const versionIndex = new Map<string, number>();
  let nextIndex = 2;
  for (const need of needs) for (const v of need.versions) versionIndex.set(`${need.library}\0${v}`, nextIndex++);

  const HEADERS = 64 + 2 * 56; // ELF header, PT_LOAD and PT_DYNAMIC
  const TEXT_OFFSET = HEADERS; // .text first, so symbol values are known now
  const text: number[] = [];
  const symbols: { name: number; info: number; shndx: number; value: number; size: number; version: number }[] = [];
  for (const e of spec.exports) {
    const code = e.code ?? [0, 0, 0, 0, 0, 0, 0, 0];
    symbols.push({ name: str(e.name), info: (1 << 4) | (e.code ? 2 : 1), shndx: 1, value: TEXT_OFFSET + text.length, size: code.length, version: 1 });
    text.push(...code);
  }
  for (const i of spec.imports) {
    const version = i.version ? versionIndex.get(`${i.library}\0${i.version}`)! : 1;
    symbols.push({ name: str(i.name), info: (1 << 4) | 2, shndx: 0, value: 0, size: 0, version });
  }

  const dynsym = Buffer.alloc(24 * (symbols.length + 1));
  const versym = Buffer.alloc(2 * (symbols.length + 1));
  symbols.forEach((sym, k) => {
    const o = 24 * (k + 1);
    dynsym.writeUInt32LE(sym.name, o);
    dynsym.writeUInt8(sym.info, o + 4);
    dynsym.writeUInt16LE(sym.shndx, o + 6);
    dynsym.writeBigUInt64LE(BigInt(sym.value), o + 8);
    dynsym.writeBigUInt64LE(BigInt(sym.size), o + 16);
    versym.writeUInt16LE(sym.version, 2 * (k + 1));
  });
  const verneedParts: Buffer[] = [];
  needs.forEach((need, n) => {
    const head = Buffer.alloc(16);
    head.writeUInt16LE(1, 0); // vn_version
    head.writeUInt16LE(need.versions.length, 2);
    head.writeUInt32LE(str(need.library), 4);
    head.writeUInt32LE(16, 8); // vn_aux
    head.writeUInt32LE(n === needs.length - 1 ? 0 : 16 + 16 * need.versions.length, 12);
    verneedParts.push(head);
    need.versions.forEach((v, k) => {
      const aux = Buffer.alloc(16);
      aux.writeUInt16LE(versionIndex.get(`${need.library}\0${v}`)!, 6);
      aux.writeUInt32LE(str(v), 8);
      aux.writeUInt32LE(k === need.versions.length - 1 ? 0 : 16, 12);
      verneedParts.push(aux);
    });
  });
  for (const library of libraries) str(library);
  const dynstr = Buffer.concat(strings);
  const dynamic = Buffer.alloc(16 * (libraries.length + 8));
  const names = ['.text', '.dynstr', '.dynsym', '.gnu.version', '.gnu.version_r', '.dynamic', '.shstrtab'];
  const shstrtab = Buffer.from(`\0${names.join('\0')}\0`, 'latin1');
  const nameOffset = (k: number): number => 1 + names.slice(0, k).reduce((sum, name) => sum + name.length + 1, 0);

  // Sections in file order (index = position + 1; index 0 is the null section).
  const bodies = [Buffer.from(text), dynstr, dynsym, versym, Buffer.concat(verneedParts), dynamic, shstrtab];
  const kinds = [
    { type: 1, link: 0, info: 0, entsize: 0, flags: 6 }, // 1 .text (alloc, exec)
    { type: 3, link: 0, info: 0, entsize: 0, flags: 2 }, // 2 .dynstr
    { type: 11, link: 2, info: 1, entsize: 24, flags: 2 }, // 3 .dynsym
    { type: 0x6fffffff, link: 3, info: 0, entsize: 2, flags: 2 }, // 4 .gnu.version
    { type: 0x6ffffffe, link: 2, info: needs.length, entsize: 0, flags: 2 }, // 5 .gnu.version_r
    { type: 6, link: 2, info: 0, entsize: 16, flags: 3 }, // 6 .dynamic
    { type: 3, link: 0, info: 0, entsize: 0, flags: 0 }, // 7 .shstrtab
  ];
  const offsets: number[] = [];
  let offset = TEXT_OFFSET;
  for (const body of bodies) {
    offset = Math.ceil(offset / 8) * 8;
    offsets.push(offset);
    offset += body.length;
  }
  // .dynamic: DT_NEEDED per library, then where the dynamic linker finds the tables.
  const tags: [number, number][] = [
    ...libraries.map((library): [number, number] => [1, str(library)]), // DT_NEEDED
    [5, offsets[1]!], // DT_STRTAB
    [10, dynstr.length], // DT_STRSZ
    [6, offsets[2]!], // DT_SYMTAB
    [11, 24], // DT_SYMENT
    [0x6ffffff0, offsets[3]!], // DT_VERSYM
    [0x6ffffffe, offsets[4]!], // DT_VERNEED
    [0x6fffffff, needs.length], // DT_VERNEEDNUM
    [0, 0], // DT_NULL
  ];
  tags.forEach(([tag, value], k) => {
    dynamic.writeBigUInt64LE(BigInt(tag), 16 * k);
    dynamic.writeBigUInt64LE(BigInt(value), 16 * k + 8);
  });
  const shoff = Math.ceil(offset / 8) * 8;
  const file = Buffer.alloc(shoff + 64 * (kinds.length + 1));
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELF64, little-endian, version 1
  file.writeUInt16LE(3, 16); // ET_DYN
  file.writeUInt16LE(spec.machine ?? 62, 18);
  file.writeUInt32LE(1, 20);
  file.writeBigUInt64LE(64n, 32); // e_phoff
  file.writeBigUInt64LE(BigInt(shoff), 40);
  file.writeUInt16LE(64, 52); // e_ehsize
  file.writeUInt16LE(56, 54); // e_phentsize
  file.writeUInt16LE(2, 56); // e_phnum
  file.writeUInt16LE(64, 58); // e_shentsize
  file.writeUInt16LE(kinds.length + 1, 60);
  file.writeUInt16LE(kinds.length, 62); // e_shstrndx: .shstrtab, the last section
  const segment = (o: number, type: number, flags: number, start: number, size: number): void => {
    file.writeUInt32LE(type, o);
    file.writeUInt32LE(flags, o + 4);
    file.writeBigUInt64LE(BigInt(start), o + 8); // p_offset
    file.writeBigUInt64LE(BigInt(start), o + 16); // p_vaddr
    file.writeBigUInt64LE(BigInt(start), o + 24); // p_paddr
    file.writeBigUInt64LE(BigInt(size), o + 32); // p_filesz
    file.writeBigUInt64LE(BigInt(size), o + 40); // p_memsz
    file.writeBigUInt64LE(8n, o + 48); // p_align
  };
  segment(64, 1, 7, 0, shoff); // PT_LOAD, rwx
  segment(64 + 56, 2, 6, offsets[5]!, dynamic.length); // PT_DYNAMIC
  bodies.forEach((body, k) => body.copy(file, offsets[k]!));
  kinds.forEach((h, k) => {
    const o = shoff + 64 * (k + 1);
    file.writeUInt32LE(nameOffset(k), o);
    file.writeUInt32LE(h.type, o + 4);
    file.writeBigUInt64LE(BigInt(h.flags), o + 8);
    file.writeBigUInt64LE(BigInt(h.flags ? offsets[k]! : 0), o + 16); // sh_addr = file offset
    file.writeBigUInt64LE(BigInt(offsets[k]!), o + 24);
    file.writeBigUInt64LE(BigInt(bodies[k]!.length), o + 32);
    file.writeUInt32LE(h.link, o + 40);
    file.writeUInt32LE(h.info, o + 44);
    file.writeBigUInt64LE(8n, o + 48);
    file.writeBigUInt64LE(BigInt(h.entsize), o + 56);
  });
  return file;
}

/** A module that passes: the entry points, a declared version equal to the claim, old imports. */
function goodModule(overrides: Partial<ElfSpec> = {}): ElfSpec {
  return {
    exports: [
      { name: 'napi_register_module_v1', code: [0xc3] },
      { name: 'node_api_module_get_api_version_v1', code: X86_RETURN(claimed) },
    ],
    imports: [
      { name: 'napi_create_object', library: '' },
      { name: 'napi_create_reference', library: '' },
      { name: 'memcpy', library: 'libc.so.6', version: 'GLIBC_2.14' },
      { name: 'pthread_create', library: 'libc.so.6', version: 'GLIBC_2.2.5' },
      { name: '_ZdlPv', library: 'libstdc++.so.6', version: 'GLIBCXX_3.4' },
      { name: '_ZSt28__throw_bad_array_new_lengthv', library: 'libstdc++.so.6', version: 'GLIBCXX_3.4.21' },
      { name: '__cxa_begin_catch', library: 'libstdc++.so.6', version: 'CXXABI_1.3' },
      { name: '_Unwind_Resume', library: 'libgcc_s.so.1', version: 'GCC_3.0' },
    ],
    ...overrides,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'litepool-check-binary-'));
let fileCount = 0;
function writeFixture(bytes: Buffer): string {
  const file = join(dir, `fixture-${++fileCount}.node`);
  writeFileSync(file, bytes);
  return file;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('check-binary on the addon this suite runs on', () => {
  it('reports the symbol versions, exports and N-API version the file really has', () => {
    expect(existsSync(localBuild), 'the addon is built').toBe(true);
    const { status, report } = reportOf(localBuild, '--report-only');
    expect(status).toBe(0);
    if (process.platform === 'darwin' || process.platform === 'win32') {
      expect(report.skipped).toBe(process.platform === 'darwin' ? 'not ELF (Mach-O)' : 'not ELF (PE)');
      expect(report.problems).toEqual([]);
      return;
    }
    expect(report.kind).toBe('elf');
    // The addon exports its Node-API entry points only (the version script in native/addon/).
    expect(report.exports).toContain('napi_register_module_v1');
    expect(report.problems.filter((p) => p.includes('export'))).toEqual([]);
    expect(report.napi!.claimed).toBe(claimed);
    if (process.arch === 'x64' || process.arch === 'arm64') expect(report.napi!.declared).toBe(claimed);
    expect(report.napi!.imports).toBeGreaterThan(10);
    expect(report.napi!.importsNeed).toBeLessThanOrEqual(claimed);

    const found = new Set(report.versions!.flatMap((f) => f.versions.map((v) => `${f.family}_${v}`)));
    if (report.libc === 'glibc') expect([...found].some((v) => v.startsWith('GLIBC_2.'))).toBe(true);
    // The same versions readelf lists in .gnu.version_r, where readelf exists.
    const readelf = spawnSync('readelf', ['-V', '-W', localBuild], { encoding: 'utf8' });
    if (readelf.status === 0) {
      const at = readelf.stdout.indexOf('.gnu.version_r');
      const needed = at < 0 ? [] : (readelf.stdout.slice(at).match(/Name: ([A-Za-z][A-Za-z0-9_]*_[0-9][0-9.]*)/g) ?? []).map((m) => m.slice('Name: '.length));
      expect([...found].sort()).toEqual([...new Set(needed)].sort());
    }
    // The text report names every family and its newest version.
    const text = run(['--report-only', localBuild]).stdout;
    for (const family of report.versions!) expect(text).toContain(`newest ${family.family}_${family.newest}`);
  });
});

describe('check-binary on crafted ELF files', () => {
  it('passes a module within the baseline, with the claimed N-API version', () => {
    const { status, report } = reportOf(writeFixture(buildElf(goodModule())));
    expect(report.problems).toEqual([]);
    expect(status).toBe(0);
    expect(report.format).toBe('ELF64 x86-64');
    expect(report.libc).toBe('glibc');
    expect(report.exports).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
    expect(report.napi).toMatchObject({ claimed, declared: claimed, importsNeed: 1, imports: 2 });
    const glibc = report.versions!.find((f) => f.family === 'GLIBC')!;
    expect(glibc).toMatchObject({ newest: '2.14', baseline: '2.28', above: [], libraries: ['libc.so.6'] });
    expect(report.versions!.map((f) => f.family)).toEqual(['CXXABI', 'GCC', 'GLIBC', 'GLIBCXX']);
  });

  it('fails a glibc symbol version above the baseline, naming the version and the symbol', () => {
    const spec = goodModule();
    spec.imports.push({ name: 'pthread_mutex_clocklock', library: 'libc.so.6', version: 'GLIBC_2.30' });
    spec.imports.push({ name: 'fstat64', library: 'libc.so.6', version: 'GLIBC_2.33' });
    const file = writeFixture(buildElf(spec));
    const { status, report } = reportOf(file);
    expect(status).toBe(1);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toContain('requires GLIBC 2.33, above the baseline GLIBC_2.28');
    expect(report.problems[0]).toContain('GLIBC_2.30 (pthread_mutex_clocklock)');
    expect(report.problems[0]).toContain('GLIBC_2.33 (fstat64)');
    // Reporting only: the same finding, exit 0.
    const reportOnly = run(['--report-only', file]);
    expect(reportOnly.status).toBe(0);
    expect(reportOnly.stdout).toContain('PROBLEM   requires GLIBC 2.33');
    expect(reportOnly.stdout).toContain('report only');
    // A later baseline accepts it.
    expect(reportOf(file, '--baseline', 'GLIBC_2.33').status).toBe(0);
    expect(reportOf(file, '--baseline', 'GLIBC_2.32').status).toBe(1);
  });

  it('fails a GLIBCXX or CXXABI version above the baseline', () => {
    const spec = goodModule();
    spec.imports.push({ name: '_ZNSt3pmr20get_default_resourceEv', library: 'libstdc++.so.6', version: 'GLIBCXX_3.4.26' });
    spec.imports.push({ name: '__cxa_init_primary_exception', library: 'libstdc++.so.6', version: 'CXXABI_1.3.15' });
    const { status, report } = reportOf(writeFixture(buildElf(spec)));
    expect(status).toBe(1);
    expect(report.problems).toEqual([
      expect.stringContaining('requires CXXABI 1.3.15, above the baseline CXXABI_1.3.11'),
      expect.stringContaining('requires GLIBCXX 3.4.26, above the baseline GLIBCXX_3.4.25: GLIBCXX_3.4.26 (_ZNSt3pmr20get_default_resourceEv)'),
    ]);
  });

  it('reports, without failing, a version family the baseline does not name', () => {
    const spec = goodModule();
    spec.imports.push({ name: 'is_selinux_enabled', library: 'libselinux.so.1', version: 'LIBSELINUX_1.0' });
    const { status, report } = reportOf(writeFixture(buildElf(spec)));
    expect(status).toBe(0);
    expect(report.versions!.find((f) => f.family === 'LIBSELINUX')).toMatchObject({ baseline: null, newest: '1.0' });
  });

  it('fails exports other than the module entry points, unless allowed', () => {
    const spec = goodModule();
    spec.exports.push({ name: 'sqlite3_open_v2', code: [0xc3] }, { name: '_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEED2Ev', code: [0xc3] });
    const file = writeFixture(buildElf(spec));
    const { status, report } = reportOf(file);
    expect(status).toBe(1);
    expect(report.problems).toEqual([
      "exports 2 dynamic symbol(s) besides the module's: _ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEED2Ev, sqlite3_open_v2",
    ]);
    const allowed = reportOf(file, '--allow-export', 'sqlite3_open_v2', '--allow-export', '_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEED2Ev');
    expect(allowed.status).toBe(0);
  });

  it('fails a module without napi_register_module_v1', () => {
    const spec = goodModule();
    spec.exports = spec.exports.filter((e) => e.name !== 'napi_register_module_v1');
    const { status, report } = reportOf(writeFixture(buildElf(spec)));
    expect(status).toBe(1);
    expect(report.problems).toEqual(['does not export napi_register_module_v1 (not a Node-API module)']);
  });

  it('fails a declared N-API version other than the claim (x86-64 and aarch64 code)', () => {
    const x64 = goodModule();
    x64.exports[1] = { name: 'node_api_module_get_api_version_v1', code: X86_RETURN(claimed + 1) };
    const { status, report } = reportOf(writeFixture(buildElf(x64)));
    expect(status).toBe(1);
    expect(report.napi!.declared).toBe(claimed + 1);
    expect(report.problems).toEqual([`declares N-API version ${claimed + 1} (node_api_module_get_api_version_v1), but claims ${claimed}`]);
    // Claiming what it declares passes.
    expect(reportOf(writeFixture(buildElf(x64)), '--napi', String(claimed + 1)).status).toBe(0);

    const arm = goodModule({ machine: 183 });
    arm.exports[1] = { name: 'node_api_module_get_api_version_v1', code: AARCH64_RETURN(claimed) };
    const armReport = reportOf(writeFixture(buildElf(arm)));
    expect(armReport.report.format).toBe('ELF64 aarch64');
    expect(armReport.report.napi!.declared).toBe(claimed);
    expect(armReport.status).toBe(0);
    arm.exports[1] = { name: 'node_api_module_get_api_version_v1', code: AARCH64_RETURN(claimed - 1) };
    expect(reportOf(writeFixture(buildElf(arm))).report.problems).toEqual([
      `declares N-API version ${claimed - 1} (node_api_module_get_api_version_v1), but claims ${claimed}`,
    ]);
  });

  it('takes a module without node_api_module_get_api_version_v1 as version 8, as Node does', () => {
    const spec = goodModule();
    spec.exports = spec.exports.filter((e) => e.name !== 'node_api_module_get_api_version_v1');
    const { report } = reportOf(writeFixture(buildElf(spec)), '--napi', '8');
    expect(report.napi).toMatchObject({ declared: 8, declaredFrom: expect.stringContaining('assumes version 8') });
    expect(report.problems).toEqual([]);
    expect(reportOf(writeFixture(buildElf(spec)), '--napi', '9').report.problems).toEqual([
      expect.stringContaining('declares N-API version 8'),
    ]);
  });

  it('fails Node-API imports newer than the claimed version, or of no released version', () => {
    const spec = goodModule();
    spec.exports[1] = { name: 'node_api_module_get_api_version_v1', code: X86_RETURN(8) };
    spec.imports.push({ name: 'node_api_symbol_for', library: '' }); // N-API 9
    spec.imports.push({ name: 'node_api_no_such_function', library: '' });
    const { status, report } = reportOf(writeFixture(buildElf(spec)), '--napi', '8');
    expect(status).toBe(1);
    expect(report.napi!.importsNeed).toBe(9);
    expect(report.problems).toEqual([
      'imports Node-API functions of no released N-API version (experimental?): node_api_no_such_function',
      'imports need N-API 9 (node_api_symbol_for), above the claimed 8',
    ]);
  });
});

describe('check-binary on other files', () => {
  it('skips Mach-O and PE files with exit 0, and fails an unknown format', () => {
    const macho = writeFixture(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 1, 0, 0, 0, 0]));
    const pe = writeFixture(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62)]));
    const result = run([macho, pe]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`${macho}: skipped: not ELF (Mach-O)`);
    expect(result.stdout).toContain(`${pe}: skipped: not ELF (PE)`);
    const text = writeFixture(Buffer.from('not a binary'));
    expect(run([text]).status).toBe(1);
  });

  it('exits 2 on a truncated ELF file and on bad options', () => {
    const whole = buildElf(goodModule());
    const truncated = writeFixture(whole.subarray(0, whole.length - 100));
    const result = run([truncated]);
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('cannot check');
    expect(run(['--baseline', 'glibc-2.28', truncated]).status).toBe(2);
    expect(run(['--napi', 'x', truncated]).status).toBe(2);
    expect(run([]).status).toBe(2);
  });

  it('checks several files in one run and fails when any fails', () => {
    const good = writeFixture(buildElf(goodModule()));
    const spec = goodModule();
    spec.imports.push({ name: 'fstat64', library: 'libc.so.6', version: 'GLIBC_2.33' });
    const bad = writeFixture(buildElf(spec));
    const result = run([good, bad]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`${good}: ELF64 x86-64`);
    expect(result.stderr).toContain('1 of 2 file(s) failed');
    // The same through execFileSync, as CI calls it.
    expect(() => execFileSync(process.execPath, [script, good], { stdio: 'pipe' })).not.toThrow();
  });
});
