/**
 * A guided tour of Rewind on the accounts app, on embedded PGlite: actions, the event timeline, a record's
 * history and its state at an earlier moment, a full replay with progress, and a verification.
 *
 *   npm run demo                                # in memory; nothing to install or start
 *   npm run demo -- --data-dir .rewind-data     # keeps the database, to explore it with the CLI afterwards
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/pglite'
import type { RewindEvent } from 'rewind-es'
import { createApp } from './app.js'
import { heading, palette, progressBar, show, table, time } from './print.js'
import { Article, User } from './resources.js'
import { runScenario } from './scenario.js'

export interface DemoOptions {
  /** Prints one line. */
  readonly out: (line: string) => void
  /** A PGlite data directory that keeps the database between runs; in memory when omitted. */
  readonly dataDir?: string
  /** Writes raw text: when given, the progress bar redraws in place (a terminal) instead of printing lines. */
  readonly write?: (text: string) => void
  /** Bold titles and coloured marks. */
  readonly color?: boolean
  /** The width tables fit in (default 150). */
  readonly width?: number
}

const TABLES = ['orgs', 'users', 'memberships', 'articles'] as const
/** Columns every event sets that say little in a timeline. */
const NOISE = new Set(['id', 'createdAt', 'updatedAt'])

/** Runs the scenario and prints the tour. Throws on an unexpected failure. */
export async function runDemo({
  out,
  dataDir,
  write,
  color = false,
  width = 150,
}: DemoOptions): Promise<void> {
  const c = palette(color)
  const client = new PGlite(dataDir)
  const db = drizzle({ client })
  const app = await createApp(db)
  const rows = async (query: string) => (await db.execute(sql.raw(query))).rows as Record<string, unknown>[]
  const section = (title: string) => {
    out('')
    out(c.bold(heading(title)))
  }
  try {
    const run = Number((await rows('SELECT count(*) AS n FROM orgs'))[0]!.n) + 1
    const startPosition = Number((await rows('SELECT coalesce(max(position), 0) AS p FROM events'))[0]!.p)
    out(
      c.bold(
        `Rewind demo: the accounts app on embedded PGlite ${dataDir ? `(data in ${dataDir}, run ${run})` : '(in memory)'}`,
      ),
    )

    section('1. Actions (each writes its row and its event in one transaction)')
    const said: string[][] = []
    const scenario = await runScenario(app, {
      run,
      say: (who, action, detail) => said.push([who, action, detail]),
    })
    for (const line of table(['ACTOR', 'ACTION', 'WHAT HAPPENED'], said, width)) out(line)

    section('2. The event timeline')
    const names = new Map<string, string>()
    const actor = async (e: RewindEvent) => {
      const userId = e.actor.userId
      if (typeof userId === 'string') {
        if (!names.has(userId)) names.set(userId, (await app.get(User, userId))?.name ?? userId.slice(0, 8))
        return `${names.get(userId)} (user)`
      }
      return e.actor.systemActor ? `${e.actor.systemActor} (system)` : '-'
    }
    const { events } = await app.events({ afterPosition: startPosition, limit: 1000 })
    const timeline: string[][] = []
    for (const e of events) {
      const event = `${e.resource}.${e.action} v${e.version}`
      timeline.push([String(e.position), time(e.occurredAt).slice(5), await actor(e), event, fields(app, e)])
    }
    const header = ['POS', 'TIME (UTC)', 'ACTOR', 'EVENT', 'CHANGED FIELDS']
    for (const line of table(header, timeline, width)) out(line)
    if (startPosition > 0) out(c.dim(`  (${startPosition} events of earlier runs not shown)`))
    out(
      c.dim(
        '  EVENT is resource.action and the version the event was recorded with. Sensitive values are stored',
      ),
    )
    out(c.dim('  encrypted and shown here as •••.'))

    section(`3. History of the article "${scenario.article.title}"`)
    const history = await app.history(Article, scenario.article.id)
    for (const entry of history) {
      const meta = entry.metadata.requestId ? `, request ${String(entry.metadata.requestId)}` : ''
      const pos = `#${entry.position}`.padEnd(4)
      out(
        `  ${pos} ${time(entry.occurredAt)}  ${c.cyan(`Article.${entry.action} v${entry.version}`)}  by ${await actor(entry)}${meta}`,
      )
      for (const [key, change] of Object.entries(entry.changes)) {
        if (key === 'createdAt' || key === 'updatedAt') continue
        out(`         ${key.padEnd(9)}  ${show(change.from)} → ${show(change.to)}`)
      }
    }
    const archived = history.find((h) => h.action === 'archive')!
    const then = await app.stateAt(Article, scenario.article.id, { at: archived.occurredAt })
    const now = await app.get(Article, scenario.article.id)
    out('')
    out(
      `  The article as it was when Ada archived it, rebuilt from the log (stateAt { at: '${archived.occurredAt}' }):`,
    )
    const compare = (['title', 'status', 'deletedAt'] as const).map((k) => [
      k,
      show(then?.[k]),
      show(now?.[k]),
    ])
    for (const line of table(['FIELD', `AT ${time(archived.occurredAt).slice(11)}`, 'NOW'], compare, width))
      out(line)

    section('4. Replay: clear the tables and rebuild them from the log')
    const before = JSON.stringify(
      await Promise.all(TABLES.map((t) => rows(`SELECT * FROM ${t} ORDER BY id`))),
    )
    const result = await app.replay({
      batchSize: 5,
      onProgress: (p) => (write ? write(`\r  ${progressBar(p)}`) : out(`  ${progressBar(p)}`)),
    })
    if (write) write('\n')
    out(c.green(`  Replayed ${result.eventsApplied} events in ${result.durationMs.toFixed(0)} ms`))
    const counts = Object.entries(result.counts).map(([action, n]) => [action, String(n)])
    for (const line of table(['ACTION', 'RUN'], counts, width)) out(line)
    const memberships = Number((await rows('SELECT count(*) AS n FROM memberships'))[0]!.n)
    out(
      `  The v1 events went to User.createV1 (the replay override); hooks did not run again: ${memberships} memberships, no duplicates.`,
    )
    const after = JSON.stringify(await Promise.all(TABLES.map((t) => rows(`SELECT * FROM ${t} ORDER BY id`))))
    out(
      after === before
        ? c.green(
            `  ✓ Every row of ${TABLES.join(', ')} is identical to before the replay, hashed passwords included.`,
          )
        : c.red('  ✗ The tables differ from before the replay.'),
    )

    section('5. Verification (replay in a rolled-back transaction, compare every tracked table)')
    const verify = await app.verifyReplay()
    out(
      verify.ok
        ? c.green(
            `  ✓ verifyReplay: replaying ${verify.replay.eventsApplied} events reproduces the live tables exactly`,
          )
        : c.red(`  ✗ verifyReplay found differences: ${JSON.stringify(verify.differences)}`),
    )

    section('Next')
    const config = 'examples/accounts/rewind.config.ts'
    const env = dataDir && dataDir !== '.rewind-data' ? `REWIND_DATA_DIR=${dataDir} ` : ''
    if (dataDir) {
      out('  Explore this database with the CLI:')
      out(`    ${env}npm run rewind -- events --config ${config}`)
      out(`    ${env}npm run rewind -- history User ${scenario.ada.id} --config ${config}`)
      out(`    ${env}npm run rewind -- verify --config ${config}`)
      out('  Or in the browser (it prints the address to open, with its access token; Ctrl-C stops it):')
      out(`    ${env}npm run rewind -- studio --config ${config}`)
      out(`  The article's timeline is then at /records/Article/${scenario.article.id}`)
    } else {
      out('  Keep the database and explore it with the CLI, or in the browser with the studio:')
      out('    npm run demo -- --data-dir .rewind-data')
      out(`    npm run rewind -- events --config ${config}`)
      out(`    npm run rewind -- studio --config ${config}     # prints the address to open, with its token`)
    }
  } finally {
    await app.close()
    await client.close()
  }
}

/** The fields an event set, `key=value`: sensitive ones masked, references last, ids and timestamps left out. */
function fields(app: Awaited<ReturnType<typeof createApp>>, e: RewindEvent): string {
  const sensitive = app.resources.get(e.resource)?.sensitive ?? new Set<string>()
  const isReference = (v: unknown) => typeof v === 'string' && show(v) !== JSON.stringify(v)
  return Object.entries({ ...e.data, ...e.changedAttributes })
    .filter(([k]) => !NOISE.has(k))
    .sort(([, a], [, b]) => Number(isReference(a)) - Number(isReference(b)))
    .map(([k, v]) => `${k}=${sensitive.has(k) ? '•••' : show(v, 24)}`)
    .join(' ')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const usage = 'usage: npx tsx examples/accounts/demo.ts [--data-dir DIR]'
  let dataDir: string | undefined
  try {
    const { values } = parseArgs({
      options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    })
    if (values.help) {
      console.log(usage)
      process.exit(0)
    }
    dataDir = values['data-dir']
  } catch (error) {
    console.error(`${(error as Error).message.split('. ')[0]}\n${usage}`)
    process.exit(2)
  }
  const tty = process.stdout.isTTY === true
  await runDemo({
    out: (line) => console.log(line),
    color: tty && !process.env.NO_COLOR,
    ...(tty ? { write: (text: string) => process.stdout.write(text), width: process.stdout.columns } : {}),
    ...(dataDir ? { dataDir } : {}),
  })
}
