/**
 * The packed package as a user gets it: `npm pack` (which builds dist through prepack), then a fresh app in a
 * temporary directory installs the tarball with npm and compiles, runs, bundles and migrates with it. Nothing
 * here imports the repository's source: the app resolves `rewind-es` from its own node_modules.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends } from '../support/backends.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = join(root, 'test/package/fixture')
/**
 * npm installs and compilations on a loaded two-core machine take minutes: a generous bound for setup, so a
 * hang still ends, not a speed test.
 */
const SLOW = 600_000

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The environment of the app's commands: this process's, less what `npm test` hands its script (the
 * repository's package, its prefix, its script settings), less what would point the app's commands elsewhere
 * (DATABASE_URL, REWIND_DATA_DIR: each command gets its own) or load code into them (NODE_OPTIONS).
 */
function appEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set([
    'npm_config_cache',
    'npm_config_userconfig',
    'npm_config_globalconfig',
    'npm_config_registry',
  ])
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.has(key.toLowerCase())) continue
    if (['DATABASE_URL', 'REWIND_DATA_DIR', 'NODE_OPTIONS'].includes(key) || key.startsWith('VITEST'))
      continue
    env[key] = value
  }
  return { ...env, NO_COLOR: '1', ...extra }
}

/** Runs a command to its end and collects what it printed (never throws on a non-zero exit). */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: appEnv(options.env), stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? '')
  })
}

/** What a run printed, for assertion messages. */
const shown = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

/** A promise made on first use and shared by the tests that need it. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return () => (made ??= make())
}

/** The versions this repository is tested with: the app installs the same ones (from npm's cache). */
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>
}
const pinned = (name: string) => `${name}@${lock.packages[`node_modules/${name}`]!.version}`

const readme = readFileSync(join(root, 'README.md'), 'utf8')

let work: string
let tarball: string
let app: string
/** The package as packed: its package.json. */
let manifest: Record<string, any>
/** What `npm pack` printed. */
let packed: Ran
/** `tsc -p tsconfig.json` in the app (emits build/ for the runtime tests). */
let compiled: Ran

beforeAll(async () => {
  // The real path: tsc lists files by it.
  work = realpathSync(mkdtempSync(join(tmpdir(), 'rewind-package-')))
  // Node looks for packages in every parent's node_modules: one above the app would satisfy an import the
  // app's own install does not, and the test would pass on leftovers.
  for (let dir = work; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules')))
      throw new Error(`${dir}/node_modules exists: the app's imports would resolve there`)
    if (dirname(dir) === dir) break
  }
  packed = await run('npm', ['pack', '--pack-destination', work], { cwd: root })
  const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz'))
  if (packed.code !== 0 || tgz.length !== 1) throw new Error(`npm pack failed: ${shown(packed)}`)
  tarball = join(work, tgz[0]!)

  const extracted = join(work, 'extracted')
  mkdirSync(extracted)
  const untar = await run('tar', ['xzf', tarball, '-C', extracted], { cwd: work })
  if (untar.code !== 0) throw new Error(`tar failed: ${shown(untar)}`)
  manifest = JSON.parse(readFileSync(join(extracted, 'package/package.json'), 'utf8'))

  app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(
    join(app, 'package.json'),
    // esbuild (under drizzle-kit) checks its binary in an install script, which npm 11 runs only when allowed.
    JSON.stringify({ name: 'packed-app', private: true, type: 'module', allowScripts: { esbuild: true } }),
  )
  const install = await npmInstall([
    tarball,
    pinned('drizzle-orm'),
    // What this app uses besides: the compiler and Node's types, zod for an argument schema, pg and its
    // types for PostgreSQL, PGlite for a data directory of its own, drizzle-kit for migrations.
    pinned('typescript'),
    pinned('@types/node'),
    pinned('zod'),
    pinned('pg'),
    pinned('@types/pg'),
    pinned('@electric-sql/pglite'),
    pinned('drizzle-kit'),
  ])
  if (install.code !== 0) throw new Error(`npm install failed: ${shown(install)}`)

  for (const entry of readdirSync(fixture, { withFileTypes: true })) {
    if (entry.isFile()) copyFileSync(join(fixture, entry.name), join(app, entry.name))
  }
  // The accounts example as an app's own modules (they import 'rewind-es' by name, and each other NodeNext
  // style, with .js suffixes).
  for (const file of ['schema.ts', 'resources.ts', 'app.ts', 'scenario.ts', 'rewind.config.ts']) {
    copyFileSync(join(root, 'examples/accounts', file), join(app, file))
  }
  writeFileSync(join(app, 'readme.ts'), /```ts\n([\s\S]*?)```/.exec(readme)![1]!)
  compiled = await tsc(['-p', 'tsconfig.json'])
}, SLOW)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

/** npm install in the app, from npm's cache where it can. */
const npmInstall = (packages: readonly string[]) =>
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages], { cwd: app })
/** The app's TypeScript compiler. */
const tsc = (args: readonly string[]) =>
  run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '--pretty', 'false', ...args], {
    cwd: app,
  })
/** The installed `rewind` binary, run as npm linked it (its shebang starts plain node; no tsx, no loader). */
const rewindBin = (args: readonly string[], env: Record<string, string>) =>
  run(join(app, 'node_modules/.bin/rewind'), args, { cwd: app, env })
const node = (args: readonly string[], env: Record<string, string> = {}) =>
  run(process.execPath, args, { cwd: app, env })

/** One diagnostic per line: `file(line,col): error TSnnnn: message` (continuation lines indented). */
const diagnostics = (r: Ran) => r.stdout.split('\n').filter((l) => /^\S.*\(\d+,\d+\): error TS\d+/.test(l))

/**
 * With skipLibCheck false, tsc also checks every declaration file in the program, and drizzle-orm 0.45's own
 * declarations have errors of their own (missing optional peers such as mysql2 and gel, mysql and
 * singlestore builders at odds with TypeScript 5.9; a file that imports only drizzle-orm/pg-core gets them
 * too). So: no error anywhere else (the app's files, Rewind's declarations), and Rewind's declarations
 * augment no other module and no global, the only way they could change what drizzle-orm's mean.
 */
const strictLibCheck = once(() =>
  tsc(['-p', 'tsconfig.types.json', '--skipLibCheck', 'false', '--listFiles']),
)

async function expectCleanWithLibCheck(files: readonly string[]) {
  const checked = await strictLibCheck()
  expect(diagnostics(checked).filter((d) => !d.startsWith('node_modules/drizzle-orm/'))).toEqual([])
  const declarations = (
    readdirSync(join(app, 'node_modules/rewind-es/dist'), { recursive: true }) as string[]
  )
    .filter((f) => f.endsWith('.d.ts'))
    .map((f) => readFileSync(join(app, 'node_modules/rewind-es/dist', f), 'utf8'))
  expect(declarations.length).toBeGreaterThan(10)
  expect(declarations.filter((d) => /^\s*declare (module|global)\b/m.test(d))).toEqual([])
  // The run did check these files and Rewind's declarations (and so it was not a skipLibCheck run).
  const listed = checked.stdout.split('\n')
  for (const file of [
    ...files,
    'node_modules/rewind-es/dist/index.d.ts',
    'node_modules/rewind-es/dist/cli/index.d.ts',
    'node_modules/rewind-es/dist/studio/index.d.ts',
  ])
    expect(listed, file).toContain(join(app, file))
}

describe('the packed package', () => {
  it('is named rewind-es, ships dist only, and asks for what the quick start needs and no more', () => {
    // npm pack built dist itself (CI packs a fresh clone, which has no dist).
    expect(packed.stdout + packed.stderr).toMatch(/> rewind-es@[^\n]* prepack\n> npm run build/)
    expect(packed.stdout + packed.stderr).toContain('tsc -p tsconfig.build.json')
    expect(manifest).toMatchObject({
      name: 'rewind-es',
      type: 'module',
      bin: { rewind: './dist/cli/bin.js' },
    })
    // drizzle-orm: the app's own copy (one Drizzle per app); pg only for PostgreSQL; hono and its Node.js
    // server only for `rewind studio`; the NATS client only for the relay (rewind-es/relay).
    expect(manifest.peerDependencies).toEqual({
      'drizzle-orm': expect.any(String),
      pg: expect.any(String),
      hono: expect.any(String),
      '@hono/node-server': expect.any(String),
      '@nats-io/jetstream': expect.any(String),
      '@nats-io/transport-node': expect.any(String),
    })
    expect(manifest.peerDependenciesMeta).toEqual({
      pg: { optional: true },
      hono: { optional: true },
      '@hono/node-server': { optional: true },
      '@nats-io/jetstream': { optional: true },
      '@nats-io/transport-node': { optional: true },
    })
    // Installed with it: the embedded database, the Standard Schema types, the config loader. Never tsx.
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@electric-sql/pglite',
      '@standard-schema/spec',
      'jiti',
    ])
    for (const entry of Object.values(manifest.exports) as (string | Record<string, string>)[]) {
      if (typeof entry === 'object') expect(Object.keys(entry)).toEqual(['types', 'default'])
    }
    // The README's install line is what the quick start needs: the package and drizzle-orm.
    expect(/```sh\n(npm install [^#\n]*?)\s*(#.*)?\n/.exec(readme)?.[1]).toBe(
      'npm install rewind-es drizzle-orm',
    )
    const files = readdirSync(join(work, 'extracted/package'), { recursive: true }) as string[]
    expect(files.filter((f) => !/^(dist|LICENSE$|README\.md$|package\.json$)/.test(f))).toEqual([])
    expect(files.filter((f) => f.endsWith('.map') || f.includes('.test.'))).toEqual([])
    expect(files).toContain(join('dist', 'cli', 'bin.js'))
    // The studio's browser part, built at pack time: one script and one stylesheet, nothing fetched from elsewhere.
    expect(files).toContain(join('dist', 'studio', 'browser', 'studio.js'))
    expect(files).toContain(join('dist', 'studio', 'browser', 'studio.css'))
    expect(files.filter((f) => f.startsWith(join('dist', 'studio', 'client')))).toEqual([])
    expect(readFileSync(join(work, 'extracted/package/dist/cli/bin.js'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    )
  })

  it(
    "the README's first example compiles (strict, nodenext, skipLibCheck true and false) and prints what its last comment says",
    async () => {
      expect(compiled.code, shown(compiled)).toBe(0)
      expect(compiled.stdout).toBe('')
      expect(existsSync(join(app, 'build/readme.js'))).toBe(true)
      await expectCleanWithLibCheck(['readme.ts'])

      const ran = await node(['build/readme.js'])
      expect(ran.code, shown(ran)).toBe(0)
      const lines = /```ts\n([\s\S]*?)```/.exec(readme)![1]!.trim().split('\n')
      const expected = lines.at(-1)!.replace(/^\/\/ → /, '')
      // console.log prints util.inspect output, wrapped at 80 columns; the comment has it on one line.
      expect(ran.stdout.replace(/\s+/g, ' ').trim()).toBe(expected)
    },
    SLOW,
  )

  it(
    'type errors are caught from the installed declarations (skipLibCheck true and false)',
    async () => {
      // The whole app compiled already, with skipLibCheck true (beforeAll).
      expect(compiled.code, shown(compiled)).toBe(0)
      expect(existsSync(join(app, 'build/types.js'))).toBe(true)
      // An unused @ts-expect-error is itself an error (TS2578), so each of them proves its error exists.
      await expectCleanWithLibCheck(['types.ts'])
    },
    SLOW,
  )

  it(
    'rewind-es/relay loads without the NATS packages, and the relay says what to install when it first publishes',
    async () => {
      writeFileSync(
        join(app, 'relay.mjs'),
        `import { natsRelay, isRelay } from 'rewind-es/relay'
const relay = natsRelay({ servers: 'nats://127.0.0.1:1' })
const error = await relay.handleBatch([], { attempt: 1, consumer: relay.name, partition: 0, resources: new Map() }).then(() => undefined, (e) => e)
console.log(JSON.stringify({ relay: isRelay(relay), name: relay.name, code: error?.code, message: error?.message }))
`,
      )
      const ran = await node(['relay.mjs'])
      expect(ran.code, shown(ran)).toBe(0)
      const out = JSON.parse(ran.stdout) as Record<string, unknown>
      expect(out).toMatchObject({ relay: true, name: 'natsRelay', code: 'INVALID_DEFINITION' })
      expect(out.message).toContain('npm install @nats-io/transport-node')
      // Installed: the other side's handlers are typed from the resource and action, as the app's compiler sees
      // the published declarations (skipLibCheck false; drizzle-orm's own declaration errors set apart).
      const install = await npmInstall([pinned('@nats-io/transport-node'), pinned('@nats-io/jetstream')])
      expect(install.code, shown(install)).toBe(0)
      writeFileSync(
        join(app, 'relay-types.ts'),
        `import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { defineResource, generateId } from 'rewind-es'
import { consumeRewindEvents, databaseInbox, memoryInbox } from 'rewind-es/relay'
const members = pgTable('members', { id: uuid('id').primaryKey(), name: text('name').notNull(), email: text('email') })
const Member = defineResource(members, {
  name: 'Member',
  actions: (a) => ({ join: a.create({ accept: ['name', 'email'], changes: [generateId()] }), leave: a.destroy() }),
})
export async function consume(db: Parameters<typeof databaseInbox>[0]['db']) {
  await consumeRewindEvents({
    servers: 'nats://127.0.0.1:4222', stream: 'REWIND', durable: 'billing', inbox: databaseInbox({ db }),
    handlers: (on) => [
      on(Member, 'join', (e, ctx) => {
        const name: string = e.data.name
        // @ts-expect-error: join does not accept an id
        e.data.id
        return ctx.sql('SELECT $1', [name])
      }),
      // @ts-expect-error: Member has no action 'rename'
      on(Member, 'rename', () => undefined),
      on('Invoice', '*', (e) => e.data),
    ],
  })
  await consumeRewindEvents({
    servers: 'nats://127.0.0.1:4222', stream: 'REWIND', durable: 'mail', inbox: memoryInbox(),
    // @ts-expect-error: a memory inbox gives no transaction
    handlers: (on) => [on(Member, 'join', (_e, ctx) => ctx.sql('SELECT 1'))],
  })
}
`,
      )
      const checked = await tsc([
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        'false',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        'relay-types.ts',
      ])
      expect(diagnostics(checked).filter((d) => !d.startsWith('node_modules/drizzle-orm/'))).toEqual([])
    },
    SLOW,
  )

  it(
    'works from CommonJS: require("rewind-es") with defineResource and createRewind (require(esm))',
    async () => {
      const ran = await node(['require.cjs'])
      expect(ran.code, shown(ran)).toBe(0)
      expect(JSON.parse(ran.stdout)).toEqual({
        name: 'Ada Lovelace',
        events: ['users.create', 'users.rename'],
      })
      // A default `npm init` project is CommonJS: the README says what the top-level-await sample needs there.
      expect(readme).toContain('npm pkg set type=module')
    },
    SLOW,
  )

  it(
    'the installed rewind binary loads a TypeScript rewind.config.ts (through jiti) and lists the events',
    async () => {
      const dir = join(work, 'events-data')
      const seeded = await node(['build/seed.js', dir, '--create-tables'])
      expect(seeded.code, shown(seeded)).toBe(0)
      const { events } = JSON.parse(seeded.stdout) as { events: number }
      expect(events).toBeGreaterThan(10)
      // rewind.config.ts imports './app.js', which is app.ts: Node.js (even one that strips types) does not map
      // the suffix, so the CLI loads the configuration through jiti.
      const listed = await rewindBin(['events', '--limit', '1000', '--config', 'rewind.config.ts'], {
        REWIND_DATA_DIR: dir,
      })
      expect(listed.code, shown(listed)).toBe(0)
      expect(listed.stderr).toBe('')
      const lines = listed.stdout.trimEnd().split('\n')
      expect(lines[0]).toMatch(/^POS\tID\t/)
      expect(lines.at(-1)).toBe(`${events} events`)
      expect(lines.slice(1, -1)).toHaveLength(events)
      expect(listed.stdout).toMatch(/\tUser\.create v2\t/)
      expect(listed.stdout).toMatch(/\tArticle\.softDelete v1\t/)
    },
    SLOW,
  )

  it(
    '`rewind studio` says what to install without hono; installed, it serves the log and its browser files behind the token',
    async () => {
      const dir = join(work, 'studio-data')
      const seeded = await node(['build/seed.js', dir, '--create-tables'])
      expect(seeded.code, shown(seeded)).toBe(0)
      const env = { REWIND_DATA_DIR: dir }
      const missing = await rewindBin(['studio', '--port', '0', '--config', 'rewind.config.ts'], env)
      expect(missing.code, shown(missing)).toBe(1)
      expect(missing.stderr).toContain('npm install hono @hono/node-server')
      const install = await npmInstall([pinned('hono'), pinned('@hono/node-server')])
      expect(install.code, shown(install)).toBe(0)
      const child = spawn(
        join(app, 'node_modules/.bin/rewind'),
        ['studio', '--port', '0', '--config', 'rewind.config.ts'],
        {
          cwd: app,
          env: appEnv(env),
          stdio: 'pipe',
        },
      )
      let stdout = ''
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
      try {
        const url = await new Promise<URL>((resolve, reject) => {
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            stdout += chunk
            const found = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stdout)
            if (found) resolve(new URL(found[1]!))
          })
          child.on('close', () => reject(new Error(`rewind studio ended: ${stdout}\n${stderr}`)))
        })
        const headers = { authorization: `Bearer ${url.searchParams.get('token')}` }
        expect((await fetch(`${url.origin}/log`)).status).toBe(401)
        const page = await fetch(`${url.origin}/log?resource=User`, { headers })
        expect(page.status).toBe(200)
        expect(await page.text()).toContain('User.create')
        const script = await fetch(`${url.origin}/assets/studio.js`, { headers })
        expect(script.status).toBe(200)
        expect(await script.text()).toContain('EventSource')
        expect((await fetch(`${url.origin}/assets/studio.css`, { headers })).status).toBe(200)
      } finally {
        child.kill('SIGTERM')
      }
      expect(await exited, `${stdout}\n${stderr}`).toBe(0)
    },
    SLOW,
  )

  it(
    'a server bundle on PostgreSQL only carries no PGlite',
    async () => {
      const bundle = async (entry: string) => {
        const result = await build({
          entryPoints: [join(app, entry)],
          absWorkingDir: app,
          bundle: true,
          platform: 'node',
          format: 'esm',
          external: ['pg'],
          outfile: join(app, 'bundle', entry.replace(/\.ts$/, '.mjs')),
          metafile: true,
          logLevel: 'silent',
        })
        return {
          inputs: Object.keys(result.metafile.inputs),
          text: readFileSync(join(app, 'bundle', entry.replace(/\.ts$/, '.mjs')), 'utf8'),
        }
      }
      const server = await bundle('server.ts')
      expect(server.inputs).toContain('node_modules/rewind-es/dist/index.js')
      expect(server.inputs.filter((i) => i.includes('@electric-sql/'))).toEqual([])
      expect(server.text).not.toContain('pglite.wasm')
      // The control: a bundle that does use PGlite has its modules and names its wasm file.
      const embedded = await bundle('embedded.ts')
      expect(
        embedded.inputs.filter((i) => i.includes('node_modules/@electric-sql/pglite/')).length,
      ).toBeGreaterThan(0)
      expect(embedded.text).toContain('pglite.wasm')

      const postgres = backends.find((b) => b.name === 'postgres')
      if (postgres) {
        // And the bundle runs, resolving pg from the app.
        const tdb = await postgres.create()
        try {
          const ran = await node(['bundle/server.mjs'], { DATABASE_URL: tdb.url! })
          expect(ran.code, shown(ran)).toBe(0)
          expect(JSON.parse(ran.stdout)).toEqual({ name: 'Ada', events: ['bundle_users.create'] })
        } finally {
          await tdb.close()
        }
      }
    },
    SLOW,
  )

  it(
    'arethetypeswrong and publint find no problem',
    async () => {
      // --profile esm-only: the package is ESM only, and CommonJS callers load it with require(esm) (Node.js
      // 20.19+; TypeScript types that from 5.8 with module node20/nodenext). attw's own TypeScript predates that
      // and reports every entry from CommonJS as "ESM (dynamic import only)", and node10 resolution cannot see
      // subpath exports (rewind-es/cli); this profile ignores exactly those two and checks the rest.
      const attw = await run(
        join(root, 'node_modules/.bin/attw'),
        [tarball, '--profile', 'esm-only', '--format', 'json'],
        { cwd: work },
      )
      expect(attw.code, shown(attw)).toBe(0)
      const { analysis } = JSON.parse(attw.stdout) as {
        analysis: { types: unknown; problems: { kind: string; entrypoint: string; resolutionKind: string }[] }
      }
      expect(analysis.types).toMatchObject({ kind: 'included' })
      // What the profile ignores is there (so the check ran), and nothing else is.
      expect(analysis.problems.filter((p) => !['node10', 'node16-cjs'].includes(p.resolutionKind))).toEqual(
        [],
      )
      expect(analysis.problems).toContainEqual({
        kind: 'CJSResolvesToESM',
        entrypoint: '.',
        resolutionKind: 'node16-cjs',
      })
      // The unpacked package as published: --pack false lints its files as they are.
      const publint = await run(
        join(root, 'node_modules/.bin/publint'),
        ['run', join(work, 'extracted/package'), '--pack', 'false', '--strict'],
        { cwd: work },
      )
      expect(publint.code, shown(publint)).toBe(0)
      expect(publint.stdout).toContain('All good!')
    },
    SLOW,
  )
})

describe('drizzle-kit migrations with the append-only trigger', () => {
  /** drizzle-kit generate on the example schema, then the custom migration filled by `rewind schema --trigger`. */
  const migrations = once(async () => {
    const drizzleKit = (args: readonly string[]) =>
      run(process.execPath, [join(app, 'node_modules/drizzle-kit/bin.cjs'), ...args], { cwd: app })
    const generated = await drizzleKit(['generate'])
    expect(generated.code, shown(generated)).toBe(0)
    const custom = await drizzleKit(['generate', '--custom', '--name', 'rewind-append-only'])
    expect(custom.code, shown(custom)).toBe(0)
    const files = readdirSync(join(app, 'drizzle'))
      .filter((f) => f.endsWith('.sql'))
      .sort()
    expect(files).toEqual([expect.stringMatching(/^0000_.*\.sql$/), '0001_rewind-append-only.sql'])
    const tables = readFileSync(join(app, 'drizzle', files[0]!), 'utf8')
    for (const table of ['events', 'users', 'orgs', 'memberships', 'articles'])
      expect(tables).toContain(`CREATE TABLE "${table}"`)
    // The consumers' tables, re-exported from rewind-es by the schema.
    for (const table of ['rewind_consumers', 'rewind_dead_letters'])
      expect(tables).toContain(`CREATE TABLE "${table}"`)
    // The CLI needs its configuration's database to exist; for --trigger an empty one will do.
    const empty = join(work, 'empty-data')
    await new PGlite(empty).close()
    const trigger = await rewindBin(['schema', '--trigger', '--config', 'rewind.config.ts'], {
      REWIND_DATA_DIR: empty,
    })
    expect(trigger.code, shown(trigger)).toBe(0)
    expect(trigger.stdout).toContain('--> statement-breakpoint')
    // As the CLI's own example says: `rewind schema --trigger > drizzle/0001_rewind-append-only.sql`.
    writeFileSync(join(app, 'drizzle', files[1]!), trigger.stdout)
  })

  it(
    'drizzle-kit loads a schema that imports rewind-es and generates the tables',
    async () => {
      await migrations()
    },
    SLOW,
  )

  it.each(backends)(
    'on $name: migrated with the drizzle-orm migrator, `rewind check` passes; without the trigger it fails and names it',
    async (backend) => {
      await migrations()
      const tdb = backend.name === 'postgres' ? await backend.create() : undefined
      const dir = join(work, `migrated-${randomBytes(4).toString('hex')}`)
      const target = tdb?.url ?? dir
      const env: Record<string, string> = tdb ? { DATABASE_URL: tdb.url! } : { REWIND_DATA_DIR: dir }
      try {
        const migrated = await node(['build/migrate.js', target])
        expect(migrated.code, shown(migrated)).toBe(0)
        // The app writes into the migrated tables; nothing but the migrations created them.
        const seeded = await node(['build/seed.js', target])
        expect(seeded.code, shown(seeded)).toBe(0)
        const clean = await rewindBin(['check', '--config', 'rewind.config.ts'], env)
        expect(clean.code, shown(clean)).toBe(0)
        expect(clean.stdout).toMatch(/✓ \d+ events and the tables agree/)
        // The consumers' tables came from the migrations too: the CLI reads them.
        const consumers = await rewindBin(['consumers', '--json', '--config', 'rewind.config.ts'], env)
        expect(consumers, shown(consumers)).toMatchObject({ code: 0, stdout: '' })

        const drop = 'DROP TRIGGER events_no_update_delete ON events'
        if (tdb) await (tdb.db.$client as { query(text: string): Promise<unknown> }).query(drop)
        else {
          const client = new PGlite(dir)
          await client.query(drop)
          await client.close()
        }
        const broken = await rewindBin(['check', '--config', 'rewind.config.ts'], env)
        expect(broken.code, shown(broken)).toBe(1)
        expect(broken.stdout).toMatch(/append-only-trigger\t.*"events_no_update_delete"/)
      } finally {
        await tdb?.close()
      }
    },
    SLOW,
  )
})
