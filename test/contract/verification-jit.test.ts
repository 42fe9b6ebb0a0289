import { drizzle } from 'drizzle-orm/node-postgres'
import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  change,
  createRewind,
  defineResource,
  eventLogTable,
  generateId,
  type HookContext,
  type Rewind,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'

const probes = pgTable('probes', { id: uuid('id').primaryKey(), name: text('name') })

/** A query whose plan costs more than jit_above_cost = 0: its EXPLAIN ANALYZE shows "JIT" when JIT ran. */
const COSTLY = `EXPLAIN (ANALYZE, FORMAT JSON)
  SELECT count(*) FROM probes p, generate_series(1, 2000) g WHERE p.name IS DISTINCT FROM g::text`

/** What a statement in the current transaction is planned with: the jit setting, and whether JIT compiled it. */
async function planning(sql: HookContext['sql']): Promise<{ jit: string; compiled: boolean }> {
  const [setting] = await sql("SELECT current_setting('jit') AS jit")
  const [plan] = await sql(COSTLY)
  return { jit: setting!.jit!, compiled: /"JIT"/.test(plan!['QUERY PLAN'] ?? '') }
}

const seen: { jit: string; compiled: boolean }[] = []

/** Its create's hook runs in replay (allowHooksInReplay), inside the replay's or the verification's transaction. */
const Probe = defineResource(probes, {
  name: 'Probe',
  actions: (a) => ({
    create: a.create({
      accept: ['name'],
      changes: [
        generateId(),
        change('probe', (cs) =>
          cs.beforeTransaction(async (ctx) => {
            if (ctx.replaying) seen.push(await planning(ctx.sql))
          }),
        ),
      ],
    }),
  }),
  events: { allowHooksInReplay: { create: ['probe'] } },
})

const events = eventLogTable('events')
const resources = [Probe] as const

describe.each(backends)('verification and replay never JIT-compile on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof resources>
  let pool: pg.Pool | undefined

  beforeAll(async () => {
    tdb = await backend.create()
    const setup = await createRewind({
      db: tdb.db,
      resources,
      eventLog: { table: events },
      createTables: true,
    })
    for (const name of ['a', 'b', 'c']) await setup.run(Probe, 'create', { name })
    if (backend.name === 'postgres') {
      // JIT for every statement of this database's new sessions, the default jit = on left alone.
      const database = new URL(tdb.url!).pathname.slice(1)
      await setup.database.query(`ALTER DATABASE "${database}" SET jit_above_cost = 0`)
      pool = new pg.Pool({ connectionString: tdb.url, max: 2 })
      rewind = await createRewind({ db: drizzle({ client: pool }), resources, eventLog: { table: events } })
    } else {
      // PGlite is one session, without LLVM: the setting is what the test can see.
      await setup.database.query('SET jit_above_cost = 0')
      rewind = setup
    }
  })
  afterAll(async () => {
    await rewind?.close()
    await pool?.end()
    await tdb?.close()
  })

  it('inside verifyReplay, checkConsistency and replay, jit is off', async () => {
    // Outside them the statement would be JIT-compiled (on PostgreSQL, which has LLVM): the check can fail.
    const outside = await planning((text, params) => rewind.database.query(text, params))
    expect(outside.jit).toBe('on')
    if (backend.name === 'postgres') expect(outside.compiled).toBe(true)

    seen.length = 0
    expect((await rewind.verifyReplay()).ok).toBe(true)
    expect((await rewind.checkConsistency()).findings).toEqual([])
    expect((await rewind.replay()).eventsApplied).toBe(3)
    expect(seen).toHaveLength(9)
    expect(seen).toEqual(Array(9).fill({ jit: 'off', compiled: false }))
  })
})
