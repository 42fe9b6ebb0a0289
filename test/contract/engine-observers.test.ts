import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ActionEngine } from '../../src/actions/engine.js'
import type { Committed, RecordedEventObserver } from '../../src/actions/observers.js'
import type { SqlClient } from '../../src/data/database.js'
import {
  createRewind,
  defineProjection,
  defineResource,
  defineSubscription,
  eventLogTable,
  generateId,
  isRewindError,
  type Rewind,
  type RewindEvent,
} from '../../src/index.js'
import { Replayer } from '../../src/replay/replay.js'
import { backends, type TestDatabase } from '../support/backends.js'

const events = eventLogTable('obs_events')
const items = pgTable('obs_items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
})

const Item = defineResource(items, {
  name: 'Item',
  actions: (a) => ({
    create: a.create({ accept: ['name'], changes: [generateId()] }),
    rename: a.update({ accept: ['name'] }),
    /** Not recorded (ignored by the log). */
    quiet: a.create({ accept: ['name'], changes: [generateId()] }),
    /** Fails after its event is recorded (in its after-action hook). */
    createThenFail: a.create({
      accept: ['name'],
      changes: [
        generateId(),
        (cs) =>
          cs.afterAction(() => {
            throw new Error('failed after its event')
          }),
      ],
    }),
    /** After its write: nested creates that fail (one after recording its event) and are caught, one that commits. */
    withChildren: a.create({
      accept: ['name'],
      changes: [
        generateId(),
        (cs) =>
          cs.afterAction(async (record, ctx) => {
            await ctx.run(Item, 'create', { name: record.name }).catch(() => {})
            await ctx.run(Item, 'createThenFail', { name: `${record.name}-x` }).catch(() => {})
            await ctx.run(Item, 'create', { name: `${record.name}-child` })
          }),
      ],
    }),
  }),
  events: { ignore: ['quiet'] },
})

/** An observer of recorded events that wants `create` only, and remembers what it saw. */
function observer(fail?: (event: RewindEvent) => boolean) {
  const seen: { client: SqlClient; event: RewindEvent }[] = []
  const asked: string[] = []
  const recorded: RecordedEventObserver = {
    wants: (resource, action) => {
      asked.push(`${resource.name}.${action}`)
      return action === 'create'
    },
    async recorded(client, event) {
      // On the action's own transaction: the event is visible to it, and its row too.
      const [row] = await client.queryText('SELECT count(*)::text AS n FROM obs_items WHERE id::text = $1', [
        event.recordId,
      ])
      expect(row?.n).toBe('1')
      seen.push({ client, event })
      if (fail?.(event)) throw new Error('the observer refused')
    },
  }
  return { recorded, seen, asked }
}

describe.each(backends)('engine observers on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<readonly [typeof Item]>
  let commits: Committed[]

  const engine = (recorded?: RecordedEventObserver) =>
    new ActionEngine(rewind.database, rewind.resources, rewind.eventLog, {
      ...(recorded ? { recorded } : {}),
      afterCommit: (c) => commits.push(c),
    })
  const all = async () => (await rewind.events({ limit: 1000 })).events

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: [Item],
      eventLog: { table: events },
      createTables: true,
      notifyCommits: false,
    })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })
  beforeEach(async () => {
    await rewind.database.query('DROP TABLE obs_events CASCADE')
    await rewind.database.query('TRUNCATE obs_items')
    await rewind.createTables()
    commits = []
  })

  it('the observer sees each wanted event as stored, in the action transaction; others record as without it', async () => {
    const o = observer()
    const e = engine(o.recorded)
    expect(e.needsRecordedEvent(Item, 'create')).toBe(true)
    expect(e.needsRecordedEvent(Item, 'rename')).toBe(false)
    // Not recorded at all: nothing to see, whatever the observer would say.
    expect(e.needsRecordedEvent(Item, 'quiet')).toBe(false)
    expect(engine().needsRecordedEvent(Item, 'create')).toBe(false)

    const a = (await e.execute(Item, 'create', { name: 'a' }, {})) as { id: string }
    await e.execute(Item, 'rename', { name: 'b' }, { id: a.id })
    await e.execute(Item, 'quiet', { name: 'q' }, {})
    const stored = await all()
    expect(stored.map((x) => x.action)).toEqual(['create', 'rename'])
    // Exactly what a reader of the log gets (position, id, transaction id, payloads).
    expect(o.seen.map((s) => s.event)).toEqual([stored[0]])
    expect(o.asked).toContain('Item.rename')
    expect(o.asked).not.toContain('Item.quiet')
  })

  it('an observer that fails fails the action: neither the row nor its event remains', async () => {
    const o = observer((event) => event.data.name === 'bad')
    const e = engine(o.recorded)
    const error = (await e.execute(Item, 'create', { name: 'bad' }, {}).catch((err: unknown) => err)) as Error
    expect(isRewindError(error)).toBe(true)
    expect(String(error.message)).toContain('the observer refused')
    expect(o.seen).toHaveLength(1)
    expect(await all()).toEqual([])
    expect(await rewind.database.query('SELECT * FROM obs_items')).toEqual([])
    expect(commits).toEqual([])
  })

  it('after-commit: once per commit that recorded events, with their count; never after a rollback, an untracked action or a replay', async () => {
    const e = engine()
    const a = (await e.execute(Item, 'create', { name: 'a' }, {})) as { id: string }
    expect(commits).toEqual([{ events: 1 }])
    await e.execute(Item, 'quiet', { name: 'q' }, {})
    expect(commits).toEqual([{ events: 1 }])
    await expect(e.execute(Item, 'create', { name: 'a' }, {})).rejects.toMatchObject({ code: 'CONFLICT' })
    await expect(e.execute(Item, 'rename', { name: 'x' }, { id: crypto.randomUUID() })).rejects.toMatchObject(
      {
        code: 'NOT_FOUND',
      },
    )
    expect(commits).toEqual([{ events: 1 }])
    // One transaction for three actions.
    await e.executeMany(Item, 'create', [
      { input: { name: 'm1' }, options: {} },
      { input: { name: 'm2' }, options: {} },
      { input: { name: 'm3' }, options: {} },
    ])
    expect(commits).toEqual([{ events: 1 }, { events: 3 }])
    // Nested actions join the transaction: those rolled back to their savepoints are not counted.
    await e.execute(Item, 'withChildren', { name: 'p' }, {})
    expect(commits.at(-1)).toEqual({ events: 2 })
    expect((await all()).slice(-2).map((x) => [x.action, x.data.name])).toEqual([
      ['withChildren', 'p'],
      ['create', 'p-child'],
    ])
    await e.execute(Item, 'rename', { name: 'a2' }, { id: a.id })
    expect(commits).toHaveLength(4)
    // Replay through this engine records no event, so it tells nobody; the tables come back the same.
    const rows = await rewind.database.query('SELECT * FROM obs_items ORDER BY name')
    const result = await new Replayer(rewind.database, e, rewind.eventLog!, rewind.resources).replay()
    expect(result.eventsApplied).toBe(7)
    expect(commits).toHaveLength(4)
    expect(await rewind.database.query('SELECT * FROM obs_items ORDER BY name')).toEqual(
      rows.filter((r) => r.name !== 'q'),
    )
  })

  it('createRewind wires the seams only when asked: no observer without inline projections, no wake-ups without consumers', async () => {
    expect(rewind.engine.observers.recorded).toBeUndefined()
    expect(rewind.engine.observers.afterCommit).toBeUndefined()
    const plain = await createRewind({ db: tdb.db, resources: [Item], eventLog: { table: events } })
    expect(plain.engine.observers).toEqual({})
    const writer = await createRewind({
      db: tdb.db,
      resources: [Item],
      eventLog: { table: events },
      notifyCommits: true,
    })
    expect(writer.engine.observers.recorded).toBeUndefined()
    expect(typeof writer.engine.observers.afterCommit).toBe('function')
    const names = pgTable('obs_names', { id: text('id').primaryKey() })
    const subscribed = await createRewind({
      db: tdb.db,
      resources: [Item],
      eventLog: { table: events },
      consumers: [
        defineSubscription('mailer', { handlers: (on) => [on(Item, 'create', () => {})] }),
        defineProjection('names', {
          lifecycle: 'inline',
          tables: [names],
          handlers: (on) => [on(Item, 'rename', () => {})],
        }),
      ],
    })
    expect(typeof subscribed.engine.observers.afterCommit).toBe('function')
    expect(subscribed.engine.needsRecordedEvent(Item, 'rename')).toBe(true)
    expect(subscribed.engine.needsRecordedEvent(Item, 'create')).toBe(false)
    expect(plain.engine.needsRecordedEvent(Item, 'rename')).toBe(false)
  })
})
