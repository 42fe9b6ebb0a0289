import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import {
  change,
  createRewind,
  defineResource,
  eventLogTable,
  generateId,
  isRewindError,
  type Rewind,
  type RewindError,
  timestamps,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'

/**
 * Behaviours users hit when they tried Rewind as a new user would (tenancy, replay, capture): each test
 * failed before its fix, on both backends.
 */

const stamp = (name: string) => timestamp(name, { withTimezone: true, precision: 6, mode: 'string' })

// Tenancy: a tenant column, and a SKU unique across all tenants (a global identity).
const items = pgTable('items', {
  id: uuid('id').primaryKey(),
  orgId: uuid('org_id').notNull(),
  sku: text('sku').notNull().unique(),
  name: text('name').notNull(),
  createdAt: stamp('created_at').notNull(),
  updatedAt: stamp('updated_at').notNull(),
})
const Item = defineResource(items, {
  name: 'Item',
  tenant: 'orgId',
  identities: { bySku: ['sku'] },
  actions: (a) => ({
    create: a.create({ accept: ['sku', 'name'], changes: [generateId(), timestamps()] }),
    // No updatedAt in `update`: the timestamps() change sets it on the update path too.
    upsert: a.create({
      accept: ['sku', 'name'],
      changes: [generateId(), timestamps()],
      upsert: { identity: 'bySku', update: ['name'] },
    }),
    rename: a.update({ accept: ['name'], changes: [timestamps({ create: false })] }),
  }),
})

// Replay with hooks allowed: what the hooks did, live and in replay.
const heard: string[] = []
const tasks = pgTable('tasks', {
  id: uuid('id').primaryKey(),
  title: text('title').notNull(),
  done: integer('done').notNull().default(0),
})
const audit = change('audit', (cs) => {
  cs.beforeAction(() => void heard.push(`before:${String(cs.get('title' as never))}`))
  cs.afterAction((record) => void heard.push(`after:${(record as { title: string }).title}`))
  cs.afterTransaction((outcome) => void heard.push(`tx:${outcome.ok}`))
})
const Task = defineResource(tasks, {
  name: 'Task',
  actions: (a) => ({
    create: a.create({ accept: ['title'], changes: [generateId(), audit] }),
    finish: a.update({ changes: [(cs) => cs.set('done', 1), audit] }),
  }),
  events: { allowHooksInReplay: { create: ['audit'], finish: ['audit'] } },
})

// Legacy versions routed to other actions.
const people = pgTable('people', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  nickname: text('nickname'),
  createdAt: stamp('created_at').notNull(),
  updatedAt: stamp('updated_at').notNull(),
})
const Person = defineResource(people, {
  name: 'Person',
  actions: (a) => ({
    create: a.create({ accept: ['name'], changes: [generateId(), timestamps()] }),
    // v1 events carried a `fullName` argument; the legacy action computes `name` from it.
    createV1: a.create({
      arguments: { fullName: z.string() },
      changes: [generateId(), timestamps(), (cs) => cs.set('name', cs.args.fullName)],
    }),
    // v2 events carried `nickname`, which this target does not accept.
    createV2: a.create({ accept: ['name'], changes: [generateId(), timestamps()] }),
    createV2Lenient: a.create({
      accept: ['name'],
      ignoreUnknownInputs: true,
      changes: [generateId(), timestamps()],
    }),
    rename: a.update({ accept: ['name'], changes: [timestamps({ create: false })] }),
  }),
  events: { ignore: ['createV1', 'createV2', 'createV2Lenient'], versions: { create: 3 } },
})

// asArguments: replay merges recorded columns into the input; ids and times must still be the recorded ones.
const notes = pgTable('notes', {
  id: uuid('id').primaryKey(),
  body: text('body').notNull(),
  createdAt: stamp('created_at').notNull(),
  updatedAt: stamp('updated_at').notNull(),
})
const Note = defineResource(notes, {
  name: 'Note',
  actions: (a) => ({
    create: a.create({ accept: ['body'], changes: [generateId(), timestamps()] }),
    edit: a.update({ accept: ['body'], changes: [timestamps({ create: false })] }),
  }),
  events: { replayStrategy: { create: 'asArguments', edit: 'asArguments' } },
})

// Capture: an update timestamp column that some updates do not set.
const docs = pgTable('docs', {
  id: uuid('id').primaryKey(),
  title: text('title').notNull().unique(),
  views: integer('views').notNull().default(0),
  updatedAt: stamp('updated_at').notNull(),
})
const Doc = defineResource(docs, {
  name: 'Doc',
  actions: (a) => ({
    create: a.create({ accept: ['title'], changes: [generateId(), timestamps({ create: false })] }),
    retitle: a.update({ accept: ['title'], changes: [timestamps({ create: false })] }),
    // Counts a view without touching updatedAt.
    view: a.update({ changes: [(cs) => cs.set('views', (cs.record?.views ?? 0) + 1)] }),
    // After-transaction hooks must hear of the failures of their own action.
    failAfter: a.update({
      accept: ['title'],
      changes: [
        change('listen', (cs) => cs.afterTransaction((o) => void outcomes.push(o.ok ? 'ok' : 'failed'))),
        (cs) => cs.afterAction(() => Promise.reject(new Error('after-action hook failed'))),
      ],
    }),
    createListening: a.create({
      accept: ['title'],
      changes: [
        generateId(),
        timestamps({ create: false }),
        change('listen', (cs) => cs.afterTransaction((o) => void outcomes.push(o.ok ? 'ok' : 'failed'))),
      ],
    }),
    // A generic action that calls a failing nested action and carries on.
    tolerant: a.action({
      arguments: { title: z.string() },
      run: async (ctx) => {
        const doc = (await ctx.run(Doc, 'create', { title: ctx.args.title })) as { id: string }
        await ctx.run(Doc, 'failAfter', { title: 'nested' }, { id: doc.id }).catch(() => undefined)
        return doc.id
      },
    }),
  }),
  events: { updateTimestamp: 'updatedAt' },
})
const outcomes: string[] = []

const events = eventLogTable('events')
const resources = [Item, Task, Person, Note, Doc] as const

describe.each(backends)('correctness on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof resources>
  const sql = (text: string, params: (string | null)[] = []) => rewind.database.query(text, params)
  const orgA = '0190a6d4-0000-7000-8000-00000000000a'
  const orgB = '0190a6d4-0000-7000-8000-00000000000b'

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources,
      eventLog: {
        table: events,
        replayOverrides: [
          { resource: 'Person', action: 'create', versions: [1], routeTo: [[Person, 'createV1']] },
          { resource: 'Person', action: 'create', versions: [2], routeTo: [[Person, 'createV2']] },
        ],
      },
      createTables: true,
    })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })
  beforeEach(async () => {
    await sql('DROP TABLE events CASCADE')
    await sql('TRUNCATE items, tasks, people, notes, docs')
    await rewind.createTables()
    heard.length = 0
    outcomes.length = 0
  })

  const eventRows = async () => sql('SELECT * FROM events ORDER BY position')

  describe('tenancy', () => {
    it("an upsert never updates another tenant's row: it is a CONFLICT and nothing is written", async () => {
      const mine = await rewind.run(Item, 'create', { sku: 'S-1', name: 'A' }, { tenant: orgA })
      const before = await eventRows()
      const err = (await rewind
        .run(Item, 'upsert', { sku: 'S-1', name: 'B' }, { tenant: orgB })
        .catch((e) => e)) as RewindError
      expect(isRewindError(err, 'CONFLICT')).toBe(true)
      expect(err.message).not.toContain(orgA)
      expect(await rewind.get(Item, mine.id, { tenant: orgA })).toEqual(mine)
      expect(await rewind.get(Item, mine.id, { tenant: orgB })).toBeUndefined()
      expect(await eventRows()).toEqual(before)
      // Within its own tenant the upsert updates as usual.
      const updated = await rewind.run(Item, 'upsert', { sku: 'S-1', name: 'A2' }, { tenant: orgA })
      expect(updated).toMatchObject({ id: mine.id, name: 'A2' })
    })

    it('the event stores the tenant as its column does (a uuid given in upper case)', async () => {
      const upper = orgA.toUpperCase()
      const item = await rewind.run(Item, 'create', { sku: 'S-2', name: 'A' }, { tenant: upper })
      expect(item.orgId).toBe(orgA)
      const [event] = (await rewind.events({ resource: Item })).events
      expect(event!.tenant).toBe(orgA)
      // Filters find it whichever way the tenant is spelled.
      expect((await rewind.events({ tenant: upper })).events).toHaveLength(1)
      expect((await rewind.events({ tenant: orgA })).events).toHaveLength(1)
      // And a one-tenant replay given the upper-case spelling replays it.
      await rewind.replay({ tenant: upper })
      expect(await rewind.get(Item, item.id, { tenant: orgA })).toEqual(item)
    })
  })

  describe('replay', () => {
    it('runs the hooks of allowed changes in batched replay as in naive replay', async () => {
      const t = await rewind.run(Task, 'create', { title: 'one' })
      await rewind.run(Task, 'finish', {}, { id: t.id })
      const live = heard.splice(0)
      expect(live).toEqual(['before:one', 'after:one', 'tx:true', 'before:one', 'after:one', 'tx:true'])
      // Replay is one transaction: the after-transaction hooks run once it has committed.
      for (const mode of ['naive', 'batched'] as const) {
        await rewind.replay({ mode })
        expect(heard.splice(0)).toEqual([
          'before:one',
          'after:one',
          'before:one',
          'after:one',
          'tx:true',
          'tx:true',
        ])
      }
      expect(await rewind.verifyReplay()).toMatchObject({ ok: true })
    })

    const legacy = async (version: number, data: object, changed: object) => {
      const id = '0190a6d4-0000-7000-8000-0000000000c1'
      await sql(
        `INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes, occurred_at)
         VALUES ($1, 'Person', 'create', 'create', $2::int, $3::jsonb, $4::jsonb, '2020-01-01T00:00:00Z')`,
        [id, String(version), JSON.stringify(data), JSON.stringify({ id, ...changed })],
      )
      return id
    }
    const times = { createdAt: '2020-01-01T00:00:00.123456Z', updatedAt: '2020-01-01T00:00:00.123456Z' }

    it('a routed legacy action keeps what its own changes compute, and takes the recorded id and times', async () => {
      const id = await legacy(1, { fullName: 'Ada Lovelace' }, times)
      for (const mode of ['batched', 'naive'] as const) {
        await rewind.replay({ mode })
        expect(await rewind.get(Person, id)).toEqual({ id, name: 'Ada Lovelace', nickname: null, ...times })
      }
    })

    it('refuses event keys the routed action does not accept, naming the event and the key', async () => {
      await legacy(2, { name: 'Ada', nickname: 'ada' }, times)
      for (const mode of ['batched', 'naive'] as const) {
        const err = (await rewind.replay({ mode }).catch((e) => e)) as RewindError
        expect(isRewindError(err, 'REPLAY')).toBe(true)
        expect(err.message).toMatch(/event \d+ \(position 1, Person\.create v2 routed to Person\.createV2\)/)
        expect(err.message).toContain('"nickname"')
        expect(await rewind.list(Person)).toEqual([])
      }
    })

    it('a target that opts in with ignoreUnknownInputs replays them without the unknown keys', async () => {
      const lenient = await createRewind({
        db: tdb.db,
        resources,
        eventLog: {
          table: events,
          replayOverrides: [
            { resource: 'Person', action: 'create', versions: [2], routeTo: [[Person, 'createV2Lenient']] },
          ],
        },
      })
      const id = await legacy(2, { name: 'Ada', nickname: 'ada' }, times)
      await lenient.replay()
      expect(await rewind.get(Person, id)).toEqual({ id, name: 'Ada', nickname: null, ...times })
    })

    it('asArguments replays take the recorded ids and times, not new ones', async () => {
      const n = await rewind.run(Note, 'create', { body: 'a' })
      await new Promise((r) => setTimeout(r, 5))
      const edited = await rewind.run(Note, 'edit', { body: 'b' }, { id: n.id })
      for (const mode of ['batched', 'naive'] as const) {
        await rewind.replay({ mode })
        expect(await rewind.get(Note, n.id)).toEqual(edited)
      }
      expect(await rewind.verifyReplay()).toMatchObject({ ok: true, differences: [] })
    })

    it('accepts an event id given as a numeric string (the CLI and URLs spell them so)', async () => {
      const p = await rewind.run(Person, 'create', { name: 'a' })
      await rewind.run(Person, 'rename', { name: 'b' }, { id: p.id })
      const [first] = (await rewind.events({ resource: Person })).events
      expect(await rewind.stateAt(Person, p.id, { eventId: String(first!.id) })).toMatchObject({ name: 'a' })
      await rewind.replay({ untilEventId: String(first!.id) })
      expect(await rewind.get(Person, p.id)).toMatchObject({ name: 'a' })
      await expect(rewind.stateAt(Person, p.id, { eventId: '1.5' })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
    })
  })

  describe('capture', () => {
    it('refuses an update that would change the primary key, writing nothing', async () => {
      expect(() =>
        defineResource(people, {
          actions: (a) => ({ move: a.update({ accept: ['id', 'name'] }) }),
        }),
      ).toThrow(/action "move" accepts the primary key "id"/)
      const Moving = defineResource(people, {
        name: 'Moving',
        actions: (a) => ({
          create: a.create({ accept: ['name'], changes: [generateId(), timestamps()] }),
          move: a.update({ changes: [(cs) => cs.set('id', '0190a6d4-0000-7000-8000-0000000000ee')] }),
        }),
      })
      const own = await createRewind({ db: tdb.db, resources: [Moving], eventLog: { table: events } })
      const p = await own.run(Moving, 'create', { name: 'x' })
      const before = await eventRows()
      const err = (await own.run(Moving, 'move', {}, { id: p.id }).catch((e) => e)) as RewindError
      expect(isRewindError(err, 'VALIDATION')).toBe(true)
      expect(err.message).toMatch(/Moving\.move: id is the primary key; an update cannot change it/)
      expect(await own.get(Moving, p.id)).toEqual(p)
      expect(await eventRows()).toEqual(before)
    })

    it("an update that does not set the update timestamp records when it happened, not the column's old value", async () => {
      const d = await rewind.run(Doc, 'create', { title: 'a' })
      await new Promise((r) => setTimeout(r, 20))
      const t0 = Date.now()
      await rewind.run(Doc, 'view', {}, { id: d.id })
      const events = (await rewind.events({ resource: Doc })).events
      expect(events.map((e) => e.action)).toEqual(['create', 'view'])
      expect(Date.parse(events[1]!.occurredAt)).toBeGreaterThanOrEqual(t0)
      expect(events[1]!.occurredAt > d.updatedAt).toBe(true)
      // stateAt a time between the two sees the first state.
      expect(await rewind.stateAt(Doc, d.id, { at: new Date(t0 - 1) })).toMatchObject({ views: 0 })
      // An update that sets it takes it as its time.
      const r = await rewind.run(Doc, 'retitle', { title: 'b' }, { id: d.id })
      expect((await rewind.events({ resource: Doc })).events[2]!.occurredAt).toBe(r.updatedAt)
    })

    it('records times that follow the wall clock: stateAt(t1) misses an action done after t1', async () => {
      const d = await rewind.run(Doc, 'create', { title: 'a' })
      // The monotonic clock falls 59 ms behind the wall clock (seen under load in 3 s).
      const realNow = performance.now.bind(performance)
      vi.spyOn(performance, 'now').mockImplementation(() => realNow() - 59)
      try {
        await new Promise((r) => setTimeout(r, 5))
        const t1 = new Date()
        await new Promise((r) => setTimeout(r, 2))
        await rewind.run(Doc, 'retitle', { title: 'b' }, { id: d.id })
        expect(await rewind.stateAt(Doc, d.id, { at: t1 })).toMatchObject({ title: 'a' })
      } finally {
        vi.restoreAllMocks()
      }
    })

    it('after-transaction hooks hear of the failure of their own action', async () => {
      const d = await rewind.run(Doc, 'create', { title: 'a' })
      await expect(rewind.run(Doc, 'failAfter', { title: 'b' }, { id: d.id })).rejects.toMatchObject({
        code: 'INTERNAL',
      })
      expect(outcomes.splice(0)).toEqual(['failed'])
      // A conflict in the write: the title is taken.
      await expect(rewind.run(Doc, 'createListening', { title: 'a' })).rejects.toMatchObject({
        code: 'CONFLICT',
      })
      expect(outcomes.splice(0)).toEqual(['failed'])
      await rewind.run(Doc, 'createListening', { title: 'c' })
      expect(outcomes.splice(0)).toEqual(['ok'])
    })

    it('a nested action that fails and is caught leaves nothing of itself behind', async () => {
      const before = (await eventRows()).length
      const id = await rewind.run(Doc, 'tolerant', { title: 'outer' })
      const doc = await rewind.get(Doc, id)
      expect(doc).toMatchObject({ title: 'outer' })
      const log = await rewind.events({ resource: Doc })
      expect(log.events.map((e) => e.action)).toEqual(['create'])
      expect((await eventRows()).length).toBe(before + 1)
      expect(outcomes.splice(0)).toEqual(['failed'])
    })

    it("an upsert's update path sets the timestamps() update column without listing it in update", async () => {
      const first = await rewind.run(Item, 'upsert', { sku: 'S-9', name: 'A' }, { tenant: orgA })
      await new Promise((r) => setTimeout(r, 5))
      const second = await rewind.run(Item, 'upsert', { sku: 'S-9', name: 'B' }, { tenant: orgA })
      expect(second.id).toBe(first.id)
      expect(second.createdAt).toBe(first.createdAt)
      expect(second.updatedAt > first.updatedAt).toBe(true)
      expect(await rewind.verifyReplay()).toMatchObject({ ok: true })
    })
  })
})
