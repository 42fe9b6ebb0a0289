import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../examples/accounts/app.js'
import { runScenario } from '../../examples/accounts/scenario.js'
import { STARTER_CONFIG } from '../../src/cli/commands/init.js'
import { defineConfig } from '../../src/cli/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { cliRunner, jsonLines } from './support.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exampleConfig = join(root, 'examples/accounts/rewind.config.ts')
const cli = cliRunner({})
const temps: string[] = []

/** A fresh directory for this run only. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-cli-'))
  temps.push(dir)
  return dir
}

/** A project directory whose rewind.config.ts is the accounts example's. */
function projectDir(): string {
  const dir = tempDir()
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(
    join(dir, 'rewind.config.ts'),
    `export { default } from '${pathToFileURL(exampleConfig).href}'\n`,
  )
  return dir
}

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

describe.each(backends)('configuration and schema on $name', (backend) => {
  /** The environment that points the example configuration at a database with the scenario in it. */
  let seededEnv: Record<string, string>
  /** ... and at an empty one. */
  let emptyEnv: Record<string, string>
  const dbs: TestDatabase[] = []

  beforeAll(async () => {
    if (backend.name === 'pglite') {
      // The example configuration opens a PGlite data directory (REWIND_DATA_DIR) on every command.
      const seeded = tempDir()
      const client = new PGlite(seeded)
      const app = await createApp(drizzle({ client }))
      await runScenario(app)
      await app.close()
      await client.close()
      const empty = tempDir()
      await new PGlite(empty).close()
      seededEnv = { REWIND_DATA_DIR: seeded }
      emptyEnv = { REWIND_DATA_DIR: empty }
    } else {
      const seeded = await backend.create()
      const app = await createApp(seeded.db)
      await runScenario(app)
      await app.close()
      const empty = await backend.create()
      dbs.push(seeded, empty)
      seededEnv = { DATABASE_URL: seeded.url! }
      emptyEnv = { DATABASE_URL: empty.url! }
    }
  })
  afterAll(async () => {
    for (const db of dbs) await db.close()
  })

  it('loads rewind.config.ts from the working directory (a TypeScript file, through tsx)', async () => {
    const run = await cli(['events', '--json', '--resource', 'Org'], { cwd: projectDir(), env: seededEnv })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(jsonLines(run).map((e) => e.action)).toEqual(['create'])
  })

  it('loads the file named by --config, relative to the working directory', async () => {
    const run = await cli(['events', '--config', 'examples/accounts/rewind.config.ts', '--limit', '2'], {
      cwd: root,
      env: seededEnv,
    })
    expect(run.code).toBe(0)
    expect(run.lines.at(-1)).toMatch(
      /^2 events; next page: rewind events --after-position 2 --limit 2 --config examples\/accounts\/rewind\.config\.ts$/,
    )
  })

  it('takes the global options before the command too, as drizzle-kit does', async () => {
    const config = 'examples/accounts/rewind.config.ts'
    const expected =
      /^2 events; next page: rewind events --after-position 2 --limit 2 --config examples\/accounts\/rewind\.config\.ts$/
    for (const args of [
      ['--config', config, 'events', '--limit', '2'],
      ['--verbose', `--config=${config}`, 'events', '--limit', '2'],
      ['--config', config, '--verbose', 'events', '--limit', '2'],
    ]) {
      const run = await cli(args, { cwd: root, env: seededEnv })
      expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' })
      expect(run.lines.at(-1)).toMatch(expected)
    }
  })

  it('prints the SQL of the tables, applies it with --apply, and says to when the tables are missing', async () => {
    const env = emptyEnv
    const cwd = projectDir()
    const sql = await cli(['schema'], { cwd, env })
    expect(sql.code).toBe(0)
    for (const table of ['orgs', 'users', 'memberships', 'articles', 'events']) {
      expect(sql.stdout).toContain(`CREATE TABLE IF NOT EXISTS "${table}" (`)
    }
    expect(sql.stdout).toContain('CREATE TRIGGER "events_no_update_delete"')
    expect(sql.stdout.trimEnd().endsWith(';')).toBe(true)

    const missing = await cli(['events'], { cwd, env })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(
      /^error: .*"events" does not exist.*\(create the tables with `rewind schema --apply`/,
    )
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)

    const apply = await cli(['schema', '--apply'], { cwd, env })
    expect(apply.code).toBe(0)
    expect(apply.stdout).toMatch(/^✓ Applied \d+ statements/)
    expect(await cli(['events'], { cwd, env })).toMatchObject({ code: 0, stdout: 'no events match\n' })
    expect((await cli(['verify'], { cwd, env })).stdout).toBe(
      '✓ Replaying 0 events reproduces every tracked table exactly\n',
    )
    // Applying again changes nothing.
    expect((await cli(['schema', '--apply'], { cwd, env })).code).toBe(0)
  })
})

describe('configuration errors, init and help', () => {
  it('without a configuration, says how to provide one (both ways), exit code 2', async () => {
    const run = await cli(['events'], { cwd: tempDir() })
    expect(run).toMatchObject({ code: 2, stdout: '' })
    expect(run.stderr).toMatch(
      /^error: no Rewind configuration: create rewind\.config\.ts in \S+ \(`rewind init` writes a starter\) or pass --config <path>\n$/,
    )
  })

  it('refuses a --config that does not exist, or that exports no configuration', async () => {
    const dir = tempDir()
    const missing = await cli(['events', '--config', 'nope.ts'], { cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe(`error: --config nope.ts: no such file (${join(dir, 'nope.ts')})\n`)
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
    writeFileSync(join(dir, 'empty.config.ts'), 'export const rewind = 1\n')
    const empty = await cli(['events', '--config', 'empty.config.ts'], { cwd: dir })
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/^error: empty\.config\.ts must `export default defineConfig\(\{ rewind: /)
    writeFileSync(join(dir, 'broken.config.ts'), 'export default {\n')
    const broken = await cli(['events', '--config', 'broken.config.ts'], { cwd: dir })
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/^error: could not load broken\.config\.ts: /)
  })

  it("reports a configuration's own error on one line, with the stack under --verbose", async () => {
    const env = { REWIND_DATA_DIR: join(tempDir(), 'absent') }
    const run = await cli(['events', '--config', exampleConfig], { env })
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `error: no demo database in ${env.REWIND_DATA_DIR}: run \`npm run demo -- --data-dir ${env.REWIND_DATA_DIR}\`, or set DATABASE_URL\n`,
    )
    const verbose = await cli(['events', '--config', exampleConfig, '--verbose'], { env })
    expect(verbose.stderr).toMatch(/\n\s+at .*rewind\.config\.ts/)
    // --verbose before the command, as after it.
    const before = await cli(['--verbose', '--config', exampleConfig, 'events'], { env })
    expect(before.code).toBe(1)
    expect(before.stderr).toMatch(/^error: no demo database in /)
    expect(before.stderr).toMatch(/\n\s+at .*rewind\.config\.ts/)
    const wrong = await cli(['events'], { config: defineConfig({ rewind: () => ({}) as never }) })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toBe(
      "error: the configured rewind gave an object with keys (none); expected the app's Rewind instance (createRewind(...))\n",
    )
  })

  it('accepts an instance instead of a function, and closes it with its database when the command ends', async () => {
    const client = new PGlite()
    const app = await createApp(drizzle({ client }))
    const run = await cli(['events'], { config: defineConfig({ rewind: app }) })
    expect(run).toMatchObject({ code: 0, stdout: 'no events match\n' })
    expect(client.closed).toBe(true)
  })

  it('init writes a starter rewind.config.ts and never overwrites one without --force', async () => {
    const cwd = tempDir()
    const first = await cli(['init'], { cwd })
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^Wrote rewind\.config\.ts: point it at/)
    expect(readFileSync(join(cwd, 'rewind.config.ts'), 'utf8')).toBe(STARTER_CONFIG)
    expect(STARTER_CONFIG).toContain("import { defineConfig } from 'rewind-es/cli'")
    expect(STARTER_CONFIG).toContain('rewind: ({ databaseUrl }) =>')
    writeFileSync(join(cwd, 'rewind.config.ts'), '// mine\n')
    const again = await cli(['init'], { cwd })
    expect(again).toMatchObject({ code: 2, stdout: '' })
    expect(again.stderr).toBe('error: rewind.config.ts already exists; pass --force to overwrite it\n')
    expect(readFileSync(join(cwd, 'rewind.config.ts'), 'utf8')).toBe('// mine\n')
    expect((await cli(['init', '--force'], { cwd })).code).toBe(0)
    expect(readFileSync(join(cwd, 'rewind.config.ts'), 'utf8')).toBe(STARTER_CONFIG)
  })

  it('prints help and the version; refuses unknown commands and a missing command', async () => {
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    for (const name of ['events', 'history', 'state', 'replay', 'verify', 'check', 'schema', 'init']) {
      expect(help.stdout).toMatch(new RegExp(`\\n  ${name} +\\S`))
    }
    expect(help.stdout).toContain('DATABASE_URL')
    expect(help.stdout).toContain('Exit codes: 0 success, 1 failure')
    const events = await cli(['events', '--help'])
    expect(events.code).toBe(0)
    expect(events.stdout).toContain('Usage: rewind events [options]')
    expect(events.stdout).toMatch(/--actor COLUMN=VALUE +events by this actor/)
    expect((await cli(['help', 'replay'])).stdout).toContain('-y, --yes')
    const version = await cli(['--version'])
    expect(version.stdout).toMatch(/^rewind \d+\.\d+\.\d+\n$/)

    const none = await cli([])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: rewind <command> [options]')
    const commands = 'events, history, state, replay, verify, check, consumers, relay, studio, schema, init'
    const unknown = await cli(['evnets'])
    expect(unknown).toMatchObject({ code: 2, stdout: '' })
    expect(unknown.stderr).toBe(
      `error: unknown command "evnets": did you mean "events"? (expected one of ${commands}; see \`rewind --help\`)\n`,
    )
    expect((await cli(['event'])).stderr).toBe(
      `error: unknown command "event": did you mean "events"? (expected one of ${commands}; see \`rewind --help\`)\n`,
    )
    expect((await cli(['Replay', '--yes'])).stderr).toMatch(
      /^error: unknown command "Replay": did you mean "replay"\? /,
    )
    expect((await cli(['frobnicate'])).stderr).toBe(
      `error: unknown command "frobnicate": expected one of ${commands} (see \`rewind --help\`)\n`,
    )
    expect((await cli(['--json'])).stderr).toMatch(/^error: unknown option --json: expected one of/)
    // Global options before the command, and help or the version after them.
    expect((await cli(['--verbose', 'events', '--help'])).stdout).toContain('Usage: rewind events [options]')
    expect((await cli(['--config', 'x.ts', '--help'])).stdout).toContain('Usage: rewind <command> [options]')
    expect((await cli(['--verbose', '--version'])).stdout).toMatch(/^rewind \d+\.\d+\.\d+\n$/)
    const noValue = await cli(['--config'])
    expect(noValue).toMatchObject({ code: 2, stdout: '' })
    expect(noValue.stderr).toBe('error: option --config needs a value (see `rewind --help`)\n')
    expect((await cli(['--config', '--json', 'events'])).stderr).toBe(
      'error: option --config needs a value (see `rewind --help`)\n',
    )
    const onlyGlobals = await cli(['--verbose'])
    expect(onlyGlobals.code).toBe(2)
    expect(onlyGlobals.stderr).toContain('Usage: rewind <command> [options]')
  })
})
