import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, createTableStatements, type Rewind, type RewindEvent } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { killChildren, startChild as start } from '../support/children.js'
import { applied, events, foldItems, resources } from '../support/consumer-domain.js'
import { until } from '../support/until.js'
import { wholeLog } from '../support/whole-log.js'
import { testConsumers } from './consumer-process.js'
import { pgliteConsumers } from './pglite-process.js'

const STRESS = process.env.STRESS === '1'
const WRITER = fileURLToPath(new URL('./writer.ts', import.meta.url))
const CONSUMER = fileURLToPath(new URL('./consumer-process.ts', import.meta.url))
const PGLITE_APP = fileURLToPath(new URL('./pglite-process.ts', import.meta.url))
const postgres = backends.filter((b) => b.name === 'postgres')
const TIMEOUT = STRESS ? 1_800_000 : 600_000

afterEach(killChildren)

describe.each(postgres)('consumer processes on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof resources>

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources,
      eventLog: { table: events, actors: { systemActor: () => 'test' } },
      consumers: testConsumers(),
      createTables: true,
    })
    for (const s of createTableStatements([applied])) await rewind.database.query(s)
    await rewind.database.query(
      `CREATE TABLE deliveries (event_id text PRIMARY KEY, position int8 NOT NULL, n int4 NOT NULL)`,
    )
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it(
    '4 writers and 2 competing consumers killed with SIGKILL 20+ times: projections equal a fold of the log, each event applied once, nothing skipped, poisoned events parked',
    async () => {
      const kills = STRESS ? 60 : 20
      const env = { DATABASE_URL: tdb.url!, LEASE_MS: '1000', CONSUMER_PROCESS: '1' }
      const writers = Array.from({ length: 4 }, (_, i) =>
        start(WRITER, { DATABASE_URL: tdb.url!, SEED: String(100 + i), COUNT: '0', PAUSE_MS: '10' }),
      )
      const consumers = [start(CONSUMER, env), start(CONSUMER, env)]
      let killed = 0
      while (killed < kills) {
        // A process that runs (the lease holder or the one standing by), at a random moment of its work; the
        // one killed before starts again meanwhile.
        await until(() => consumers.some((c) => c.lines.includes('started')))
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 400))
        const alive = consumers.filter((c) => c.lines.includes('started'))
        const victim = alive[Math.floor(Math.random() * alive.length)]!
        const i = consumers.indexOf(victim)
        victim.proc.kill('SIGKILL')
        await victim.exited
        killed++
        consumers[i] = start(CONSUMER, env)
      }
      for (const w of writers) w.proc.kill('SIGTERM')
      expect(await Promise.all(writers.map((w) => w.exited))).toEqual([0, 0, 0, 0])
      const written = writers.reduce((n, w) => n + (JSON.parse(w.lines.at(-1)!) as { done: number }).done, 0)
      expect(written).toBeGreaterThan(100)
      // The survivors catch up.
      await until(async () =>
        (await rewind.consumers.status()).every((s) => s.lagEvents === 0 && s.state === 'running'),
      )
      for (const c of consumers) c.proc.kill('SIGKILL')

      const log: RewindEvent[] = []
      for (let after = 0; ; ) {
        const page = await rewind.events({ afterPosition: after, limit: 10_000 })
        log.push(...page.events)
        if (page.nextAfterPosition === undefined) break
        after = page.nextAfterPosition
      }
      expect(log.length).toBe(written)
      const q = (text: string) => rewind.database.query(text)
      // The read model equals a fold of the log computed here, independently.
      const model = new Map(
        (await q('SELECT id, name, qty::text FROM item_names')).map((r) => [
          r.id!,
          { name: r.name!, qty: Number(r.qty) },
        ]),
      )
      expect(model).toEqual(foldItems(log))
      // Poisoned creates, and every later event of their records, are parked; nothing else is.
      const poisoned = new Set(
        log.filter((e) => e.action === 'create' && e.data.name === 'poison').map((e) => e.recordId),
      )
      expect(poisoned.size).toBeGreaterThan(0)
      const parked = log.filter((e) => poisoned.has(e.recordId)).map((e) => e.position)
      const letters = await rewind.consumers.deadLetters('names')
      expect(letters.map((l) => l.position)).toEqual(parked)
      expect(letters.every((l) => l.status === 'parked')).toBe(true)
      // Exactly once: every other event applied one time, counted by the projection in its own transaction.
      const counts = async (consumer: string) =>
        (
          await rewind.database.query(
            `SELECT position::text, n::text FROM applied WHERE consumer = $1 ORDER BY applied.position`,
            [consumer],
          )
        ).map((r) => [Number(r.position), Number(r.n)])
      const names = await counts('names')
      expect(names.map(([p]) => p)).toEqual(log.map((e) => e.position).filter((p) => !parked.includes(p)))
      expect(names.filter(([, n]) => n !== 1)).toEqual([])
      const parts = await counts('parts')
      expect(parts.map(([p]) => p)).toEqual(log.map((e) => e.position))
      expect(parts.filter(([, n]) => n !== 1)).toEqual([])
      // The subscription: every event delivered at least once (a kill between the effect and the checkpoint
      // delivers again, with the same idempotency key).
      const deliveries = await q(
        'SELECT event_id, position::text, n::text FROM deliveries ORDER BY deliveries.position',
      )
      expect(deliveries.map((d) => Number(d.position))).toEqual(log.map((e) => e.position))
      expect(deliveries.map((d) => d.event_id)).toEqual(log.map((e) => String(e.id)))
      expect(deliveries.every((d) => Number(d.n) >= 1)).toBe(true)
      console.log(
        `consumer processes: ${written} events, ${killed} kills, ${deliveries.filter((d) => Number(d.n) > 1).length} redelivered, ${parked.length} parked`,
      )
    },
    TIMEOUT,
  )
})

describe('consumers in an embedded PGlite process', () => {
  it(
    'an app process (writers and consumers) killed with SIGKILL again and again: reopened, the projections equal a fold of the log, each event applied once',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rewind-consumers-'))
      try {
        const rounds = STRESS ? 15 : 5
        for (let round = 0; round < rounds; round++) {
          const app = start(PGLITE_APP, { PGLITE_DIR: dir, SEED: String(round + 1), PGLITE_PROCESS: '1' })
          await until(() => app.lines.includes('started'))
          await new Promise((r) => setTimeout(r, 200 + Math.random() * 600))
          app.proc.kill('SIGKILL')
          await app.exited
        }
        const client = new PGlite(dir)
        const rewind = await createRewind({
          db: drizzle({ client }),
          resources,
          eventLog: { table: events, actors: { systemActor: () => 'test' } },
          consumers: pgliteConsumers(),
        })
        try {
          await rewind.consumers.start({ pollMs: 50 })
          await rewind.consumers.catchUp({ timeoutMs: 300_000 })
          const log = await wholeLog(rewind)
          expect(log.length).toBeGreaterThan(rounds)
          const model = new Map(
            (await rewind.database.query('SELECT id, name, qty::text FROM item_names')).map((r) => [
              r.id!,
              { name: r.name!, qty: Number(r.qty) },
            ]),
          )
          expect(model).toEqual(foldItems(log))
          const poisoned = new Set(
            log.filter((e) => e.action === 'create' && e.data.name === 'poison').map((e) => e.recordId),
          )
          const parked = log.filter((e) => poisoned.has(e.recordId)).map((e) => e.position)
          expect((await rewind.consumers.deadLetters('names')).map((l) => l.position)).toEqual(parked)
          for (const [name, expected] of [
            ['names', log.map((e) => e.position).filter((p) => !parked.includes(p))],
            ['parts', log.map((e) => e.position)],
          ] as const) {
            const counts = (
              await rewind.database.query(
                'SELECT position::text, n::text FROM applied WHERE consumer = $1 ORDER BY applied.position',
                [name],
              )
            ).map((r) => [Number(r.position), Number(r.n)])
            expect(counts.map(([p]) => p)).toEqual(expected)
            expect(counts.filter(([, n]) => n !== 1)).toEqual([])
          }
        } finally {
          await rewind.close()
          await client.close()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    TIMEOUT,
  )
})
