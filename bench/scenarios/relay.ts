import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { defineSubscription } from '../../src/index.js'
import { natsRelay } from '../../src/relay/index.js'
import { Item } from '../domain.js'
import { type BackendName, COMPILED, type Metric, openDb, openWithConsumers, slope } from '../lib.js'
import { startNats } from '../nats.js'

const CHILD = fileURLToPath(new URL(`../relay-child.${COMPILED ? 'js' : 'ts'}`, import.meta.url))
const RELAY = 'bench_relay'

/** A Rewind instance of the bench's domain with a relay to `stream` registered. */
export async function openRelay(db: unknown, servers: string, stream: string) {
  const relay = natsRelay({
    name: RELAY,
    servers,
    stream,
    prefix: stream.toLowerCase(),
  })
  return { rewind: await openWithConsumers(db, [relay]), relay }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The NATS relay (`rewind-es/relay`), against a nats-server of the bench's own (JetStream, file storage):
 * throughput publishing a log written beforehand (100,000 events; 20,000 with --quick), every event
 * acknowledged by JetStream before the checkpoint moves; then 8 writers for 60 s (15 s) while the relay
 * follows (on PostgreSQL in a process of its own; on PGlite beside the writers): the writers' rate and the
 * relay's lag sampled every second, its growth as a least-squares slope past the first quarter.
 */
export async function relayBench(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const metrics: Metric[] = []
  const nats = await startNats()
  try {
    const logSize = quick ? 20_000 : 100_000
    // ── throughput over a standing log ──────────────────────────────────────────────────────────────
    {
      const b = await openDb(backend, 8)
      const { rewind, relay } = await openRelay(b.db, nats.url, 'BENCH_STANDING')
      for (let done = 0; done < logSize; done += 1000) {
        await rewind.bulkCreate(
          Item,
          'create',
          Array.from({ length: 1000 }, (_, i) => ({ name: `standing-${done + i}` })),
        )
      }
      const [row] = await rewind.database.query(`SELECT max(position)::text AS p FROM events`)
      const last = Number(row?.p)
      const t = performance.now()
      await rewind.consumers.start({ pollMs: 100 })
      while ((relay.stats().lastPosition ?? 0) < last) await sleep(5)
      const rate = (relay.stats().published * 1000) / (performance.now() - t)
      metrics.push({
        name: 'relay.publish_events_per_s',
        backend,
        value: rate,
        unit: 'events/s',
        target: 20_000,
        direction: 'min',
      })
      await rewind.close()
      // The ceiling on this machine, in the same run: a subscription reading the same log in batches of the
      // relay's size and making each event's JSON body, with no broker. The relay cannot publish faster than
      // its process reads the log (on PGlite the database itself shares that thread).
      const read = defineSubscription('bench_read', {
        start: 'beginning',
        batchSize: 1000,
        handleBatch: (batch) => {
          for (const e of batch) JSON.stringify(e)
        },
      })
      const reader = await openWithConsumers(b.db, [read])
      const t2 = performance.now()
      await reader.consumers.start({ pollMs: 100 })
      await reader.consumers.catchUp({ timeoutMs: 600_000 })
      const readRate = (logSize * 1000) / (performance.now() - t2)
      metrics.push(
        { name: 'relay.read_ceiling_events_per_s', backend, value: readRate, unit: 'events/s', target: null },
        {
          name: 'relay.publish_vs_read_ceiling',
          backend,
          value: rate / readRate,
          unit: 'ratio',
          target: null,
        },
      )
      await reader.close()
      await b.close()
    }
    // ── 8 writers, the relay following ──────────────────────────────────────────────────────────────
    {
      const b = await openDb(backend, 8)
      const { rewind: writer } = await openRelay(b.db, nats.url, 'BENCH_LIVE')
      const shared = await writer.bulkCreate(
        Item,
        'create',
        Array.from({ length: 64 }, (_, i) => ({ name: `shared-${i}` })),
      )
      let stopRelay: () => Promise<void>
      if (backend === 'postgres') {
        const child = spawn(
          process.execPath,
          [...(COMPILED ? [] : ['--import', 'tsx']), CHILD, b.url!, nats.url, 'BENCH_LIVE'],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        )
        let out = ''
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
        })
        while (!out.includes('ready\n')) await sleep(20)
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        stopRelay = async () => {
          child.kill('SIGTERM')
          await exited
        }
      } else {
        await writer.consumers.start({ pollMs: 1000 })
        stopRelay = () => writer.consumers.stop()
      }
      const position = async () => {
        const [r] = await writer.database.query(
          `SELECT position::text AS p FROM rewind_consumers WHERE name = $1`,
          [RELAY],
        )
        return Number(r?.p ?? 0)
      }
      const end = async () => {
        const [r] = await writer.database.query(`SELECT coalesce(max(position), 0)::text AS p FROM events`)
        return Number(r?.p ?? 0)
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
          const e = await end()
          const c = await position()
          samples.push([(performance.now() - started) / 1000, Math.max(0, e - c)])
        }
      })()
      let serial = 0
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; writing; i++) {
            const name = `live-${w}-${serial++}`
            if (i % 4 === 0) await writer.run(Item, 'create', { name })
            else await writer.run(Item, 'rename', { name }, { id: shared[(w * 13 + i * 7) % 64]!.id })
            actions++
            if (performance.now() - started > seconds * 1000) writing = false
          }
        }),
      )
      const elapsed = (performance.now() - started) / 1000
      await sampler
      while ((await position()) < (await end())) await sleep(20)
      await stopRelay()
      metrics.push(
        {
          name: 'relay.writers8_actions_per_s',
          backend,
          value: actions / elapsed,
          unit: 'actions/s',
          target: null,
        },
        {
          name: 'relay.lag_slope_events_per_s',
          backend,
          value: slope(samples.filter(([t]) => t > seconds / 4)),
          unit: 'events/s',
          target: 1,
          direction: 'max',
        },
        {
          name: 'relay.lag_end_events',
          backend,
          value: samples.at(-1)?.[1] ?? 0,
          unit: 'events',
          target: null,
        },
        {
          name: 'relay.lag_max_events',
          backend,
          value: Math.max(0, ...samples.map(([, l]) => l)),
          unit: 'events',
          target: null,
        },
      )
      await writer.close()
      await b.close()
    }
  } finally {
    await nats.stop()
  }
  return metrics
}
