// Test runner configuration: every test file runs in its own child process ('forks'), so a
// native crash or a hung thread fails one file loudly instead of taking the runner down.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
