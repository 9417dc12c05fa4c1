// Owns where the tests find things: the repository root, the compiled library the fixtures
// import (dist/index.js, built once by test/global-setup.ts) and the fixture scripts.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (absolute, with a trailing separator). */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The compiled library's entry point, which the fixtures and child-process scenarios import. */
export const distEntry = join(root, 'dist', 'index.js');

/** The absolute path of `test/fixtures/<name>`. */
export const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
