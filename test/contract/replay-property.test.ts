import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, isRewindError, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { Account, events, loggedResources, Note } from '../support/logged-domain.js'

const KEY = Buffer.alloc(32, 3).toString('base64')
const RUNS = Number(process.env.PROPERTY_RUNS ?? 20)

/** One step of a random history. Targets are indexes into the records that exist when the step runs. */
type Op =
  | {
      op: 'register'
      email: number
      name: string | null
      notes: string[]
      big: bigint | null
      tags: string[] | null
    }
  | { op: 'upsert'; email: number; name: string }
  | { op: 'rename' | 'shout'; target: number; name: string }
  | { op: 'bump' | 'archive' | 'destroy'; target: number }
  | { op: 'bulkBump'; targets: number[] }
  | { op: 'note'; target: number; body: string }
  | { op: 'destroyNote'; target: number }

const text = fc.string({ maxLength: 12 }).filter((s) => s.isWellFormed() && !s.includes('\u0000'))
const registerArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('register' as const),
  email: fc.nat(8),
  name: fc.option(text, { nil: null }),
  notes: fc.array(text, { maxLength: 2 }),
  big: fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: null }),
  tags: fc.option(fc.array(text, { maxLength: 3 }), { nil: null }),
})
const opArb: fc.Arbitrary<Op> = fc.oneof(
  registerArb,
  fc.record({ op: fc.constant('upsert' as const), email: fc.nat(8), name: text }),
  fc.record({ op: fc.constantFrom('rename' as const, 'shout' as const), target: fc.nat(), name: text }),
  fc.record({
    op: fc.constantFrom('bump' as const, 'archive' as const, 'destroy' as const),
    target: fc.nat(),
  }),
  fc.record({
    op: fc.constant('bulkBump' as const),
    targets: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ op: fc.constant('note' as const), target: fc.nat(), body: text }),
  fc.record({ op: fc.constant('destroyNote' as const), target: fc.nat() }),
)

/** A random history: a registration, then up to `max - 1` random steps (at least two). */
const historyArb = (max: number) =>
  fc
    .tuple(registerArb, fc.array(opArb, { minLength: 2, maxLength: max - 1 }))
    .map(([first, rest]) => [first, ...rest])

describe.each(backends)('replay property on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof loggedResources>

  const snapshot = async () => ({
    accounts: await rewind.database.query('SELECT * FROM accounts ORDER BY id'),
    notes: await rewind.database.query('SELECT * FROM notes ORDER BY id'),
  })
  const reset = async () => {
    await rewind.database.query('DROP TABLE IF EXISTS events CASCADE')
    await rewind.database.query('TRUNCATE notes, accounts, mirrors CASCADE')
    await rewind.createTables()
  }
  const pick = async <T>(list: T[], i: number): Promise<T | undefined> =>
    list.length ? list[i % list.length] : undefined

  /** Runs one step; a step that fails (validation, conflict, foreign key) must have written nothing. */
  const run = async (step: Op) => {
    const accounts = await rewind.list(Account)
    const notes = await rewind.list(Note)
    try {
      switch (step.op) {
        case 'register':
          await rewind.run(Account, 'register', {
            email: `u${step.email}@example.com`,
            name: step.name,
            password: 'pw-secret',
            notes: step.notes.map((body) => ({ body })),
            big: step.big,
            tags: step.tags,
          })
          break
        case 'upsert':
          await rewind.run(Account, 'upsert', { email: `u${step.email}@example.com`, name: step.name })
          break
        case 'rename':
        case 'shout': {
          const a = await pick(accounts, step.target)
          if (a) await rewind.run(Account, step.op, { name: step.name }, { id: a.id })
          break
        }
        case 'bump':
        case 'archive':
        case 'destroy': {
          const a = await pick(accounts, step.target)
          if (a) await rewind.run(Account, step.op, {}, { id: a.id })
          break
        }
        case 'bulkBump': {
          const ids = (await Promise.all(step.targets.map((t) => pick(accounts, t)))).filter(
            (a) => a !== undefined,
          )
          if (ids.length)
            await rewind.bulkUpdate(
              Account,
              'bump',
              ids.map((a) => ({ id: a.id })),
            )
          break
        }
        case 'note': {
          const a = await pick(accounts, step.target)
          if (a) await rewind.run(Note, 'create', { accountId: a.id, body: step.body })
          break
        }
        case 'destroyNote': {
          const n = await pick(notes, step.target)
          if (n) await rewind.run(Note, 'destroy', {}, { id: n.id })
          break
        }
      }
    } catch (error) {
      if (!isRewindError(error)) throw error
      expect(['CONFLICT', 'VALIDATION'], (error as Error).message).toContain(error.code)
    }
  }

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: {
        table: events,
        actors: { userId: () => undefined, systemActor: () => 'property-test' },
        encryption: { current: 'k', keys: { k: KEY } },
      },
      createTables: true,
    })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it('after any history: replay reproduces every table, stateAt(latest) equals every live row, verify finds nothing', async () => {
    let events = 0
    let rows = 0
    let bulk = 0
    await fc.assert(
      // Each history starts with a registration, so that the steps after it have a record to act on.
      fc.asyncProperty(historyArb(20), async (ops) => {
        await reset()
        for (const step of ops) await run(step)
        const live = await snapshot()
        events += (await rewind.events({ limit: 10_000 })).events.length
        rows += live.accounts.length + live.notes.length
        const later = new Date(Date.now() + 3_600_000)
        for (const a of await rewind.list(Account))
          expect(await rewind.stateAt(Account, a.id, { at: later })).toEqual(a)
        for (const n of await rewind.list(Note))
          expect(await rewind.stateAt(Note, n.id, { at: later })).toEqual(n)
        const verify = await rewind.verifyReplay()
        expect(verify.differences).toEqual([])
        const result = await rewind.replay({ batchSize: 7 })
        expect(await snapshot()).toEqual(live)
        bulk += result.batches.bulk
        await rewind.replay({ mode: 'naive' })
        expect(await snapshot()).toEqual(live)
      }),
      { numRuns: RUNS },
    )
    // The histories are not trivial: on average several events and rows per run.
    expect(events).toBeGreaterThan(RUNS * 2)
    expect(rows).toBeGreaterThan(RUNS)
    // Most batches are written in bulk; the rest fall back to one event at a time, with the same result.
    expect(bulk).toBeGreaterThan(RUNS / 2)
  })

  it('after any history and one change behind its back, verify reports exactly that change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 12 }),
        fc.nat(),
        text.filter((s) => s.length > 0),
        async (ops, which, value) => {
          await reset()
          await rewind.run(Account, 'register', {
            email: 'anchor@example.com',
            name: 'Anchor',
            password: 'pw-secret',
          })
          for (const step of ops) await run(step)
          let accounts = await rewind.list(Account)
          if (accounts.length === 0) {
            await rewind.run(Account, 'register', {
              email: 'anchor2@example.com',
              name: 'Anchor',
              password: 'pw-secret',
            })
            accounts = await rewind.list(Account)
          }
          const target = accounts[which % accounts.length]!
          const tampered = `${value}!${target.name ?? ''}`
          await rewind.database.query('UPDATE accounts SET name = $1 WHERE id = $2', [tampered, target.id])
          const verify = await rewind.verifyReplay()
          expect(verify.differences).toEqual([
            {
              resource: 'Account',
              truncated: false,
              rows: [
                {
                  id: target.id,
                  kind: 'changed',
                  columns: { name: { live: tampered, replayed: target.name } },
                },
              ],
            },
          ])
        },
      ),
      { numRuns: Math.max(5, Math.floor(RUNS / 2)) },
    )
  })
})
