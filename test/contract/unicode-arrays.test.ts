import { char, pgTable, text, uuid, varchar } from 'drizzle-orm/pg-core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, defineResource, eventLogTable, generateId, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'

/**
 * Every text-like array type Rewind's codecs support: text[], varchar(n)[], char(n)[] and a 2-dimensional
 * text[][].
 */
const bags = pgTable('bags', {
  id: uuid('id').primaryKey(),
  tags: text('tags').array(),
  codes: varchar('codes', { length: 8 }).array(),
  grid: text('grid').array().array(),
  pads: char('pads', { length: 3 }).array(),
})

const Bag = defineResource(bags, {
  name: 'Bag',
  actions: (a) => ({
    create: a.create({ accept: ['tags', 'codes', 'grid', 'pads'], changes: [generateId()] }),
    refill: a.update({ accept: ['tags', 'codes', 'grid', 'pads'] }),
  }),
})

const events = eventLogTable('events')
const resources = [Bag] as const

/** What JavaScript's trim() strips and PostgreSQL's arrays do not (plus the characters array literals quote). */
const TRICKY = [
  ...[' ', '\t', '\n', '\r', '\v', '\f'],
  ...['\u00a0', '\u1680', '\u2000', '\u2007', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'],
  ...['\ufeff', '\u200b', '\u0085', '\u180e'],
  ...['"', '\\', ',', '{', '}', 'NULL', 'null', '[1:1]=', 'a', 'é', '🐢', '👩🏽‍💻'],
]

/** Any Unicode text but a lone surrogate or NUL, which Rewind refuses by design. */
const storable = (s: string) => s.isWellFormed() && !s.includes('\u0000')
const unicodeText = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 6 }),
  )
  .filter(storable)
const element = fc.option(unicodeText, { nil: null, freq: 6 })
/** varchar(8) counts characters (code points). */
const shortElement = fc.option(
  unicodeText.filter((s) => [...s].length <= 8),
  { nil: null, freq: 6 },
)
const grid = fc.oneof(
  fc.constant([] as (string | null)[][]),
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
    .chain(([rows, cols]) =>
      fc.array(fc.array(element, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }),
    ),
)
/** char(3): up to three characters, then any number of trailing blanks (which PostgreSQL drops to fit). */
const padElement = fc.option(
  fc
    .tuple(
      unicodeText.filter((s) => [...s].length <= 3),
      fc.integer({ min: 0, max: 3 }),
    )
    .map(([s, blanks]) => s + ' '.repeat(blanks)),
  { nil: null, freq: 6 },
)
const contents = fc.record({
  tags: fc.option(fc.array(element, { maxLength: 6 }), { nil: null }),
  codes: fc.option(fc.array(shortElement, { maxLength: 6 }), { nil: null }),
  grid: fc.option(grid, { nil: null }),
  pads: fc.option(fc.array(padElement, { maxLength: 4 }), { nil: null }),
})
/** A char(3)[] as PostgreSQL stores and prints it: each element padded with blanks to three characters. */
const padded = (c: { pads: (string | null)[] | null }) => ({
  ...c,
  pads:
    c.pads === null
      ? null
      : c.pads.map((e) => {
          if (e === null) return null
          const t = e.replace(/ +$/, '')
          return t + ' '.repeat(3 - [...t].length)
        }),
})

/** Cases per backend: enough to meet every kind of whitespace many times over. */
const RUNS = 200

describe.each(backends)('Unicode text in arrays round-trips byte for byte on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof resources>

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({ db: tdb.db, resources, eventLog: { table: events }, createTables: true })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it('through create, update, get, the event, stateAt, verifyReplay and replay', async () => {
    let cases = 0
    await fc.assert(
      fc.asyncProperty(contents, contents, async (first, second) => {
        cases++
        const created = await rewind.run(Bag, 'create', first as never)
        const { tags, codes, grid, pads } = created
        expect({ tags, codes, grid, pads }).toEqual(padded(first))
        expect(await rewind.get(Bag, created.id)).toEqual(created)

        const updated = await rewind.run(Bag, 'refill', second as never, { id: created.id })
        expect({ tags: updated.tags, codes: updated.codes, grid: updated.grid, pads: updated.pads }).toEqual(
          padded(second),
        )
        expect(await rewind.get(Bag, created.id)).toEqual(updated)

        const log = (await rewind.events({ resource: Bag, recordId: created.id })).events
        expect(log.map((e) => e.action)).toEqual(['create', 'refill'])
        // The event records the caller's values (a char(n)'s as it is stored), and the state the log gives is
        // the row.
        expect(log[0]!.data).toEqual(padded(first))
        expect(log[1]!.data).toEqual(padded(second))
        expect(await rewind.stateAt(Bag, created.id, { eventId: log[0]!.id })).toEqual(created)
        expect(await rewind.stateAt(Bag, created.id, { eventId: log[1]!.id })).toEqual(updated)
      }),
      { numRuns: RUNS },
    )
    expect(cases).toBe(RUNS)

    const live = await rewind.list(Bag)
    expect(live).toHaveLength(RUNS)
    const verify = await rewind.verifyReplay()
    expect(verify.differences).toEqual([])
    expect(verify.ok).toBe(true)
    // A replay rewrites every row from the log: nothing may change.
    await rewind.replay()
    expect(await rewind.list(Bag)).toEqual(live)
  })
})
