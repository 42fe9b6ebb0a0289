import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, isRewindError, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { killChildren, startChild as start } from '../support/children.js'
import { Account, events, loggedResources } from '../support/logged-domain.js'
import { STARTERS_GO, WORKER_KEY } from './shared.js'

const STRESS = process.env.STRESS === '1'
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
const REPLAYER = fileURLToPath(new URL('./replayer.ts', import.meta.url))
const STARTER = fileURLToPath(new URL('./starter.ts', import.meta.url))
const postgres = backends.filter((b) => b.name === 'postgres')

afterEach(killChildren)

/** Larger runs (STRESS=1) take minutes. */
const TIMEOUT = STRESS ? 1_800_000 : 600_000

// A bound on waiting for a child process, only to catch a hang (loaded machines are slow).
const waitFor = async (check: () => boolean, ms = 180_000) => {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Polls an asynchronous condition until it holds (a bound only against a hang). */
const waitForQuery = async (check: () => Promise<boolean>, ms = 180_000) => {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const config = (db: unknown) =>
  ({
    db,
    resources: loggedResources,
    eventLog: {
      table: events,
      actors: { userId: () => undefined, systemActor: () => 'test' },
      encryption: { current: 'k', keys: { k: WORKER_KEY } },
    },
    createTables: true,
  }) as const

describe.each(postgres)('several application processes on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof loggedResources>

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind(config(tdb.db))
    await rewind.bulkCreate(
      Account,
      'register',
      Array.from({ length: 8 }, (_, i) => ({ email: `seed${i}@example.com`, password: 'pw-secret' })),
    )
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it(
    '4 application processes starting at once on an empty database all create the tables; none fails',
    async () => {
      const fresh = await backend.create()
      try {
        const gate = await (fresh.db.$client as import('pg').Pool).connect()
        await gate.query(`SELECT pg_advisory_lock(${STARTERS_GO})`)
        const starters = Array.from({ length: 4 }, () => start(STARTER, { DATABASE_URL: fresh.url! }))
        // Let them all go at once, when every one waits at the gate.
        await waitForQuery(async () => {
          const [row] = (
            await gate.query(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
              [STARTERS_GO],
            )
          ).rows
          return row.n === 4
        })
        await gate.query(`SELECT pg_advisory_unlock(${STARTERS_GO})`)
        const codes = await Promise.all(starters.map((s) => s.exited))
        gate.release()
        expect(codes).toEqual([0, 0, 0, 0])
        expect(starters.map((s) => s.lines)).toEqual([['ok'], ['ok'], ['ok'], ['ok']])
        const started = await createRewind(config(fresh.db))
        expect(await started.checkConsistency()).toMatchObject({ ok: true })
        await started.close()
      } finally {
        await fresh.close()
      }
    },
    TIMEOUT,
  )

  it(
    '4 writer processes lose no event, the log replays exactly, and a tailing reader skips nothing',
    async () => {
      const count = STRESS ? 5000 : 600
      const tail = rewind.tail()
      const seen: number[] = []
      let writing = true
      const reader = (async () => {
        while (writing) {
          for (const e of await tail.poll(500)) seen.push(e.position)
          await new Promise((r) => setTimeout(r, 5))
        }
      })()
      const workers = Array.from({ length: 4 }, (_, i) =>
        start(WORKER, {
          DATABASE_URL: tdb.url!,
          COUNT: String(count),
          SEED: String(1000 + i),
          WORKER: String(i),
        }),
      )
      const codes = await Promise.all(workers.map((w) => w.exited))
      expect(codes).toEqual([0, 0, 0, 0])
      writing = false
      await reader
      // Catch up: a gap left by a rolled-back transaction resolves once every transaction then running is done.
      for (let i = 0; i < 100; i++) {
        const more = await tail.poll(5000)
        seen.push(...more.map((e) => e.position))
        if (more.length === 0 && i > 2) break
        await new Promise((r) => setTimeout(r, 10))
      }
      const committed = workers
        .flatMap((w) => w.lines.map((l) => JSON.parse(l)))
        .filter((l) => 'ok' in l).length
      expect(committed).toBe(count * 4)
      const rows = await rewind.database.query(`SELECT position, action FROM events ORDER BY position`)
      // Every committed action has exactly one event (nested note creations add their own; 8 seeds came first).
      expect(rows.filter((r) => r.action !== 'fromParent').length - 8).toBe(committed)
      expect(seen).toEqual(rows.map((r) => Number(r.position)))
      const report = await rewind.checkConsistency()
      expect(report.findings).toEqual([])
      const snapshot = async () => ({
        accounts: await rewind.database.query('SELECT * FROM accounts ORDER BY id'),
        notes: await rewind.database.query('SELECT * FROM notes ORDER BY id'),
      })
      const before = await snapshot()
      await rewind.replay()
      expect(await snapshot()).toEqual(before)
    },
    TIMEOUT,
  )

  it(
    'a writer killed with SIGKILL at random moments leaves no row without its event, nor an event without its row',
    async () => {
      const rounds = STRESS ? 40 : 5
      for (let round = 0; round < rounds; round++) {
        const w = start(WORKER, {
          DATABASE_URL: tdb.url!,
          COUNT: '0',
          SEED: String(round + 7),
          WORKER: `k${round}`,
        })
        await waitFor(() => w.lines.length > 3 + Math.floor(Math.random() * 20))
        w.proc.kill('SIGKILL')
        await w.exited
        const report = await rewind.checkConsistency()
        expect(report.findings, `round ${round}`).toEqual([])
      }
    },
    TIMEOUT,
  )

  it(
    'a replay killed mid-way leaves the tables exactly as before, and a new replay completes',
    async () => {
      const before = await rewind.database.query('SELECT * FROM accounts ORDER BY id')
      const r = start(REPLAYER, { DATABASE_URL: tdb.url! })
      await waitFor(() => r.lines.some((l) => l.includes('"progress"')))
      r.proc.kill('SIGKILL')
      await r.exited
      expect(r.lines.some((l) => l.includes('"finished"'))).toBe(false)
      expect(await rewind.database.query('SELECT * FROM accounts ORDER BY id')).toEqual(before)
      const result = await rewind.replay()
      expect(result.eventsApplied).toBeGreaterThan(100)
      expect(await rewind.database.query('SELECT * FROM accounts ORDER BY id')).toEqual(before)
    },
    TIMEOUT,
  )

  it(
    'a connection terminated in the middle of an action: a clear error, nothing half-written, the next action works',
    async () => {
      const [target] = await rewind.list(Account, { limit: 1 })
      const eventsBefore = (await rewind.events({ limit: 10_000 })).events.length
      const error = await rewind
        .run(
          Account,
          'pausingRename',
          { name: 'never committed' },
          {
            id: target!.id,
            context: {
              // After the row and its event are written, another connection kills this action's backend.
              pause: async (ctx: { sql(text: string): Promise<Record<string, string | null>[]> }) => {
                const [row] = await ctx.sql('SELECT pg_backend_pid() AS pid')
                await rewind.database.query('SELECT pg_terminate_backend($1::int)', [row!.pid!])
              },
            },
          },
        )
        .catch((e: unknown) => e)
      expect(isRewindError(error, 'DATABASE'), String(error)).toBe(true)
      expect((error as Error).message).toMatch(/Account\.pausingRename: /)
      expect((await rewind.get(Account, target!.id))!.name).toBe(target!.name)
      expect((await rewind.events({ limit: 10_000 })).events.length).toBe(eventsBefore)
      const renamed = await rewind.run(Account, 'rename', { name: 'after the outage' }, { id: target!.id })
      expect(renamed.name).toBe('after the outage')
      expect((await rewind.checkConsistency()).findings).toEqual([])
    },
    TIMEOUT,
  )
})

describe('PGlite in a data directory', () => {
  it('4 Rewind instances starting at once on one embedded database all create the tables', async () => {
    const client = new PGlite()
    try {
      const db = drizzle({ client })
      const started = await Promise.allSettled(Array.from({ length: 4 }, () => createRewind(config(db))))
      expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'])
      const rewind = (started[0] as PromiseFulfilledResult<Rewind<typeof loggedResources>>).value
      expect(await rewind.checkConsistency()).toMatchObject({ ok: true })
    } finally {
      await client.close()
    }
  })

  it(
    'a writer killed during writes: the database reopens and the check is clean',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rewind-pglite-'))
      try {
        const setup = new PGlite(dir)
        const r0 = await createRewind(config(drizzle({ client: setup })))
        await r0.run(Account, 'register', { email: 'first@example.com', password: 'pw-secret' })
        await setup.close()
        for (let round = 0; round < (STRESS ? 10 : 2); round++) {
          const w = start(WORKER, {
            PGLITE_DIR: dir,
            COUNT: '0',
            SEED: String(round + 3),
            WORKER: `p${round}`,
          })
          await waitFor(() => w.lines.length > 5 + Math.floor(Math.random() * 10))
          w.proc.kill('SIGKILL')
          await w.exited
          const client = new PGlite(dir)
          const rewind = await createRewind(config(drizzle({ client })))
          const report = await rewind.checkConsistency()
          expect(report.findings, `round ${round}`).toEqual([])
          expect(report.events).toBeGreaterThan(5)
          await client.close()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    TIMEOUT,
  )
})
