import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Picks a PostgreSQL server and migrates a template database once per run;
    // each test file clones its own database from it (test/database.ts).
    globalSetup: ['./test/global-setup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
