import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pgTable, text } from 'drizzle-orm/pg-core'
import { defineProjection, defineSubscription, type Rewind } from '../../src/index.js'
import { Item } from '../domain.js'
import {
  type BackendName,
  type BenchDb,
  COMPILED,
  type Metric,
  openDb,
  openWithConsumers,
  slope,
} from '../lib.js'

const CHILD = fileURLToPath(new URL(`../consumer-child.${COMPILED ? 'js' : 'ts'}`, import.meta.url))

/** Wall-clock milliseconds, comparable between processes on one machine (sub-millisecond). */
const wallMs = () => performance.timeOrigin + performance.now()

/**
 * The consumer side of the live run: the projection and a no-op subscription that notes when each event
 * reached it (keyed by record, action and name).
 */
export async function follow(db: unknown) {
  const arrivals = new Map<string, number>()
  const rewind = await open(db, [
    nameProjection('live_projection'),
    defineSubscription('live_noop', {
      batchSize: 100,
      handlers: (on) => [
        on(Item, '*', (e) => {
          arrivals.set(`${e.recordId}:${e.action}:${e.data.name}`, wallMs())
        }),
      ],
    }),
  ])
  await rewind.consumers.start({ pollMs: 1000 })
  return { arrivals, stop: () => rewind.consumers.stop() }
}

/** The projection's one table: the name of every item. */
const itemNames = pgTable('bench_item_names', { id: text('id').primaryKey(), name: text('name').notNull() })

/**
 * A projection writing one table, one statement per event. It writes with `ctx.sql`, whose statements are
 * prepared once per connection (a Drizzle query builds and plans its statement on every call: about half the
 * rate).
 */
const nameProjection = (name: string) =>
  defineProjection(name, {
    tables: [itemNames],
    batchSize: 500,
    handlers: (on) => [
      on(Item, ['create', 'rename'], async (e, { sql }) => {
        await sql(
          `INSERT INTO bench_item_names (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
          [e.recordId, e.data.name],
        )
      }),
      on(Item, 'destroy', async (e, { sql }) => {
        await sql(`DELETE FROM bench_item_names WHERE id = $1`, [e.recordId])
      }),
    ],
  })

/** The same read model written a batch at a time: one statement per batch (`handleBatch`). */
const batchProjection = (name: string) =>
  defineProjection(name, {
    tables: [itemNames],
    batchSize: 500,
    filter: { resources: [Item] },
    handleBatch: async (events, { sql }) => {
      const names = new Map<string, string | null>()
      for (const e of events) {
        if (e.action === 'destroy') names.set(e.recordId, null)
        else if (e.action === 'create' || e.action === 'rename') names.set(e.recordId, String(e.data.name))
      }
      const live = [...names].filter(([, n]) => n !== null)
      const gone = [...names].filter(([, n]) => n === null).map(([id]) => id)
      const array = (values: readonly string[]) =>
        `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`
      if (live.length > 0) {
        await sql(
          `INSERT INTO bench_item_names (id, name) SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`,
          [array(live.map(([id]) => id)), array(live.map(([, n]) => n!))],
        )
      }
      if (gone.length > 0) await sql(`DELETE FROM bench_item_names WHERE id = ANY($1::text[])`, [array(gone)])
    },
  })

const open = openWithConsumers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function checkpoint(rewind: Rewind, name: string): Promise<number> {
  const [r] = await rewind.database.query(
    `SELECT position::text AS p FROM rewind_consumers WHERE name = $1`,
    [name],
  )
  return Number(r?.p ?? 0)
}
async function end(rewind: Rewind): Promise<number> {
  const [r] = await rewind.database.query(`SELECT coalesce(max(position), 0)::text AS p FROM events`)
  return Number(r?.p ?? 0)
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!
}

/**
 * Consumers (`src/consumers`): throughput over a log written beforehand (a no-op subscription, and a
 * projection writing one table), then 8 writers running for 60 s (15 s with --quick) while the projection and
 * a no-op subscription follow the log (on PostgreSQL in a process of their own, as another app instance; on
 * PGlite beside the writers): the writers' action rate, the projection's lag over the run (sampled every
 * second; its growth as a least-squares slope past the first quarter), and the latency from a writer's
 * commit (the moment `rewind.run` resolves) to the subscription's handler.
 */
export async function consumers(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const metrics: Metric[] = []
  const logSize = quick ? 20_000 : 100_000
  let projectionRate = 0
  let batchRate = 0

  // ── throughput over a standing log ──────────────────────────────────────────────────────────────────
  {
    const b = await openDb(backend, 8)
    const writer = await open(b.db)
    for (let done = 0; done < logSize; done += 1000) {
      await writer.bulkCreate(
        Item,
        'create',
        Array.from({ length: 1000 }, (_, i) => ({ name: `standing-${done + i}` })),
      )
    }
    const last = await end(writer)
    const rates: Record<string, number> = {}
    for (const [kind, consumer] of [
      [
        'noop',
        defineSubscription('bench_noop', {
          start: 'beginning',
          batchSize: 500,
          handlers: (on) => [on(Item, '*', () => {})],
        }),
      ],
      ['projection', nameProjection('bench_projection')],
      ['batch', batchProjection('bench_batch')],
    ] as const) {
      // Each projection starts from an empty table.
      await writer.database.query('TRUNCATE bench_item_names').catch(() => {})
      const rewind = await open(b.db, [consumer])
      const t = performance.now()
      await rewind.consumers.start({ pollMs: 100 })
      while ((await checkpoint(rewind, consumer.name)) < last) await sleep(20)
      rates[kind] = (last * 1000) / (performance.now() - t)
      await rewind.consumers.stop()
    }
    metrics.push(
      { name: 'consumers.noop_events_per_s', backend, value: rates.noop!, unit: 'events/s', target: null },
      {
        name: 'consumers.projection_events_per_s',
        backend,
        value: rates.projection!,
        unit: 'events/s',
        target: null,
      },
      {
        name: 'consumers.projection_batch_events_per_s',
        backend,
        value: rates.batch!,
        unit: 'events/s',
        target: null,
      },
    )
    await b.close()
    projectionRate = rates.projection!
    batchRate = rates.batch!
  }

  // ── 8 writers, a projection and a subscription following ───────────────────────────────────────────
  {
    const b: BenchDb = await openDb(backend, 8)
    const committedAt = new Map<string, number>()
    const writerRewind = await open(b.db)
    let stopFollower: () => Promise<void>
    let resolveStopped!: () => void
    const stopped = new Promise<void>((r) => (resolveStopped = r))
    const shared = await writerRewind.bulkCreate(
      Item,
      'create',
      Array.from({ length: 64 }, (_, i) => ({ name: `shared-${i}` })),
    )
    // PostgreSQL: the consumers run in a process of their own, as another instance of the app; PGlite is
    // one process, so there they run beside the writers.
    let arrivals: Promise<Map<string, number>>
    if (backend === 'postgres') {
      const child = spawn(process.execPath, [...(COMPILED ? [] : ['--import', 'tsx']), CHILD, b.url!], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
      })
      while (!out.includes('ready\n')) await sleep(20)
      arrivals = new Promise((resolve) =>
        child.on('exit', () => {
          const line = out.split('\n').find((l) => l.startsWith('{'))!
          resolve(
            new Map(Object.entries((JSON.parse(line) as { arrivals: Record<string, number> }).arrivals)),
          )
        }),
      )
      stopFollower = async () => {
        child.kill('SIGTERM')
      }
    } else {
      const f = await follow(b.db)
      stopFollower = f.stop
      arrivals = stopped.then(() => f.arrivals)
    }
    const seconds = quick ? 15 : 60
    let writing = true
    let actions = 0
    const started = performance.now()
    const samples: [number, number][] = []
    const sampler = (async () => {
      await sleep(0)
      while (writing) {
        await sleep(1000)
        const e = await end(writerRewind)
        const c = await checkpoint(writerRewind, 'live_projection')
        samples.push([(performance.now() - started) / 1000, Math.max(0, e - c)])
      }
    })()
    let serial = 0
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; writing; i++) {
          const n = serial++
          const name = `live-${w}-${n}`
          if (i % 4 === 0) {
            const item = await writerRewind.run(Item, 'create', { name })
            committedAt.set(`${item.id}:create:${name}`, wallMs())
          } else {
            const target = shared[(w * 13 + i * 7) % shared.length]!
            await writerRewind.run(Item, 'rename', { name }, { id: target.id })
            committedAt.set(`${target.id}:rename:${name}`, wallMs())
          }
          actions++
          if (performance.now() - started > seconds * 1000) writing = false
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    await sampler
    // Let the consumers catch up before they stop, so every event's arrival is known.
    while ((await checkpoint(writerRewind, 'live_projection')) < (await end(writerRewind))) await sleep(20)
    await sleep(200)
    await stopFollower()
    resolveStopped()
    const arrived = await arrivals
    const latencies: number[] = []
    for (const [key, at] of committedAt) {
      const t = arrived.get(key)
      if (t !== undefined) latencies.push(Math.max(0, t - at))
    }
    const rate = actions / elapsed
    latencies.sort((x, y) => x - y)
    const pg = backend === 'postgres'
    metrics.push(
      { name: 'consumers.writers8_actions_per_s', backend, value: rate, unit: 'actions/s', target: null },
      {
        name: 'consumers.projection_vs_writers8',
        backend,
        value: projectionRate / rate,
        unit: 'x',
        target: 5,
        direction: 'min',
      },
      {
        name: 'consumers.projection_batch_vs_writers8',
        backend,
        value: batchRate / rate,
        unit: 'x',
        target: 5,
        direction: 'min',
      },
      {
        // Past the first quarter of the run (start-up: JIT compilation, the first plans).
        name: 'consumers.lag_slope_events_per_s',
        backend,
        value: slope(samples.filter(([t]) => t > seconds / 4)),
        unit: 'events/s',
        target: 1,
        direction: 'max',
      },
      {
        name: 'consumers.lag_end_events',
        backend,
        value: samples.at(-1)?.[1] ?? 0,
        unit: 'events',
        target: null,
      },
      {
        name: 'consumers.lag_max_events',
        backend,
        value: Math.max(0, ...samples.map(([, l]) => l)),
        unit: 'events',
        target: null,
      },
      {
        name: 'consumers.latency_ms_p50',
        backend,
        value: percentile(latencies, 0.5),
        unit: 'ms',
        target: pg ? 10 : null,
        direction: 'max',
      },
      {
        name: 'consumers.latency_ms_p99',
        backend,
        value: percentile(latencies, 0.99),
        unit: 'ms',
        target: pg ? 50 : null,
        direction: 'max',
      },
    )
    await b.close()
  }
  // ── what waking consumers costs the writers ─────────────────────────────────────────────────────
  // Interleaved rounds of 8 writers: no NOTIFY at all, the NOTIFY Rewind sends after each commit (the
  // default), and a statement trigger on the log that sends it inside the writers' transactions (the design
  // not taken: PostgreSQL serializes the commits of transactions that sent a NOTIFY).
  if (backend === 'postgres') {
    const b = await openDb(backend, 8)
    const modes = {
      none: await open(b.db, [], false),
      afterCommit: await open(b.db, [], true),
      trigger: await open(b.db, [], false),
    }
    const shared = await modes.none.bulkCreate(
      Item,
      'create',
      Array.from({ length: 64 }, (_, i) => ({ name: `notify-${i}` })),
    )
    const trigger = [
      `CREATE OR REPLACE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN PERFORM pg_notify('rewind_events', ''); RETURN NULL; END $$`,
      'CREATE TRIGGER bench_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION bench_notify()',
    ]
    const totals = { none: 0, afterCommit: 0, trigger: 0 }
    let serial = 0
    const round = async (mode: keyof typeof modes, measured: boolean) => {
      if (mode === 'trigger') for (const statement of trigger) await modes.none.database.query(statement)
      const writer = modes[mode]
      const t = performance.now()
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < (quick ? 60 : 150); i++) {
            const name = `n-${mode}-${serial++}`
            if (i % 4 === 0) await writer.run(Item, 'create', { name })
            else await writer.run(Item, 'rename', { name }, { id: shared[(w * 13 + i * 7) % 64]!.id })
          }
        }),
      )
      if (measured) totals[mode] += performance.now() - t
      if (mode === 'trigger') await modes.none.database.query('DROP TRIGGER bench_notify ON events')
    }
    for (const mode of ['none', 'afterCommit', 'trigger'] as const) await round(mode, false)
    for (let r = 0; r < (quick ? 3 : 5); r++) {
      for (const mode of ['none', 'afterCommit', 'trigger'] as const) await round(mode, true)
    }
    metrics.push(
      {
        name: 'consumers.write8_notify_after_commit_vs_none',
        backend,
        value: totals.none / totals.afterCommit,
        unit: 'x',
        target: null,
      },
      {
        name: 'consumers.write8_notify_trigger_vs_none',
        backend,
        value: totals.none / totals.trigger,
        unit: 'x',
        target: null,
      },
    )
    await b.close()
  }
  return metrics
}
