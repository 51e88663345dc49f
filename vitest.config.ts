import { configDefaults, defineConfig } from 'vitest/config';

// Integration tests run against real Postgres and NATS, chosen once per run in
// test/setup/global-setup.ts (env, Docker, or embedded children). Each file
// clones its own database, so files run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'functions/**/*.test.ts'],
    // test/faults/ kills and restarts servers; it runs as its own suite.
    exclude: [...configDefaults.exclude, 'test/faults/**', 'dist/**', '.data/**'],
    globalSetup: ['test/setup/global-setup.ts'],
    // Forks, not threads: tests spawn and signal child processes and open
    // many sockets; a crashing file then takes down only its own process.
    pool: 'forks',
    // A deadline for a hung test, not a speed budget: the waits inside tests
    // give up after 15-30 s on a busy machine, and should say so themselves.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
