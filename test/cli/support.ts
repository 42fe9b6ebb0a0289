import { Readable } from 'node:stream'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { type App, createApp } from '../../examples/accounts/app.js'
import { runScenario, type ScenarioResult } from '../../examples/accounts/scenario.js'
import { buildCli, type CliOptions, defineConfig, type RewindCliConfig } from '../../src/cli/index.js'
import type { Backend, TestDatabase } from '../support/backends.js'

/** What one command line printed, and its exit code. */
export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** stdout split into lines, without the trailing empty one. */
  readonly lines: string[]
}

/** Options of one run: the CLI's own, plus what the user types on stdin and the terminal's width. */
export type RunOptions = Omit<CliOptions, 'stdout' | 'stderr' | 'stdin'> & {
  readonly input?: string
  readonly columns?: number
}

/** Runs command lines in-process, as `rewind …` would, collecting what they print. */
export function cliRunner(base: RunOptions) {
  return async (argv: readonly string[], options: RunOptions = {}): Promise<CliRun> => {
    let stdout = ''
    let stderr = ''
    const { input, columns, ...rest } = { ...base, ...options }
    const code = await buildCli({
      isTTY: false,
      env: {},
      ...rest,
      stdout: { write: (text: string) => (stdout += text), columns },
      stderr: { write: (text: string) => (stderr += text) },
      stdin: Readable.from(input === undefined ? [] : [input]),
    }).run(argv)
    return {
      code,
      stdout,
      stderr,
      lines: stdout.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1),
    }
  }
}

/** A fresh database on one backend with the accounts scenario in it, and a CLI configured for it. */
export interface AccountsFixture {
  readonly tdb: TestDatabase
  /** The test's own instance: for raw queries and checks behind the CLI's back. */
  readonly app: App
  readonly scenario: ScenarioResult
  /** What `rewind.config.ts` would export for this database. */
  readonly config: RewindCliConfig
  /** The environment the CLI runs with (DATABASE_URL on PostgreSQL). */
  readonly env: Readonly<Record<string, string>>
  readonly cli: ReturnType<typeof cliRunner>
  close(): Promise<void>
}

/**
 * On PostgreSQL, the configuration connects to `DATABASE_URL` (the fresh database) with its own pool, as a
 * real rewind.config.ts does, and the CLI ends that pool after each command. On PGlite, every command
 * shares the test's in-memory database, so the configuration closes only the Rewind instance.
 */
export async function openAccounts(backend: Backend): Promise<AccountsFixture> {
  const tdb = await backend.create()
  const app = await createApp(tdb.db)
  const scenario = await runScenario(app)
  const env: Record<string, string> = tdb.url ? { DATABASE_URL: tdb.url } : {}
  const config = tdb.url
    ? defineConfig({
        rewind: ({ databaseUrl }) => {
          if (!databaseUrl) throw new Error('expected DATABASE_URL')
          return createApp(drizzle({ client: new pg.Pool({ connectionString: databaseUrl, max: 2 }) }), {
            createTables: false,
          })
        },
      })
    : defineConfig({
        rewind: () => createApp(tdb.db, { createTables: false }),
        close: (rewind) => rewind.close(),
      })
  return {
    tdb,
    app,
    scenario,
    config,
    env,
    cli: cliRunner({ config, env }),
    async close() {
      await app.close()
      await tdb.close()
    },
  }
}

/** Every row of the demo's tables, to compare before and after. */
export async function snapshot(app: App): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const table of ['orgs', 'users', 'memberships', 'articles']) {
    out[table] = await app.database.query(`SELECT * FROM ${table} ORDER BY id`)
  }
  return out
}

/** The JSON lines of a run's stdout. */
export function jsonLines<T = Record<string, unknown>>(run: CliRun): T[] {
  return run.lines.map((line) => JSON.parse(line) as T)
}
