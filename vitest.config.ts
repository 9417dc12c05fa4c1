// Test runner configuration: every test file runs in its own child process ('forks'), so a
// native crash or a hung thread fails one file loudly instead of taking the runner down. The
// global setup compiles lib/ into dist/ once, before any file runs, for the fixtures that run
// outside vitest.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
