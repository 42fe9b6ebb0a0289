import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  // Examples import the package by its name, as an app does (tsconfig.json maps it the same way).
  resolve: {
    alias: [
      { find: /^rewind-es\/cli$/, replacement: src('cli/index.ts') },
      { find: /^rewind-es\/studio$/, replacement: src('studio/index.ts') },
      { find: /^rewind-es$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The studio runs from src in the tests: its browser files are built next to it first.
    globalSetup: ['test/support/studio-browser.ts'],
    typecheck: { include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // Only to catch a hang: a loaded two-core machine runs the fuzz and process tests several times slower than
    // a quiet one, and a test must not fail for that. Speed is measured in the bench.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    allowOnly: !process.env.CI,
    // Each file gets its own database (a fresh PGlite, a fresh PostgreSQL database); two cores, so two workers.
    pool: 'forks',
    maxWorkers: 2,
  },
})
