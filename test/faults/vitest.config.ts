import { configDefaults, defineConfig } from 'vitest/config';

// The fault-injection suite (`make test-faults`): each file starts the built
// CEX as child processes on the harness's Postgres and NATS (own database,
// own instance names), loads it, and kills or cuts what it depends on. The
// files load this 2-core machine fully, so they run one at a time.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'dist/**', '.data/**'],
    globalSetup: ['test/setup/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
