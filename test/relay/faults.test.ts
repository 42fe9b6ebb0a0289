import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, type RewindEvent } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { type Child, killChildren, startChild as start } from '../support/children.js'
import { events, resources } from '../support/consumer-domain.js'
import { NatsServer } from '../support/nats-server.js'
import { until } from '../support/until.js'
import { wholeLog } from '../support/whole-log.js'
import { faultRelay } from './relay-process.js'
import { readStream, type StreamMessage } from './stream.js'

const STRESS = process.env.STRESS === '1'
const WRITER = fileURLToPath(new URL('../consumers/writer.ts', import.meta.url))
const RELAY = fileURLToPath(new URL('./relay-process.ts', import.meta.url))
const postgres = backends.filter((b) => b.name === 'postgres')

let nats: NatsServer
beforeAll(async () => {
  nats = await NatsServer.create()
})
afterAll(async () => {
  await nats?.destroy()
})
afterEach(killChildren)

/** The stream equals the log exactly: count, ids in position order (so each record's order), bodies. */
function expectStreamIsLog(messages: readonly StreamMessage[], log: readonly RewindEvent[]) {
  expect(messages.length).toBe(log.length)
  expect(messages.map((m) => m.headers['Nats-Msg-Id'])).toEqual(log.map((e) => String(e.id)))
  expect(messages.map((m) => Number(m.headers['Rewind-Position']))).toEqual(log.map((e) => e.position))
  expect(new Set(messages.map((m) => m.headers['Nats-Msg-Id'])).size).toBe(log.length)
  const byRecord = (list: readonly { record: string; id: string }[]) => {
    const out = new Map<string, string[]>()
    for (const { record, id } of list) out.set(record, [...(out.get(record) ?? []), id])
    return out
  }
  expect(
    byRecord(
      messages.map((m) => ({ record: m.headers['Rewind-Record-Id']!, id: m.headers['Nats-Msg-Id']! })),
    ),
  ).toEqual(byRecord(log.map((e) => ({ record: e.recordId, id: String(e.id) }))))
  expect(messages.map((m) => (JSON.parse(m.body) as RewindEvent).id)).toEqual(log.map((e) => e.id))
}

describe.each(postgres)('relay faults on $name', (backend) => {
  it('4 writers, the relay killed with SIGKILL 20+ times and the NATS server restarted once: the stream holds every event exactly once, in order', async () => {
    const tdb = await backend.create()
    const stream = 'FAULTS'
    const relay = faultRelay(nats.url, stream)
    const rewind = await createRewind({
      db: tdb.db,
      resources,
      eventLog: { table: events, actors: { systemActor: () => 'test' } },
      consumers: [relay],
      createTables: true,
    })
    try {
      const kills = STRESS ? 60 : 20
      const env = {
        DATABASE_URL: tdb.url!,
        NATS_URL: nats.url,
        STREAM: stream,
        LEASE_MS: '1000',
        RELAY_PROCESS: '1',
      }
      const writers = Array.from({ length: 4 }, (_, i) =>
        start(WRITER, { DATABASE_URL: tdb.url!, SEED: String(200 + i), COUNT: '0', PAUSE_MS: '5' }),
      )
      let child: Child = start(RELAY, env)
      let killed = 0
      let restarted = false
      while (killed < kills) {
        await until(() => child.lines.includes('started'))
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 800))
        if (!restarted && killed === Math.floor(kills / 2)) {
          // The server goes away under the running relay and comes back with its store.
          await nats.restart()
          restarted = true
          await new Promise((r) => setTimeout(r, 300))
        }
        child.proc.kill('SIGKILL')
        await child.exited
        killed++
        child = start(RELAY, env)
      }
      for (const w of writers) w.proc.kill('SIGTERM')
      expect(await Promise.all(writers.map((w) => w.exited))).toEqual([0, 0, 0, 0])
      const written = writers.reduce((n, w) => n + (JSON.parse(w.lines.at(-1)!) as { done: number }).done, 0)
      expect(written).toBeGreaterThan(200)
      await rewind.consumers.catchUp({ timeoutMs: 300_000 })
      child.proc.kill('SIGKILL')
      const log = await wholeLog(rewind)
      expect(log.length).toBe(written)
      const messages = await readStream(nats.url, stream)
      expectStreamIsLog(messages, log)
      console.log(`relay faults: ${written} events, ${killed} kills, server restarted once`)
    } finally {
      await rewind.close()
      await tdb.close()
    }
  }, 600_000)
})

describe('relay faults on an embedded PGlite process', () => {
  it('an app process (writer and relay) killed with SIGKILL again and again, the server restarted once: reopened, the stream equals the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewind-relay-'))
    const stream = 'PGFAULTS'
    try {
      const rounds = STRESS ? 15 : 6
      for (let round = 0; round < rounds; round++) {
        const app = start(RELAY, {
          PGLITE_DIR: dir,
          NATS_URL: nats.url,
          STREAM: stream,
          SEED: String(round + 1),
          RELAY_PROCESS: '1',
        })
        await until(() => app.lines.includes('started'))
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700))
        if (round === 2) await nats.restart()
        app.proc.kill('SIGKILL')
        await app.exited
      }
      const client = new PGlite(dir)
      const rewind = await createRewind({
        db: drizzle({ client }),
        resources,
        eventLog: { table: events, actors: { systemActor: () => 'test' } },
        consumers: [faultRelay(nats.url, stream)],
      })
      try {
        await rewind.consumers.start({ pollMs: 50 })
        await rewind.consumers.catchUp({ timeoutMs: 300_000 })
        const log = await wholeLog(rewind)
        expect(log.length).toBeGreaterThan(rounds)
        expectStreamIsLog(await readStream(nats.url, stream), log)
      } finally {
        await rewind.close()
        await client.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 600_000)
})
