// Owns loading the compiled addon: a prebuilt binary from prebuilds/, or a local build in
// build/Release or build/Debug, found by node-gyp-build. When nothing loads, it throws one error
// that says what was tried and what to do, never a bare MODULE_NOT_FOUND.
//
// Tests only: LITEPOOL_TEST_FAULT_ADDON names the fault-injection build of the addon
// (scripts/build-fault-addon.sh, docs/reliability.md), which is then loaded instead. The
// variable serves that purpose alone: a file that is not that build is refused.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LitepoolError } from '../errors.ts';
import type { NativeModule } from './native-pool.ts';

const require = createRequire(import.meta.url);
/** The package root: lib/native/ (sources) and dist/native/ (compiled) both sit two levels below it. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The environment variable that selects the fault-injection test build. */
export const FAULT_ADDON_VARIABLE = 'LITEPOOL_TEST_FAULT_ADDON';

function loadFaultBuild(path: string): NativeModule {
  const module = require(path) as NativeModule;
  if (typeof module.faultVfs !== 'object' || module.faultVfs === null) {
    throw Object.assign(
      new Error(`${FAULT_ADDON_VARIABLE} names ${path}, which is not the fault-injection test build of the addon; the variable serves only that build (scripts/build-fault-addon.sh)`),
      { code: 'LITEPOOL_ADDON_NOT_FOUND' },
    );
  }
  return module;
}

function load(): NativeModule {
  const faultBuild = process.env[FAULT_ADDON_VARIABLE];
  if (faultBuild) return loadFaultBuild(faultBuild);
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  try {
    return nodeGypBuild(packageRoot) as NativeModule;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const message = [
      `litepool could not load its native addon for ${process.platform}-${process.arch} (Node.js ${process.version}, N-API).`,
      `Tried: a prebuilt binary in ${join(packageRoot, 'prebuilds')} and a local build in ${join(packageRoot, 'build')}.`,
      `Reason: ${reason.split('\n')[0]}`,
      'To fix it: reinstall so the install script can build from source (`npm rebuild litepool`);',
      'a source build needs Python 3, make and a C++20 compiler (g++ 10+, clang 12+ or MSVC 2019+).',
    ].join('\n');
    throw new LitepoolError('LITEPOOL_ADDON_NOT_FOUND', message, { cause: error });
  }
}

let loaded: NativeModule | undefined;

/** The addon, loaded on first use (so importing litepool never throws). */
export function binding(): NativeModule {
  loaded ??= load();
  return loaded;
}
