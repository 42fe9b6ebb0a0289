import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, isRewindError, type Ordering, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { Account, events, loggedResources } from '../support/logged-domain.js'

const KEY = Buffer.alloc(32, 4).toString('base64')

describe.each(backends)('event order under concurrent writers on $name', (backend) => {
  let tdb: TestDatabase
  let pool: pg.Pool | undefined

  beforeAll(async () => {
    tdb = await backend.create()
    if (tdb.url) {
      pool = new pg.Pool({ connectionString: tdb.url, max: 16 })
      // An idle pooled connection the server closes emits 'error' on the pool; as in any app, the pool needs a
      // listener or that error would crash the process. Errors of the actions themselves reach their callers.
      pool.on('error', () => {})
    }
  })
  afterAll(async () => {
    await pool?.end()
    await tdb?.close()
  })

  const open = async (ordering: Ordering) => {
    const rewind = await createRewind({
      // On PostgreSQL, 16 connections so that writers really run at the same time.
      db: pool ? drizzle({ client: pool }) : tdb.db,
      resources: loggedResources,
      eventLog: {
        table: events,
        actors: { userId: () => undefined, systemActor: () => 'w' },
        ordering,
        encryption: { current: 'k', keys: { k: KEY } },
      },
      createTables: true,
    })
    await rewind.database.query('DROP TABLE events CASCADE')
    await rewind.database.query('TRUNCATE notes, accounts, mirrors CASCADE')
    await rewind.createTables()
    return rewind
  }

  /** Registers `count` accounts (emails `<prefix><i>@example.com`) in one bulk action. */
  const register = (rewind: Rewind<typeof loggedResources>, count: number, prefix: string) =>
    rewind.bulkCreate(
      Account,
      'register',
      Array.from({ length: count }, (_, i) => ({
        email: `${prefix}${i}@example.com`,
        password: 'pw-secret',
      })),
    )

  /** 16 writers bump 10 shared records; every bump reads `seq` and writes seq + 1. */
  const hammer = async (rewind: Rewind<typeof loggedResources>) => {
    const accounts = await register(rewind, 10, 'c')
    const successes = new Map<string, number>()
    let i = 0
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let n = 0; n < 25; n++) {
          const target = accounts[(w * 7 + n * 3 + i++) % accounts.length]!
          try {
            await rewind.run(Account, 'bump', {}, { id: target.id })
            successes.set(target.id, (successes.get(target.id) ?? 0) + 1)
          } catch (error) {
            if (!isRewindError(error)) throw error
            throw new Error(`a bump failed: ${error.message}`)
          }
        }
      }),
    )
    return { accounts, successes }
  }

  const assertExact = async (rewind: Rewind<typeof loggedResources>, successes: Map<string, number>) => {
    let total = 0
    for (const [id, count] of successes) {
      const history = await rewind.events({ resource: Account, recordId: id, action: 'bump', limit: 1000 })
      // By position, the events of a record carry seq 1, 2, 3, ...: the order its changes were applied, none lost.
      expect(history.events.map((e) => e.changedAttributes.seq)).toEqual(
        Array.from({ length: count }, (_, k) => k + 1),
      )
      expect((await rewind.get(Account, id))!.seq).toBe(count)
      for (const e of history.events) expect(e.transactionId).toMatch(/^\d+$/)
      total += count
    }
    expect(total).toBe(400)
    expect((await rewind.events({ action: 'bump', limit: 10_000 })).events).toHaveLength(400)
  }

  it('row locks order each record’s events in commit order, with no global lock', async () => {
    const rewind = await open('rowLocks')
    const { successes } = await hammer(rewind)
    await assertExact(rewind, successes)
    await rewind.close()
  })

  it('a consistency check while writers run reports no finding that is not there', async () => {
    const rewind = await open('rowLocks')
    const accounts = await register(rewind, 10, 'live')
    let writing = true
    let writes = 0
    const failures: unknown[] = []
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; writing; n++) {
        try {
          if (n % 4 === 0) {
            const email = `live-${w}-${n}@example.com`
            await rewind.run(Account, 'register', { email, password: 'pw-secret' })
          } else {
            await rewind.run(Account, 'bump', {}, { id: accounts[(w + n) % accounts.length]!.id })
          }
          writes++
        } catch (error) {
          failures.push(error)
          return
        }
        // PGlite answers in microtasks: give timers their turn, as a server's request loop would.
        await new Promise((r) => setImmediate(r))
      }
    })
    try {
      for (let round = 0; round < 6; round++) {
        const report = await rewind.checkConsistency()
        expect(report.findings, `round ${round}`).toEqual([])
        // Writers go on between checks (a check holds them back only while it runs).
        const before = writes
        const until = Date.now() + 10_000
        while (writes < before + 20 && Date.now() < until) await new Promise((r) => setTimeout(r, 5))
      }
    } finally {
      writing = false
      await Promise.all(writers)
    }
    expect(failures).toEqual([])
    expect(writes).toBeGreaterThanOrEqual(100)
    expect((await rewind.checkConsistency()).findings).toEqual([])
    await rewind.close()
  })

  // PostgreSQL only: PGlite is one connection, so a read would queue behind the verification too.
  if (backend.name === 'postgres') {
    it('a verification holds writers back until it ends, and lets readers through', async () => {
      const rewind = await open('rowLocks')
      const accounts = await register(rewind, 200, 'v')
      const target = accounts[7]!
      let read: Promise<number> | undefined
      let write: Promise<number> | undefined
      const result = await rewind.verifyReplay({
        batchSize: 1,
        onProgress: () => {
          // Once, early in the verification, from other connections of the pool.
          read ??= rewind.get(Account, target.id).then(() => performance.now())
          write ??= rewind.run(Account, 'bump', {}, { id: target.id }).then(() => performance.now())
        },
      })
      const ended = performance.now()
      expect(result.ok).toBe(true)
      expect(await read!).toBeLessThan(ended)
      expect(await write!).toBeGreaterThan(ended)
      expect((await rewind.get(Account, target.id))!.seq).toBe(1)
      expect((await rewind.checkConsistency()).findings).toEqual([])
      await rewind.close()
    })
  }

  it('the advisory-lock mode is exact too, and takes the lock in the transaction of every event', async () => {
    const rewind = await open({ advisoryLock: 'global' })
    const { accounts, successes } = await hammer(rewind)
    await assertExact(rewind, successes)
    if (backend.name === 'postgres') {
      let locks: Record<string, string | null>[] = []
      await rewind.run(
        Account,
        'pausingRename',
        { name: 'locked' },
        {
          id: accounts[0]!.id,
          context: {
            pause: async (ctx: { sql(text: string): Promise<Record<string, string | null>[]> }) => {
              locks = await ctx.sql(
                "SELECT objid::text AS objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted",
              )
            },
          },
        },
      )
      expect(locks.map((l) => l.objid)).toEqual(['2147483647'])
    }
    await rewind.close()
  })
})
