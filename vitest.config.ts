import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  // Examples import the package by its name, as an app does (tsconfig.json maps it the same way).
  resolve: {
    alias: [
      { find: /^rewind-es\/cli$/, replacement: src('cli/index.ts') },
      { find: /^rewind-es$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: { include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // Bounds for a hang, not speed tests: on two cores shared with other work, a test that takes 15 s alone
    // has been seen to take over a minute.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    allowOnly: !process.env.CI,
    // Each file gets its own database (a fresh PGlite, a fresh PostgreSQL database); two cores, so two workers.
    pool: 'forks',
    maxWorkers: 2,
  },
})
