import { sql } from 'drizzle-orm'
import {
  boolean,
  date,
  doublePrecision,
  integer,
  jsonb,
  numeric,
  pgTable,
  serial,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CompiledWrite } from '../../src/actions/compiled-write.js'
import {
  change,
  createRewind,
  defineResource,
  eventLogTable,
  generateId,
  isRewindError,
  type Rewind,
  type RewindEvent,
  setAttribute,
  timestamps,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { applyBoth, type Outcome, pairedDatabases, resetBoth } from '../support/paired.js'

/**
 * The compiled write (actions/compiled-write.ts) against the pipeline: the same random actions on two databases,
 * one whose tables have a no-op trigger of their own (which keeps Rewind on the pipeline's two statements), must
 * return the same records, record the same events and leave the same rows; a failure writes nothing. The
 * actions are those the compiled write runs: accepted columns, `generateId()`, `timestamps()` and `setAttribute`
 * of a constant. A count of the calls it ran shows it ran them.
 */

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20)
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string', precision: 6 })

const plains = pgTable('plains', {
  id: uuid('id').primaryKey(),
  code: text('code').unique(),
  label: text('label'),
  labelUpper: text('label_upper').generatedAlwaysAs(sql`upper(label)`),
  n: integer('n'),
  amount: numeric('amount', { precision: 12, scale: 3 }),
  ratio: doublePrecision('ratio'),
  flag: boolean('flag'),
  doc: jsonb('doc'),
  at: ts('at'),
  local: timestamp('local', { mode: 'string', precision: 6 }),
  day: date('day', { mode: 'string' }),
  tags: text('tags').array(),
  status: text('status').notNull().default('new'),
  count: integer('count').notNull().default(0),
  stamp: ts('stamp').defaultNow(),
  origin: text('origin').$defaultFn(() => 'app'),
  touched: integer('touched').$onUpdateFn(() => 7),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})
/** A key the database makes: the event reads it from the row. */
const serials = pgTable('serials', {
  id: serial('id').primaryKey(),
  label: text('label').notNull(),
  at: timestamp('at', { withTimezone: true, mode: 'string', precision: 3 }),
})

const COLUMNS = [
  'code',
  'label',
  'n',
  'amount',
  'ratio',
  'flag',
  'doc',
  'at',
  'local',
  'day',
  'tags',
] as const
type Col = (typeof COLUMNS)[number]

const Plain = defineResource(plains, {
  name: 'Plain',
  actions: (a) => ({
    create: a.create({
      accept: ['id', ...COLUMNS, 'status', 'createdAt', 'updatedAt'],
      changes: [generateId(), timestamps(), setAttribute('status', 'fresh')],
    }),
    update: a.update({ accept: [...COLUMNS, 'updatedAt'], changes: [timestamps({ create: false })] }),
    // The same, for one test alone: the shapes it keeps are that test's.
    patch: a.update({ accept: [...COLUMNS], changes: [timestamps({ create: false })] }),
    // Sets columns it does not accept: whether it changed them is the row's to say.
    mark: a.update({
      changes: [timestamps({ create: false }), setAttribute('flag', true), setAttribute('tags', ['m'])],
    }),
    // Not compiled (a change of the app's own): the pipeline, beside compiled actions.
    relabel: a.update({
      accept: ['label'],
      changes: [change('upper', (cs: any) => cs.set('code', 'R'), { readsRecord: false })],
    }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt', versions: { update: 3 } },
})
const Serial = defineResource(serials, {
  name: 'Serial',
  actions: (a) => ({
    create: a.create({ accept: ['label'], changes: [timestamps({ create: 'at', update: false })] }),
  }),
})
/** A multitenant table: each call's tenant is its rows' `org`. */
const owneds = pgTable('owneds', {
  id: uuid('id').primaryKey(),
  org: text('org').notNull(),
  label: text('label'),
  n: integer('n'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})
const Owned = defineResource(owneds, {
  name: 'Owned',
  tenant: 'org',
  actions: (a) => ({
    create: a.create({ accept: ['id', 'org', 'label', 'n'], changes: [generateId(), timestamps()] }),
    update: a.update({ accept: ['label', 'n'], changes: [timestamps({ create: false })] }),
    // No timestamp: its event compares nothing with the row as it was.
    note: a.update({ accept: ['label'] }),
    // The clock into another column than the event's time, which the caller gives: the time is compared with the
    // row as it was, so the statement reads it (no guard), compiled all the same.
    stamp: a.update({
      accept: ['label', 'updatedAt'],
      changes: [timestamps({ create: false, update: 'createdAt' })],
    }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})
/**
 * Names with the characters an SQL literal must escape, and what looks like a parameter: the event's constants are
 * written into the compiled statement's text (see compiled-write.ts constantsInlined).
 */
const QUOTED_NAME = `O'Brien \\ $1 "q" \\'`
const QUOTED_ACTION = `it's $2 \\n`
const quoteds = pgTable('quoteds', {
  id: uuid('id').primaryKey(),
  label: text('label'),
  // A quoted identifier that holds what looks like a parameter: the statement's text is read around it.
  odd: text('odd$1'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})
const Quoted = defineResource(quoteds, {
  name: QUOTED_NAME,
  actions: (a) => ({
    [QUOTED_ACTION]: a.create({ accept: ['label', 'odd'], changes: [generateId(), timestamps()] }),
    touch: a.update({ accept: ['label'], changes: [timestamps({ create: false })] }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt', versions: { touch: 4 } },
})
const events = eventLogTable('events', { actors: { who: text('who') } })
const TENANTS = ['t1', 't2'] as const

const IDS = [
  '0190a6d4-0000-7000-8000-0000000000c1',
  '0190a6d4-0000-7000-8000-0000000000c2',
  '0190a6d4-0000-7000-8000-0000000000c3',
]

const str = (max: number) =>
  fc.string({ maxLength: max, unit: 'grapheme' }).filter((s) => !s.includes('\u0000'))
const time = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString())
const values: { [K in Col]: fc.Arbitrary<unknown> } = {
  code: fc.constantFrom('A', 'b', 'c'),
  label: str(6),
  n: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constant('not a number')),
  amount: fc.integer({ min: -999_999, max: 999_999 }).map((i) => (i / 1000).toFixed(2)),
  ratio: fc.double(),
  flag: fc.boolean(),
  doc: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v))),
  at: fc.oneof(
    time,
    time.map((t) => t.replace('Z', '+05:30')),
  ),
  local: time.map((t) => t.slice(0, -1)),
  day: time.map((t) => t.slice(0, 10)),
  tags: fc.array(fc.option(str(4), { nil: null }), { maxLength: 3 }),
}
const someValues = fc
  .subarray([...COLUMNS])
  .chain((cols) =>
    fc.record(Object.fromEntries(cols.map((c) => [c, fc.option(values[c], { nil: null, freq: 6 })]))),
  )

type Op =
  | {
      op: 'create'
      id: number | undefined
      input: Record<string, unknown>
      status: boolean
      at: string | undefined
    }
  | { op: 'update'; id: number; input: Record<string, unknown>; at: string | undefined }
  | { op: 'mark' | 'relabel'; id: number }
  | { op: 'serial'; label: string | null }
  | {
      op: 'owned'
      kind: 'create' | 'update' | 'note'
      id: number | undefined
      /** The call's tenant (none: the pipeline's error), and the `org` the input gives (none, the same, another). */
      tenant: number | undefined
      org: 'none' | 'same' | 'other'
      input: { label?: string | null; n?: unknown }
    }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    // No id: generateId() makes one.
    id: fc.option(fc.nat(IDS.length - 1), { nil: undefined }),
    input: someValues,
    // The caller's status over the constant the action sets: the pipeline's to write.
    status: fc.boolean(),
    at: fc.option(time, { nil: undefined }),
  }),
  fc.record({
    op: fc.constant('update' as const),
    id: fc.nat(IDS.length - 1),
    input: someValues,
    at: fc.option(time, { nil: undefined }),
  }),
  fc.record({ op: fc.constantFrom('mark' as const, 'relabel' as const), id: fc.nat(IDS.length - 1) }),
  fc.record({ op: fc.constant('serial' as const), label: fc.option(str(5), { nil: null, freq: 4 }) }),
  fc.record({
    op: fc.constant('owned' as const),
    kind: fc.constantFrom('create' as const, 'update' as const, 'note' as const),
    id: fc.option(fc.nat(IDS.length - 1), { nil: undefined, freq: 3 }),
    tenant: fc.option(fc.nat(TENANTS.length - 1), { nil: undefined, freq: 8 }),
    org: fc.constantFrom('none' as const, 'none' as const, 'same' as const, 'other' as const),
    input: fc.record({ label: fc.option(str(4), { nil: null, freq: 4 }), n: values.n }, { requiredKeys: [] }),
  }),
)

type Db = Rewind<readonly [typeof Plain, typeof Serial, typeof Owned, typeof Quoted]>

/** How a call ended: `ok`, or its error's code and message. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (error) {
    return isRewindError(error) ? `${error.code}: ${error.message}` : String(error)
  }
}

/** Records the text (and parameters) of every statement sent through a Rewind's autocommit seam, until `restore`. */
function recordSent(rewind: Db): {
  sent: string[]
  params: (readonly (string | null)[])[]
  restore: () => void
} {
  const seam = rewind.database.autocommit as {
    queryText: (t: string, p?: readonly (string | null)[]) => Promise<unknown>
  }
  const send = seam.queryText
  const sent: string[] = []
  const params: (readonly (string | null)[])[] = []
  seam.queryText = (text, values) => {
    sent.push(text)
    params.push(values ?? [])
    return send(text, values)
  }
  const restore = () => {
    seam.queryText = send
  }
  return { sent, params, restore }
}

/** How an action ended: its error's code, or `ok` and the record it returned. */
async function apply(rewind: Db, op: Op): Promise<Outcome> {
  const options = { actor: { who: 'tester' }, metadata: { step: op.op } }
  try {
    let record: unknown
    if (op.op === 'create') {
      const input: Record<string, unknown> = { ...op.input }
      if (op.id !== undefined) input.id = IDS[op.id]
      if (op.status) input.status = 'given'
      if (op.at) Object.assign(input, { createdAt: op.at, updatedAt: op.at })
      record = await rewind.run(Plain, 'create', input as never, options)
    } else if (op.op === 'update')
      record = await rewind.run(
        Plain,
        'update',
        { ...op.input, ...(op.at ? { updatedAt: op.at } : {}) } as never,
        { ...options, id: IDS[op.id]! },
      )
    else if (op.op === 'serial')
      record = await rewind.run(Serial, 'create', { label: op.label } as never, options)
    else if (op.op === 'owned') {
      const tenant = op.tenant === undefined ? undefined : TENANTS[op.tenant]!
      const called = { ...options, ...(tenant !== undefined && { tenant }) }
      if (op.kind === 'create') {
        const input: Record<string, unknown> = { ...op.input }
        if (op.id !== undefined) input.id = IDS[op.id]
        if (op.org !== 'none') input.org = op.org === 'same' ? tenant : 'elsewhere'
        record = await rewind.run(Owned, 'create', input as never, called)
      } else if (op.kind === 'note') {
        const input = op.input.label === undefined ? {} : { label: op.input.label }
        record = await rewind.run(Owned, 'note', input, { ...called, id: IDS[op.id ?? 0]! })
      } else
        record = await rewind.run(Owned, 'update', op.input as never, { ...called, id: IDS[op.id ?? 0]! })
    } else record = await rewind.run(Plain, op.op, {}, { ...options, id: IDS[op.id]! })
    return { code: 'ok', record: timeless(record) }
  } catch (error) {
    if (!isRewindError(error)) throw error
    return { code: error.code }
  }
}

/**
 * What must be equal between the two databases: the clocks aside (the app's, read on each; the database's
 * `stamp`), and the ids `generateId()` made (each database's own), numbered in order of appearance.
 */
function timeless(x: unknown, ids = new Map<string, string>()): unknown {
  return JSON.parse(
    JSON.stringify(x, (key, v) => {
      if (key === 'stamp') return v ? 'now' : null
      if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(v) && !given.has(v))
        return 'clock'
      if (typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/.test(v) && !IDS.includes(v)) {
        if (!ids.has(v)) ids.set(v, `made#${ids.size}`)
        return ids.get(v)
      }
      return v
    }),
  )
}
/** The times the property gives, as canonical values: never taken for the clock's. */
const given = new Set<string>()

function comparable(list: RewindEvent[]) {
  const ids = new Map<string, string>()
  return list.map((e) => {
    const { id: _id, position: _p, transactionId: _t, ...rest } = e
    return timeless(rest, ids)
  })
}

describe.each(backends)('the compiled write on $name', (backend) => {
  let fast: Db
  let slow: Db
  let close: (() => Promise<void>) | undefined
  let compiled = 0
  const run = CompiledWrite.prototype.run
  const open = (tdb: TestDatabase) =>
    createRewind({
      db: tdb.db,
      resources: [Plain, Serial, Owned, Quoted],
      eventLog: { table: events, actors: { who: (a) => (a as { who?: string })?.who } },
      createTables: true,
    })

  beforeAll(async () => {
    ;({ fast, slow, close } = await pairedDatabases(backend, open, [
      'plains',
      'serials',
      'owneds',
      'quoteds',
    ]))
    // Counts the calls the compiled write ran (it gives a promise; undefined leaves the call to the pipeline).
    CompiledWrite.prototype.run = function (this: CompiledWrite, ...args: Parameters<typeof run>) {
      const written = run.apply(this, args)
      if (written) compiled++
      return written
    }
  })
  afterEach(() => {
    compiled = 0
  })
  afterAll(async () => {
    CompiledWrite.prototype.run = run
    await close?.()
  })

  const reset = () => resetBoth([fast, slow], 'TRUNCATE plains, serials, owneds, quoteds RESTART IDENTITY')

  it('returns the same records, records the same events and leaves the same rows as the pipeline; failures write nothing', async () => {
    let ran = 0
    let failed = 0
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 3, maxLength: 10 }), async (ops) => {
        await reset()
        for (const op of ops) {
          if ('at' in op && op.at) given.add(op.at.replace('Z', '000Z'))
          const a = await applyBoth(fast, slow, op, apply)
          ran++
          if (a.code !== 'ok') failed++
        }
        const [ea, eb] = [
          (await fast.events({ limit: 10_000 })).events,
          (await slow.events({ limit: 10_000 })).events,
        ]
        expect(comparable(ea)).toEqual(comparable(eb))
        const rows = async (r: Db) => [
          timeless(await r.list(Plain, { orderBy: [['createdAt', 'asc']] })),
          timeless(await r.list(Serial, { orderBy: [['id', 'asc']] })),
          ...(await Promise.all(
            TENANTS.map(async (tenant) =>
              timeless(await r.list(Owned, { tenant, orderBy: [['createdAt', 'asc']] })),
            ),
          )),
        ]
        expect(await rows(fast)).toEqual(await rows(slow))
        expect((await fast.verifyReplay()).ok).toBe(true)
      }),
      { numRuns: RUNS },
    )
    expect(ran - failed).toBeGreaterThan(RUNS)
    expect(failed).toBeGreaterThan(0)
    // The compiled write ran most successful calls on the fast database (never on the slow one: its triggers).
    expect(compiled).toBeGreaterThan((ran - failed) / 4)
  })

  it('runs each call of a compiled action in one statement, with the event the pipeline records', async () => {
    await reset()
    // The first call of a resource finds out whether its table has a trigger of its own, on the pipeline.
    const first = await fast.run(Plain, 'create', { label: 'first' } as never)
    compiled = 0
    const { sent, restore } = recordSent(fast)
    let made: Record<string, unknown>[] = []
    try {
      made = [
        await fast.run(Plain, 'create', { label: 'a' } as never, { actor: { who: 'x' } }),
        await fast.run(Plain, 'create', { label: 'b', n: 3 } as never),
        await fast.run(Plain, 'create', { label: 'c', n: null } as never),
      ]
      await fast.run(Plain, 'update', { label: 'd' }, { id: made[1]!.id as string })
      await fast.run(Plain, 'mark', {}, { id: made[1]!.id as string })
    } finally {
      restore()
    }
    expect(compiled).toBe(5)
    expect(sent).toHaveLength(5)
    expect(sent.every((t) => t.startsWith('WITH w AS'))).toBe(true)
    expect(made[1]).toMatchObject({ label: 'b', n: 3, status: 'fresh', origin: 'app', count: 0 })
    expect(made[1]!.createdAt).toBe(made[1]!.updatedAt)
    const [firstEvent, ...list] = (await fast.events({ limit: 10 })).events
    expect(firstEvent!.recordId).toBe(first.id)
    expect(list.map((e) => [e.action, e.version])).toEqual([
      ['create', 1],
      ['create', 1],
      ['create', 1],
      ['update', 3],
      ['mark', 1],
    ])
    const [, second, , update, mark] = list
    expect(second!.recordId).toBe(made[1]!.id)
    expect(second!.data).toEqual({ label: 'b', n: 3 })
    expect(second!.changedAttributes).toEqual({
      id: made[1]!.id,
      status: 'fresh',
      count: 0,
      stamp: expect.any(String),
      origin: 'app',
      // The database's: a generated column, and one whose drizzle default is its update function's.
      labelUpper: 'B',
      touched: null,
      createdAt: made[1]!.createdAt,
      updatedAt: made[1]!.updatedAt,
    })
    expect(second!.occurredAt).toBe(made[1]!.createdAt)
    expect(update!.data).toEqual({ label: 'd' })
    expect(update!.changedAttributes).toEqual({
      labelUpper: 'D',
      touched: 7,
      updatedAt: expect.any(String),
    })
    expect(update!.occurredAt).toBe(update!.changedAttributes.updatedAt)
    expect(mark!.changedAttributes).toMatchObject({ flag: true, tags: ['m'] })
    const stored = await fast.get(Plain, made[1]!.id as string)
    expect(stored).toMatchObject({ label: 'd', labelUpper: 'D', flag: true, tags: ['m'], touched: 7 })
    expect(stored!.updatedAt).toBe(mark!.occurredAt)
    expect((await fast.verifyReplay()).ok).toBe(true)
  })

  it("writes the event's constants into its statement, exact whatever their characters; sends only what changes", async () => {
    await reset()
    const calls = async (r: Db) => {
      // The first call finds out whether the table has a trigger of its own, on the pipeline.
      const a = await r.run(Quoted, QUOTED_ACTION, { label: 'a' })
      const b = await r.run(
        Quoted,
        QUOTED_ACTION,
        { label: "b's \\ $1", odd: '$2' },
        { actor: { who: "o'k" } },
      )
      await r.run(Quoted, 'touch', { label: 'c' }, { id: a.id, metadata: { note: "it's" } })
      return [a, b]
    }
    const { sent, params, restore } = recordSent(fast)
    let made: Record<string, unknown>[]
    try {
      made = await calls(fast)
    } finally {
      restore()
    }
    await calls(slow)
    expect(compiled).toBe(2)
    const [create, touch] = [sent.at(-2)!, sent.at(-1)!]
    // The resource's name and the action's are literals of the text: no parameter holds them.
    expect(create).toContain(`E'O''Brien \\\\ $1 "q" \\\\'''::text`)
    expect(create).toContain(`E'it''s $2 \\\\n'::text`)
    expect(touch).toContain(`E'touch'::text`)
    expect(touch).toContain(`E'4'::int4`)
    for (const values of params.slice(-2)) {
      expect(values).not.toContain(QUOTED_NAME)
      expect(values).not.toContain(QUOTED_ACTION)
    }
    // Every parameter sent is one the text numbers, from 1 up.
    for (const [i, text] of sent.slice(-2).entries()) {
      const numbers = new Set([...text.matchAll(/\$(\d+)::/g)].map((m) => Number(m[1])))
      expect([...numbers].sort((x, y) => x - y)).toEqual(params.at(-2 + i)!.map((_, k) => k + 1))
    }
    const [ea, eb] = [(await fast.events({ limit: 10 })).events, (await slow.events({ limit: 10 })).events]
    expect(comparable(ea)).toEqual(comparable(eb))
    expect(ea.map((e) => [e.resource, e.action, e.version, e.data])).toEqual([
      [QUOTED_NAME, QUOTED_ACTION, 1, { label: 'a' }],
      [QUOTED_NAME, QUOTED_ACTION, 1, { label: "b's \\ $1", odd: '$2' }],
      [QUOTED_NAME, 'touch', 4, { label: 'c' }],
    ])
    expect(ea[1]!.recordId).toBe(made![1]!.id)
    expect(await fast.get(Quoted, made![1]!.id as string)).toMatchObject({ label: "b's \\ $1", odd: '$2' })
    expect(ea[2]!.metadata).toEqual({ note: "it's" })
    expect((await fast.verifyReplay()).ok).toBe(true)
  })

  it('leaves to the pipeline what it must say: bad input, a missing record, a duplicate, metadata that is not JSON', async () => {
    await reset()
    await fast.run(Plain, 'create', { code: 'A' } as never)
    await fast.run(Plain, 'create', { code: 'B' } as never)
    compiled = 0
    expect(await codeOf(fast.run(Plain, 'create', { n: 'x' } as never))).toMatch(
      /^VALIDATION: Plain\.create: invalid input: n: /,
    )
    expect(await codeOf(fast.run(Plain, 'create', { nope: 1 } as never))).toMatch(
      /^VALIDATION: .*unknown input "nope"/,
    )
    expect(await codeOf(fast.run(Plain, 'update', { label: 'x' }, { id: IDS[2]! }))).toMatch(/^NOT_FOUND: /)
    expect(await codeOf(fast.run(Plain, 'update', { label: 'x' }, {} as never))).toMatch(
      /^VALIDATION: .*\{ id \}/,
    )
    expect(await codeOf(fast.run(Plain, 'create', { code: 'A' } as never))).toMatch(/^CONFLICT: /)
    expect(
      await codeOf(fast.run(Plain, 'create', { code: 'C' } as never, { metadata: { f: () => 1 } as never })),
    ).toMatch(/^VALIDATION: Plain\.create: metadata /)
    // The update that found no row and the duplicate went as far as their statement.
    expect(compiled).toBe(2)
    expect((await fast.events()).events).toHaveLength(2)
    expect(await fast.list(Plain)).toHaveLength(2)
  })

  it("runs a multitenant resource's actions compiled, each in the call's tenant; another tenant's record is not found, and nothing is written", async () => {
    await reset()
    // The first call of a resource finds out whether its table has a trigger of its own, on the pipeline.
    await fast.run(Owned, 'create', { label: 'first' } as never, { tenant: 't1' })
    compiled = 0
    const a = await fast.run(Owned, 'create', { label: 'a' } as never, { tenant: 't1' })
    const b = await fast.run(Owned, 'create', { label: 'b', org: 't2' } as never, { tenant: 't2' })
    await fast.run(Owned, 'update', { n: 5 }, { tenant: 't2', id: b.id })
    expect(compiled).toBe(3)
    expect([a.org, b.org]).toEqual(['t1', 't2'])
    // Another tenant's record: its update goes as far as its statement, which finds no row.
    expect(await codeOf(fast.run(Owned, 'update', { n: 6 }, { tenant: 't1', id: b.id }))).toMatch(
      /^NOT_FOUND: /,
    )
    expect(await codeOf(fast.run(Owned, 'create', { org: 't1' } as never, { tenant: 't2' }))).toMatch(
      /^VALIDATION: .*tenant column/,
    )
    expect(await codeOf(fast.run(Owned, 'create', { label: 'c' } as never, {} as never))).toMatch(
      /^TENANT_REQUIRED: /,
    )
    expect(compiled).toBe(4)
    const list = (await fast.events({ limit: 100 })).events
    expect(list.map((e) => [e.action, e.tenant])).toEqual([
      ['create', 't1'],
      ['create', 't1'],
      ['create', 't2'],
      ['update', 't2'],
    ])
    expect(list[3]!.data).toEqual({ n: 5 })
    expect(list[3]!.recordId).toBe(b.id)
    expect(await fast.get(Owned, b.id, { tenant: 't2' })).toMatchObject({ label: 'b', n: 5, org: 't2' })
    expect(await fast.get(Owned, b.id, { tenant: 't1' })).toBeUndefined()
    expect(await fast.list(Owned, { tenant: 't1' })).toHaveLength(2)
    expect((await fast.verifyReplay()).ok).toBe(true)
  })

  it('writes an update that reads nothing of its row as it was in a plain UPDATE: its clock timestamp guarded, a row that holds that very time left to the pipeline', async () => {
    await reset()
    // The first call of a resource finds out whether its table has a trigger of its own, on the pipeline.
    const rec = await fast.run(Owned, 'create', { label: 'a' } as never, { tenant: 't1' })
    compiled = 0
    const { sent, restore } = recordSent(fast)
    const at = '2100-01-01T00:00:00.000000Z'
    let updated: Record<string, unknown>
    let noted: Record<string, unknown>
    let again: Record<string, unknown>
    try {
      updated = await fast.run(Owned, 'update', { n: 1 }, { tenant: 't1', id: rec.id })
      noted = await fast.run(Owned, 'note', { label: 'b' }, { tenant: 't1', id: rec.id })
      // The row already holds the time the clock will give: the guarded statement writes nothing.
      await fast.database.queryText(`UPDATE owneds SET updated_at = $1 WHERE id = $2`, [at, rec.id])
      const now = vi.spyOn(Date, 'now').mockReturnValue(Date.parse(at))
      try {
        again = await fast.run(Owned, 'update', { n: 2 }, { tenant: 't1', id: rec.id })
      } finally {
        now.mockRestore()
      }
    } finally {
      restore()
    }
    expect(compiled).toBe(3)
    const [update, note, guardedOut, pipeline] = sent
    expect(sent).toHaveLength(4)
    for (const text of [update, note, guardedOut]) {
      expect(text).toMatch(/^WITH w AS \(UPDATE "owneds" AS t SET [^()]* WHERE "id" = [^()]* RETURNING /)
      expect(text).not.toMatch(/FOR UPDATE/)
    }
    expect(update).toMatch(
      /AND t\."updated_at" IS DISTINCT FROM \$\d+::text::timestamp with time zone RETURNING/,
    )
    expect(note).not.toMatch(/IS DISTINCT FROM/)
    expect(guardedOut).toBe(update)
    // Then the pipeline's own statement, which reads the row as it was (the clock, read again, gives a later time).
    expect(pipeline).toMatch(/FOR UPDATE\) AS o/)
    const list = (await fast.events({ limit: 10 })).events
    expect(list.map((e) => e.action)).toEqual(['create', 'update', 'note', 'update'])
    expect(list[1]!.changedAttributes).toEqual({ updatedAt: updated.updatedAt })
    expect(list[1]!.occurredAt).toBe(updated.updatedAt)
    expect(list[2]!.changedAttributes).toEqual({})
    expect(noted.updatedAt).toBe(updated.updatedAt)
    expect(String(again.updatedAt) > at).toBe(true)
    expect(list[3]!.changedAttributes).toEqual({ updatedAt: again.updatedAt })
    expect(list[3]!.occurredAt).toBe(again.updatedAt)
    expect(await fast.get(Owned, rec.id, { tenant: 't1' })).toMatchObject({ n: 2, label: 'b' })
  })

  it("reads the row as it was when the event's time is not the clock's column, compiled as before", async () => {
    await reset()
    const id = IDS[1]!
    for (const r of [fast, slow]) await r.run(Owned, 'create', { id, label: 'a' } as never, { tenant: 't1' })
    compiled = 0
    const { sent, restore } = recordSent(fast)
    const at = (day: number) => `2030-01-0${day}T00:00:00.000000Z`
    try {
      for (const r of [fast, slow])
        for (const day of [1, 1, 2])
          await r.run(Owned, 'stamp', { label: `l${day}`, updatedAt: at(day) }, { tenant: 't1', id })
    } finally {
      restore()
    }
    expect(compiled).toBe(3)
    expect(sent).toHaveLength(3)
    for (const text of sent) expect(text).toMatch(/FOR UPDATE\) AS o/)
    const [ea, eb] = [(await fast.events()).events, (await slow.events()).events]
    expect(comparable(ea)).toEqual(comparable(eb))
    // The caller's time is the event's when it changed the row's; the same time again is no change.
    expect(ea.slice(1).map((e) => [e.occurredAt === at(1), e.occurredAt === at(2)])).toEqual([
      [true, false],
      [false, false],
      [false, true],
    ])
    expect((await fast.verifyReplay()).ok).toBe(true)
  })

  it('leaves a multitenant resource to the pipeline when events are ordered by a lock per tenant', async () => {
    const tdb = await backend.create()
    const rewind = await createRewind({
      db: tdb.db,
      resources: [Owned],
      eventLog: {
        table: events,
        actors: { who: (a) => (a as { who?: string })?.who },
        ordering: { advisoryLock: 'tenant' },
      },
      createTables: true,
    })
    try {
      for (const tenant of ['t1', 't2', 't1', 't2'])
        await rewind.run(Owned, 'create', { label: tenant } as never, { tenant })
      expect(compiled).toBe(0)
      const list = (await rewind.events({ limit: 10 })).events
      expect(list.map((e) => e.tenant)).toEqual(['t1', 't2', 't1', 't2'])
    } finally {
      await rewind.close()
      await tdb.close()
    }
  })

  it('keeps 64 shapes of an action: a new shape past them runs on the pipeline, which records the same events', async () => {
    await reset()
    const id = IDS[0]!
    for (const r of [fast, slow]) await r.run(Plain, 'create', { id, label: 'base' } as never)
    compiled = 0
    // Seven optional columns: each set of them given is a shape of the update's values.
    const given = (i: number) => {
      const all = {
        label: `l${i}`,
        n: i,
        ratio: i / 2,
        flag: i % 2 === 0,
        code: `c${i}`,
        doc: { i },
        tags: [`t${i}`],
      }
      return Object.fromEntries(Object.entries(all).filter((_, bit) => i & (1 << bit)))
    }
    const update = async (i: number) => {
      for (const r of [fast, slow]) await r.run(Plain, 'patch', given(i), { id })
    }
    for (let i = 1; i <= 70; i++) await update(i)
    // The first 64 shapes ran compiled; the six after them on the pipeline.
    expect(compiled).toBe(64)
    // A shape it keeps still runs compiled, also the one it used longest ago.
    await update(1)
    await update(64)
    expect(compiled).toBe(66)
    await update(70)
    expect(compiled).toBe(66)
    const [ea, eb] = [
      (await fast.events({ limit: 1000 })).events,
      (await slow.events({ limit: 1000 })).events,
    ]
    expect(ea).toHaveLength(74)
    expect(comparable(ea)).toEqual(comparable(eb))
    expect(ea.at(-1)!.data).toEqual(given(70))
    expect(timeless(await fast.list(Plain))).toEqual(timeless(await slow.list(Plain)))
    expect((await fast.verifyReplay()).ok).toBe(true)
  })
})
