import { existsSync, writeFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { defineCommand } from '../command.js'
import { CONFIG_FILES } from '../config.js'
import { EXIT, UsageError } from '../errors.js'

/** The starter configuration. It points at the app's own factory so the CLI replays exactly as the app runs. */
export const STARTER_CONFIG = `import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { defineConfig } from 'rewind-es/cli'
// TODO: import the function that makes your app's Rewind instance (the same resources, event log, actor
// resolvers, encryption keys and replay overrides as the app), so the CLI reads and replays as the app does.
import { createAppRewind } from './src/rewind.js'

export default defineConfig({
  // Called once per command. \`databaseUrl\` is the DATABASE_URL environment variable when it is set.
  // The CLI closes the instance and its pg Pool (or PGlite) when the command ends.
  rewind: ({ databaseUrl }) => {
    if (!databaseUrl) throw new Error('set DATABASE_URL, or open an embedded database here: new PGlite(dir)')
    return createAppRewind(drizzle({ client: new pg.Pool({ connectionString: databaseUrl }) }))
  },
})
`

/** `rewind init`: writes {@link STARTER_CONFIG} as rewind.config.ts, never over an existing file without `--force`. */
export const initCommand = defineCommand({
  name: 'init',
  summary: `Write a starter ${CONFIG_FILES[0]} in the working directory.`,
  args: [],
  options: { force: { type: 'boolean', description: 'overwrite an existing file' } },
  async run({ values }, { out, cwd }) {
    const file = resolve(cwd, CONFIG_FILES[0]!)
    const shown = relative(cwd, file)
    if (existsSync(file) && !values.force) {
      throw new UsageError(`${shown} already exists; pass --force to overwrite it`)
    }
    writeFileSync(file, STARTER_CONFIG)
    out.line(
      `Wrote ${shown}: point it at the function that makes your app's Rewind instance, then run \`rewind events\`.`,
    )
    return EXIT.OK
  },
})
