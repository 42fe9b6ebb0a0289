import { writeFileSync } from 'node:fs'
import { createStudio } from '../../src/studio/app.js'
import { type BackendName, BENCH_DIR, type Metric, median, openDb, openRewind } from '../lib.js'
import { appendGroups, appendHotRecord } from './log.js'
import { settle } from './log-scale.js'

const TOKEN = 'bench-token-bench-token'

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

/**
 * The studio's server time on a large log (1,000,000 events; 100,000 with --quick): each request handled
 * through the Hono app (`fetch`, no network), from the request to the last byte of the page. The log page
 * unfiltered and filtered, a record's timeline and its state just after an event; the overview for reference.
 * Every statement a measured page sends is EXPLAINed on the large log: the run fails if one scans the event
 * table sequentially, and the plans are written to bench/results/studio-plans.txt.
 */
export async function studioPages(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const size = quick ? 100_000 : 1_000_000
  const b = await openDb(backend, 2)
  const rewind = await openRewind(b.db)
  const metrics: Metric[] = []
  try {
    await appendHotRecord(rewind, 1000)
    await appendGroups(rewind, 1, 1 + (size - 1000) / 10)
    await settle(rewind)
    const one = async (sql: string, params: string[] = []) => (await rewind.database.query(sql, params))[0]!
    const hot = (await one("SELECT md5('hot')::uuid::text AS id")).id!
    const mid = Math.floor(size / 20)
    const item = (await one(`SELECT md5('i' || $1::int)::uuid::text AS id`, [String(mid)])).id!
    const itemEvents = await rewind.database.query(
      "SELECT id::text AS id FROM events WHERE resource = 'Item' AND record_id = $1 ORDER BY position",
      [item],
    )
    const hotMiddle = (
      await one(
        "SELECT id::text AS id FROM events WHERE resource = 'Item' AND record_id = $1 ORDER BY position OFFSET 499 LIMIT 1",
        [hot],
      )
    ).id!
    const studio = createStudio(rewind, { token: TOKEN })
    const pages: [name: string, path: string, target: number | null][] = [
      ['log.unfiltered', '/log', 50],
      ['log.resource_actor', '/log?resource=Item&actorColumn=systemActor&actor=ops', 50],
      ['log.time_range', '/log?from=2026-01-01T00:00:30Z&to=2026-01-01T00:00:31Z', 50],
      ['log.time_from', '/log?from=2026-01-01T00:00:05Z', null],
      ['log.action', '/log?action=archive', null],
      ['log.older_page', `/log?before=${Math.floor(size / 2)}`, null],
      ['record.timeline', `/records/Item/${item}`, 50],
      ['record.state_at_event', `/records/Item/${item}?at=${itemEvents[2]!.id}`, 50],
      ['record.timeline_1000_events', `/records/Item/${hot}`, 50],
      ['record.state_at_event_1000_events', `/records/Item/${hot}?at=${hotMiddle}`, 50],
    ]
    const get = async (path: string) => {
      const response = await studio.fetch(
        new Request(`http://127.0.0.1${path}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      )
      const body = await response.text()
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body.slice(0, 300)}`)
      return body
    }
    // The plans of what each page sends, on this log: every statement, whether the library's own reads send it
    // (queryText) or the studio's (in a transaction of their own, after SET LOCAL).
    type Params = readonly (string | null)[] | undefined
    const database = rewind.database
    const plans: string[] = []
    let seen: [string, Params][] | undefined
    const record = (text: string, params: Params) => {
      if (seen && !/^SET LOCAL/.test(text)) seen.push([text, params])
    }
    const queryText = database.queryText.bind(database)
    const transaction = database.transaction.bind(database)
    database.queryText = (text, params) => {
      record(text, params)
      return queryText(text, params)
    }
    database.transaction = (fn) =>
      transaction((client) =>
        fn({
          ...client,
          query: (text, params) => {
            record(text, params)
            return client.query(text, params)
          },
          queryText: (text, params) => {
            record(text, params)
            return client.queryText(text, params)
          },
        }),
      )
    for (const [name, path] of pages) {
      seen = []
      await get(path)
      const statements = seen
      seen = undefined
      for (const [text, params] of statements) {
        if (/pg_current_snapshot\(\)::text AS snapshot$/.test(text.trim())) continue
        const plan = (await database.query(`EXPLAIN ${text}`, params as (string | null)[]))
          .map((r) => Object.values(r)[0])
          .join('\n')
        plans.push(`-- ${name} (${path})\n${text}\n${plan}\n`)
        if (/Seq Scan on events/.test(plan))
          throw new Error(`${name}: a sequential scan of the log:\n${text}\n${plan}`)
      }
    }
    database.queryText = queryText
    database.transaction = transaction
    writeFileSync(new URL(`./results/studio-plans-${backend}.txt`, BENCH_DIR), plans.join('\n'))

    const runs = quick ? 15 : 31
    for (const [name, path, target] of pages) {
      await get(path)
      const times: number[] = []
      for (let i = 0; i < runs; i++) {
        const t = performance.now()
        await get(path)
        times.push(performance.now() - t)
      }
      const p50 = median(times)
      metrics.push({
        name: `studio.${name}.ms_p50`,
        backend,
        value: p50,
        unit: 'ms',
        target,
        direction: 'max',
      })
      metrics.push({
        name: `studio.${name}.ms_p99`,
        backend,
        value: quantile(times, 0.99),
        unit: 'ms',
        target: null,
      })
    }
    // The overview counts the whole log on its first visit, then only what committed since.
    const t = performance.now()
    await get('/overview')
    metrics.push({
      name: 'studio.overview.first_ms',
      backend,
      value: performance.now() - t,
      unit: 'ms',
      target: null,
    })
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const s = performance.now()
      await get('/overview')
      times.push(performance.now() - s)
    }
    metrics.push({ name: 'studio.overview.ms_p50', backend, value: median(times), unit: 'ms', target: null })
    await studio.close()
    return metrics
  } finally {
    await rewind.close()
    await b.close()
  }
}
