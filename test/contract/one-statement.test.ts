import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  char,
  customType,
  date,
  doublePrecision,
  integer,
  jsonb,
  numeric,
  pgTable,
  real,
  text,
  timestamp,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  change,
  createRewind,
  defineResource,
  eventLogTable,
  exact,
  isRewindError,
  keyRing,
  type Rewind,
  type RewindEvent,
  setAttribute,
  timestamps,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { applyBoth, type Outcome, pairedDatabases, resetBoth } from '../support/paired.js'

/**
 * The row and its event in one statement (creates, and updates and destroys that never read their record, as
 * one autocommit statement; other updates as one statement in their transaction) against the two-statement
 * path: the same random actions on two databases, one whose table has a no-op trigger of its own (which keeps
 * Rewind on two statements), must record the same events and leave the same rows. Failures write nothing.
 */

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20)
const KEY = Buffer.alloc(32, 7).toString('base64')
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string', precision: 6 })

const things = pgTable('things', {
  id: uuid('id').primaryKey(),
  code: text('code').unique(),
  label: text('label'),
  labelUpper: text('label_upper').generatedAlwaysAs(sql`upper(label)`),
  short: varchar('short', { length: 20 }),
  fixed: char('fixed', { length: 4 }),
  n: integer('n'),
  big: bigint('big', { mode: 'number' }),
  amount: numeric('amount', { precision: 12, scale: 3 }),
  free: numeric('free'),
  ratio: doublePrecision('ratio'),
  small: real('small'),
  flag: boolean('flag'),
  doc: jsonb('doc'),
  blob: bytea('blob'),
  at: ts('at'),
  local: timestamp('local', { mode: 'string', precision: 6 }),
  day: date('day', { mode: 'string' }),
  tags: text('tags').array(),
  nums: integer('nums').array(),
  status: text('status').notNull().default('new'),
  count: integer('count').notNull().default(0),
  stamp: ts('stamp').defaultNow(),
  secret: text('secret'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at'),
})

const COLUMNS = [
  'code',
  'label',
  'short',
  'fixed',
  'n',
  'big',
  'amount',
  'free',
  'ratio',
  'small',
  'flag',
  'doc',
  'blob',
  'at',
  'local',
  'day',
  'tags',
  'nums',
  'secret',
] as const
type Col = (typeof COLUMNS)[number]

/** A change that stores the code in lower case: an input the stored value differs from. */
const lowerCode = change(
  'lowerCode',
  (cs: any) => {
    const code = cs.input.code
    if (typeof code === 'string') cs.set('code', code.toLowerCase())
  },
  { readsRecord: false },
)

const Thing = defineResource(things, {
  name: 'Thing',
  sensitive: ['secret'],
  actions: (a) => ({
    create: a.create({ accept: ['id', ...COLUMNS, 'createdAt', 'updatedAt'], changes: [lowerCode] }),
    update: a.update({ accept: [...COLUMNS, 'updatedAt'], changes: [lowerCode] }),
    // Reads its record: the locked read, then the row and its event in one statement.
    bump: a.update({ changes: [(cs) => cs.set('count', (cs.record?.count ?? 0) + 1)] }),
    archive: a.destroy({ soft: true, changes: [setAttribute('status', 'archived')] }),
    // Sets columns it does not accept: whether it changed them is the row's to say.
    retag: a.update({
      changes: [
        setAttribute('tags', ['z']),
        setAttribute('at', '2026-03-03T00:00:00Z'),
        setAttribute('local', '2026-03-03T00:00:00'),
      ],
    }),
    destroy: a.destroy(),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})
const events = eventLogTable('events', { actors: { who: text('who') } })

/**
 * Columns whose stored value can differ from what an action sends: `timestamps()` on columns of millisecond
 * precision, values a change gives with `exact()` in a form that is not canonical (PostgreSQL prints them its
 * own way), jsonb (its own key order), and `char(n)`, which is padded (and was once cast to `char(1)`).
 */
const stamps = pgTable('stamps', {
  id: uuid('id').primaryKey(),
  code: char('code', { length: 4 }),
  ref: uuid('ref'),
  n: integer('n'),
  at: ts('at'),
  label: text('label'),
  doc: jsonb('doc'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
})
const Stamp = defineResource(stamps, {
  name: 'Stamp',
  actions: (a) => ({
    create: a.create({ accept: ['id', 'code', 'doc', 'label'], changes: [timestamps()] }),
    // Values given with exact() as a change's author may write them: upper case, spaced, with an offset.
    tag: a.update({
      changes: [
        timestamps({ create: false }),
        change(
          'tag',
          (cs) => {
            cs.set('ref', exact('0190A6D4-0000-7000-8000-0000000000AB'))
            cs.set('n', exact(' 42' as never))
            cs.set('at', exact('2026-01-01 05:00:00+05'))
          },
          { readsRecord: false },
        ),
      ],
    }),
    relabel: a.update({ accept: ['code', 'label', 'doc'], changes: [timestamps({ create: false })] }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})

const IDS = [
  '0190a6d4-0000-7000-8000-0000000000a1',
  '0190a6d4-0000-7000-8000-0000000000a2',
  '0190a6d4-0000-7000-8000-0000000000a3',
]

const str = (max: number) =>
  fc.string({ maxLength: max, unit: 'grapheme' }).filter((s) => !s.includes('\u0000'))
const micros = (from: number, to: number) =>
  fc.bigInt({ min: BigInt(from) * 1000n, max: BigInt(to) * 1000n }).map((us) => {
    const d = new Date(Number(us / 1000n)).toISOString().slice(0, 23)
    return `${d}${String(us % 1000n).padStart(3, '0')}`
  })
const YEAR_1 = Date.UTC(1, 0, 1) + 1000
const YEAR_9999 = Date.UTC(9999, 11, 31)
const values: { [K in Col]: fc.Arbitrary<unknown> } = {
  code: fc.constantFrom('A', 'b', 'B', 'c'),
  label: str(6),
  short: str(5),
  n: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  big: fc.maxSafeInteger(),
  // Some with fewer digits than the column's scale, which the database pads.
  amount: fc
    .tuple(fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.integer({ min: 0, max: 3 }))
    .map(([i, digits]) => (i / 1000).toFixed(digits)),
  // Shorter than the column, and with trailing blanks (which a char(n)'s text leaves out).
  fixed: fc.constantFrom('a', 'ab  ', 'abcd', ' x', 'abc ', ''),
  free: fc.constantFrom('1.50', '-0.0', '1e3', '0.000', '123456789012345678901234567890.5', 'NaN'),
  ratio: fc.double(),
  small: fc.float(),
  flag: fc.boolean(),
  doc: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v))),
  blob: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)),
  // In UTC, or with an offset the canonical value drops.
  at: fc.oneof(
    micros(YEAR_1, YEAR_9999).map((s) => `${s}Z`),
    micros(Date.UTC(1970, 0, 1), YEAR_9999 - 86_400_000).map((s) => `${s}+05:30`),
  ),
  local: micros(YEAR_1, YEAR_9999),
  day: fc
    .date({ min: new Date(YEAR_1), max: new Date(YEAR_9999), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  tags: fc.array(fc.option(str(4), { nil: null }), { maxLength: 3 }),
  nums: fc.array(fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }), { maxLength: 3 }),
  secret: str(6),
}
/** Some columns, each a value or null. */
const someValues = fc
  .subarray([...COLUMNS])
  .chain((cols) =>
    fc.record(Object.fromEntries(cols.map((c) => [c, fc.option(values[c], { nil: null, freq: 6 })]))),
  )

type Op =
  | { op: 'create'; id: number; input: Record<string, unknown>; at: string }
  | { op: 'update'; id: number; input: Record<string, unknown>; at: string | undefined }
  | { op: 'bump' | 'archive' | 'destroy' | 'retag'; id: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    id: fc.nat(IDS.length - 1),
    input: someValues,
    at: values.at as fc.Arbitrary<string>,
  }),
  fc.record({
    op: fc.constant('update' as const),
    id: fc.nat(IDS.length - 1),
    input: someValues,
    at: fc.option(values.at as fc.Arbitrary<string>, { nil: undefined }),
  }),
  fc.record({
    op: fc.constantFrom('bump' as const, 'archive' as const, 'destroy' as const),
    id: fc.nat(IDS.length - 1),
  }),
)

/** How an action ended: its error's code, or `ok` and the record it returned. */
async function apply(rewind: Rewind<readonly [typeof Thing, typeof Stamp]>, op: Op): Promise<Outcome> {
  const id = IDS[op.id]!
  const options = { actor: { who: 'tester' }, metadata: { step: op.op } }
  try {
    let record: unknown
    if (op.op === 'create')
      record = await rewind.run(
        Thing,
        'create',
        { ...op.input, id, createdAt: op.at, updatedAt: op.at } as never,
        options,
      )
    else if (op.op === 'update')
      record = await rewind.run(
        Thing,
        'update',
        { ...op.input, ...(op.at ? { updatedAt: op.at } : {}) } as never,
        { ...options, id },
      )
    else record = await rewind.run(Thing, op.op, {}, { ...options, id })
    return { code: 'ok', record: comparableRecord(record) }
  } catch (error) {
    if (!isRewindError(error)) throw error
    return { code: error.code }
  }
}

/** A record as both paths must return it: the database's clock aside. */
function comparableRecord(record: unknown) {
  const r = record as Record<string, unknown> | undefined
  return r && { ...r, stamp: r.stamp ? 'now' : null }
}

/** What must be equal between the two paths: everything but ids, positions, transactions and the database's clock. */
function comparable(e: RewindEvent) {
  const { id: _id, position: _p, transactionId: _t, ...rest } = e
  const changed = { ...e.changedAttributes }
  if ('stamp' in changed) changed.stamp = 'now'
  // No app time set: the database's clock.
  const clock =
    e.actionType === 'destroy' ||
    (e.action === 'bump' ? true : !('updatedAt' in changed || 'createdAt' in changed))
  return { ...rest, changedAttributes: changed, occurredAt: clock ? 'clock' : e.occurredAt }
}

async function tableRows(rewind: Rewind<readonly [typeof Thing, typeof Stamp]>) {
  return (await rewind.list(Thing, { orderBy: [['id', 'asc']] })).map((r) => ({
    ...r,
    stamp: r.stamp ? 'now' : null,
  }))
}

describe.each(backends)('one statement for the row and its event on $name', (backend) => {
  let fast: Rewind<readonly [typeof Thing, typeof Stamp]>
  let slow: Rewind<readonly [typeof Thing, typeof Stamp]>
  let close: (() => Promise<void>) | undefined
  const open = (tdb: TestDatabase) =>
    createRewind({
      db: tdb.db,
      resources: [Thing, Stamp],
      eventLog: {
        table: events,
        actors: { who: (a) => (a as { who?: string })?.who },
        encryption: keyRing({ current: 'k', keys: { k: KEY } }),
      },
      createTables: true,
    })

  // A trigger of the table's own (one that changes nothing) keeps Rewind on the two-statement path.
  beforeAll(async () => {
    ;({ fast, slow, close } = await pairedDatabases(backend, open, ['things', 'stamps']))
  })
  afterAll(() => close?.())

  const reset = () => resetBoth([fast, slow], 'TRUNCATE things, stamps')

  it('records the same events and leaves the same rows as two statements, for random actions; failures write nothing', async () => {
    let ran = 0
    let failed = 0
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 10 }), async (ops) => {
        await reset()
        for (const op of ops) {
          // The same outcome, and the same record returned: what one statement read back and completed from
          // the values it set against what two statements read back whole.
          const a = await applyBoth(fast, slow, op, apply)
          // As JSON text: a jsonb's keys in jsonb's order, as the database stored them.
          if (a.code === 'ok' && op.op !== 'destroy')
            expect(JSON.stringify(a.record), JSON.stringify(op)).toBe(
              JSON.stringify(comparableRecord(await fast.get(Thing, IDS[op.id]!))),
            )
          ran++
          if (a.code !== 'ok') failed++
        }
        const [ea, eb] = [
          (await fast.events({ limit: 10_000 })).events,
          (await slow.events({ limit: 10_000 })).events,
        ]
        expect(ea.map(comparable)).toEqual(eb.map(comparable))
        expect(await tableRows(fast)).toEqual(await tableRows(slow))
        expect((await fast.verifyReplay()).ok).toBe(true)
      }),
      { numRuns: RUNS },
    )
    // The property saw both outcomes.
    expect(ran - failed).toBeGreaterThan(RUNS)
    expect(failed).toBeGreaterThan(0)
  })

  it('a value whose exact JSON SQL cannot give (written behind Rewind) falls back to two statements, with the same event', async () => {
    await reset()
    for (const r of [fast, slow]) {
      await r.run(Thing, 'create', { id: IDS[0], createdAt: '2026-01-01T00:00:00Z', tags: ['a'] } as never)
      // An array numbered from 0, and an infinite time: values Rewind's own writes never make.
      await r.database.query(`UPDATE things SET tags = '[0:1]={x,y}', at = 'infinity', local = '-infinity'`)
      await r.run(Thing, 'retag', {}, { id: IDS[0]! })
      await r.run(Thing, 'retag', {}, { id: IDS[0]! })
    }
    const [ea, eb] = [(await fast.events()).events, (await slow.events()).events]
    expect(ea.map(comparable)).toEqual(eb.map(comparable))
    expect(ea[1]!.changedAttributes).toEqual({
      tags: ['z'],
      at: '2026-03-03T00:00:00.000000Z',
      local: '2026-03-03T00:00:00.000000',
    })
    // The second finds the values it sets already there: nothing changed.
    expect(ea[2]!.changedAttributes).toEqual({})
    expect(await fast.get(Thing, IDS[0]!)).toMatchObject({ tags: ['z'], at: '2026-03-03T00:00:00.000000Z' })
  })

  it('records and returns what the database stored where it differs from what was sent, as two statements do', async () => {
    await reset()
    const id = IDS[0]!
    const returned: unknown[][] = [[], []]
    for (const [i, r] of [fast, slow].entries()) {
      returned[i]!.push(
        await r.run(Stamp, 'create', { id, code: 'ab', label: 'Ünï', doc: { b: 1, a: [2.5] } }),
      )
      const tagged = await r.run(Stamp, 'tag', {}, { id })
      returned[i]!.push(tagged)
      // The relabel's clock reading in a later millisecond than the tag's: the column keeps milliseconds, and in
      // the same one the relabel would not change `updatedAt` on one database where it does on the other.
      while (Date.now() <= Date.parse(tagged.updatedAt)) await new Promise((done) => setTimeout(done, 1))
      returned[i]!.push(await r.run(Stamp, 'relabel', { code: 'xyz', doc: { z: null, c: 'd' } }, { id }))
      // Each action returned the record as stored (a jsonb's keys in jsonb's order).
      const stored = JSON.stringify(await r.get(Stamp, id))
      expect(JSON.stringify(returned[i]!.at(-1))).toBe(stored)
    }
    // The clock read differently on each database: the times aside, the same records.
    const timeless = (x: unknown) =>
      JSON.stringify(x, (k, v) => (k === 'createdAt' || k === 'updatedAt' || k === 'occurredAt' ? 'time' : v))
    expect(timeless(returned[0])).toBe(timeless(returned[1]))
    const stored = (await fast.get(Stamp, id))!
    // As PostgreSQL prints them: the char(4) whole, the uuid in lower case, the number, UTC, milliseconds.
    expect(stored).toMatchObject({
      code: 'xyz',
      ref: '0190a6d4-0000-7000-8000-0000000000ab',
      n: 42,
      at: '2026-01-01T00:00:00.000000Z',
    })
    expect(stored.createdAt).toMatch(/\.\d{3}000Z$/)
    expect(stored.updatedAt).toMatch(/\.\d{3}000Z$/)
    // The same events on both paths: the values stored, not the values sent.
    const [ea, eb] = [(await fast.events()).events, (await slow.events()).events]
    expect(ea.map((e) => timeless(comparable(e)))).toEqual(eb.map((e) => timeless(comparable(e))))
    expect(ea[1]!.changedAttributes).toMatchObject({ ref: stored.ref, n: 42, at: stored.at })
    // Each event's time is its action's timestamp as the column stores it.
    for (const e of [...ea, ...eb]) {
      expect(e.occurredAt).toMatch(/\.\d{3}000Z$/)
      expect(e.changedAttributes.updatedAt).toBe(e.occurredAt)
    }
    expect((await fast.verifyReplay()).ok).toBe(true)
  })

  it('an update locks and reads back of the row as it was only the key and the columns its event compares', async () => {
    await reset()
    const id = '0190a6d4-0000-7000-8000-000000000301'
    await fast.run(Thing, 'create', {
      id,
      createdAt: '2026-01-01T00:00:00Z',
      label: 'a',
      tags: ['y'],
    } as never)
    const seam = fast.database.autocommit as {
      queryText: (t: string, p?: readonly (string | null)[]) => unknown
    }
    const send = seam.queryText
    const sent: string[] = []
    seam.queryText = (text, params) => {
      sent.push(text)
      return send(text, params)
    }
    try {
      // Sets three columns it does not accept (the row says whether each changed); label_upper is generated.
      await fast.run(Thing, 'retag', {}, { id })
      await fast.run(Thing, 'update', { label: 'b', updatedAt: '2026-02-02T00:00:00Z' } as never, { id })
    } finally {
      seam.queryText = send
    }
    const read = (text: string) => /FROM \(SELECT (.*?) FROM "things" WHERE/.exec(text)?.[1]
    const olds = (text: string) => [...text.matchAll(/AS "old:(\w+)"/g)].map((m) => m[1])
    expect(sent).toHaveLength(2)
    expect(read(sent[0]!)).toBe('"id", "tags", "at", "local", "label_upper"')
    expect(olds(sent[0]!)).toEqual(['tags', 'at', 'local', 'labelUpper'])
    // The label is input (recorded in data); the update timestamp is compared for the event's time.
    expect(read(sent[1]!)).toBe('"id", "label_upper", "updated_at"')
    expect(olds(sent[1]!)).toEqual(['labelUpper', 'updatedAt'])
    const [retag, update] = (await fast.events({ limit: 10 })).events.slice(1)
    expect(retag!.changedAttributes).toEqual({
      tags: ['z'],
      at: '2026-03-03T00:00:00.000000Z',
      local: '2026-03-03T00:00:00.000000',
    })
    expect(update!.data).toEqual({ label: 'b', updatedAt: '2026-02-02T00:00:00.000000Z' })
    expect(update!.changedAttributes).toEqual({ labelUpper: 'B' })
    expect(update!.occurredAt).toBe('2026-02-02T00:00:00.000000Z')
  })

  it('an update returns what the database stored, whichever of the values it sets are null', async () => {
    await reset()
    const id = IDS[1]!
    await fast.run(Stamp, 'create', { id, label: 'a' })
    // The same action setting the same columns: a jsonb comes back in jsonb's key order, a char(4) padded, a
    // NULL as NULL. Each action returns the record as stored.
    for (const [doc, code] of [
      [null, null],
      [{ b: 1, a: [2.5] }, 'ab'],
      [null, 'cd'],
      [{ zz: true, y: null }, null],
    ] as const) {
      const written = await fast.run(Stamp, 'relabel', { doc, code } as never, { id })
      expect(JSON.stringify(written)).toBe(JSON.stringify(await fast.get(Stamp, id)))
    }
    expect((await fast.get(Stamp, id))!.doc).toEqual({ y: null, zz: true })
  })

  it('a create is one round trip, an update that never reads its record one, one that reads it three', async () => {
    await reset()
    const statements = countStatements(fast)
    const id = (i: number) => `0190a6d4-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`
    const create = (i: number) =>
      fast.run(Thing, 'create', { id: id(i), createdAt: '2026-01-01T00:00:00Z', label: `x${i}` } as never)
    // Each kind of call once first: statements are prepared on first use, and the table's triggers looked up.
    await create(0)
    await create(1)
    await fast.run(Thing, 'update', { label: 'z' } as never, { id: id(0) })
    await fast.run(Thing, 'bump', {}, { id: id(0) })
    await fast.run(Thing, 'destroy', {}, { id: id(1) })
    statements.take()
    await create(2)
    expect(statements.take()).toBe(1)
    await fast.run(Thing, 'update', { label: 'w' } as never, { id: id(2) })
    expect(statements.take()).toBe(1)
    // On PostgreSQL BEGIN and SELECT ... FOR UPDATE in one round trip, then the row and its event, then COMMIT;
    // on PGlite (no round trips) its transaction's BEGIN and COMMIT are counted as calls beside the two statements.
    await fast.run(Thing, 'bump', {}, { id: id(2) })
    expect(statements.take()).toBe(backend.name === 'postgres' ? 3 : 4)
    await fast.run(Thing, 'destroy', {}, { id: id(2) })
    expect(statements.take()).toBe(1)
    statements.stop()
    expect((await fast.events({ limit: 100 })).events.map((e) => e.action)).toEqual([
      'create',
      'create',
      'update',
      'bump',
      'destroy',
      'create',
      'update',
      'bump',
      'destroy',
    ])
  })
})

/**
 * Counts the round trips a Rewind makes: on PGlite, each call into the instance's wire protocol, and a
 * transaction's BEGIN and COMMIT; on pg, each query on a pooled connection.
 */
function countStatements(rewind: Rewind<readonly [typeof Thing, typeof Stamp]>) {
  let n = 0
  const client = (rewind.db as { $client: any }).$client
  const undo: (() => void)[] = []
  const wrap = (target: any, method: string, wrapper: (original: any) => any) => {
    const original = target[method]
    target[method] = wrapper(original)
    undo.push(() => {
      target[method] = original
    })
  }
  if (typeof client.execProtocolRawStream === 'function') {
    wrap(
      client,
      'execProtocolRawStream',
      (original: any) =>
        function (this: unknown, ...args: unknown[]) {
          n++
          return original.apply(this, args)
        },
    )
    wrap(
      client,
      'transaction',
      (original: any) =>
        function (this: unknown, ...args: unknown[]) {
          n += 2
          return original.apply(this, args)
        },
    )
  } else {
    const counted = new WeakSet<object>()
    wrap(
      client,
      'connect',
      (original: any) =>
        async function (this: unknown, ...args: unknown[]) {
          const conn = await original.apply(this, args)
          if (!counted.has(conn)) {
            counted.add(conn)
            const query = conn.query
            conn.query = function (this: unknown, ...qargs: unknown[]) {
              n++
              return query.apply(this, qargs)
            }
          }
          return conn
        },
    )
  }
  return {
    /** Round trips since the last call. */
    take() {
      const v = n
      n = 0
      return v
    },
    stop() {
      for (const u of undo) u()
    },
  }
}
