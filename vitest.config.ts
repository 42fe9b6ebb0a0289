import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: { include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    allowOnly: !process.env.CI,
    // Each file gets its own database (a fresh PGlite, a fresh PostgreSQL database); two cores, so two workers.
    pool: 'forks',
    maxWorkers: 2,
  },
})
