/**
 * The CLI's view of the accounts app:
 *
 *   npm run demo -- --data-dir .rewind-data
 *   npm run rewind -- events --config examples/accounts/rewind.config.ts
 *   DATABASE_URL=postgres://… npm run rewind -- schema --apply --config examples/accounts/rewind.config.ts
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { defineConfig } from 'rewind-es/cli'
import { createApp } from './app.js'

export default defineConfig({
  // DATABASE_URL when it is set; else the demo's PGlite directory (REWIND_DATA_DIR, default .rewind-data).
  // The CLI closes the instance and its client (the pg Pool, the PGlite database) when the command ends.
  rewind: ({ databaseUrl, env, cwd }) => {
    if (databaseUrl) {
      return createApp(drizzlePg({ client: new pg.Pool({ connectionString: databaseUrl }) }), {
        createTables: false,
      })
    }
    const dir = resolve(cwd, env.REWIND_DATA_DIR ?? '.rewind-data')
    if (!existsSync(dir)) {
      throw new Error(
        `no demo database in ${dir}: run \`npm run demo -- --data-dir ${dir}\`, or set DATABASE_URL`,
      )
    }
    return createApp(drizzlePglite({ client: new PGlite(dir) }), { createTables: false })
  },
})
