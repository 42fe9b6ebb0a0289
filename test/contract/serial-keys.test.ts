import { bigserial, integer, pgTable, serial, smallserial, text } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { change, createRewind, defineResource, eventLogTable, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'

/**
 * Keys the database makes with a serial (Drizzle's `serial('id').primaryKey()`, the most common key there is):
 * every parameter of such a column was cast to the type `serial`, which does not exist, so the first create
 * failed with "type serial does not exist".
 */

const tickets = pgTable('tickets', {
  id: serial('id').primaryKey(),
  title: text('title').notNull(),
  views: integer('views').notNull().default(0),
})
const tags = pgTable('tags', { id: smallserial('id').primaryKey(), name: text('name').notNull() })
const logs = pgTable('logs', { id: bigserial('id', { mode: 'number' }).primaryKey(), line: text('line') })

const Ticket = defineResource(tickets, {
  name: 'Ticket',
  actions: (a) => ({
    open: a.create({ accept: ['title'] }),
    retitle: a.update({ accept: ['title'] }),
    // Reads its record: the locked read by key, then the write.
    view: a.update({ changes: [change('view', (cs: any) => cs.set('views', (cs.record?.views ?? 0) + 1))] }),
    close: a.destroy(),
  }),
})
const Tag = defineResource(tags, {
  name: 'Tag',
  actions: (a) => ({ add: a.create({ accept: ['name'] }), rename: a.update({ accept: ['name'] }) }),
})
const Log = defineResource(logs, {
  name: 'Log',
  actions: (a) => ({ write: a.create({ accept: ['line'] }), drop: a.destroy() }),
})
const events = eventLogTable('events')

describe.each(backends)('serial keys on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<readonly [typeof Ticket, typeof Tag, typeof Log]>
  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: [Ticket, Tag, Log],
      eventLog: { table: events },
      createTables: true,
    })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it('creates, updates, reads, destroys and replays records whose key is a serial, smallserial or bigserial', async () => {
    const a = await rewind.run(Ticket, 'open', { title: 'a' })
    const b = await rewind.run(Ticket, 'open', { title: 'b' })
    expect([a.id, b.id]).toEqual([1, 2])
    await rewind.run(Ticket, 'retitle', { title: 'a2' }, { id: 1 })
    await rewind.run(Ticket, 'view', {}, { id: 1 })
    await rewind.run(Ticket, 'close', {}, { id: 2 })
    expect(await rewind.get(Ticket, 1)).toEqual({ id: 1, title: 'a2', views: 1 })
    expect(await rewind.get(Ticket, 2)).toBeUndefined()
    const tag = await rewind.run(Tag, 'add', { name: 'x' })
    await rewind.run(Tag, 'rename', { name: 'y' }, { id: tag.id })
    const log = await rewind.run(Log, 'write', { line: 'l' })
    await rewind.run(Log, 'drop', {}, { id: log.id })
    expect((await rewind.history(Ticket, 1)).map((e) => [e.action, e.recordId])).toEqual([
      ['open', '1'],
      ['retitle', '1'],
      ['view', '1'],
    ])
    const list = (await rewind.events()).events
    expect(list[0]!.changedAttributes).toEqual({ id: 1, views: 0 })
    expect(list.map((e) => e.resource)).toEqual([
      'Ticket',
      'Ticket',
      'Ticket',
      'Ticket',
      'Ticket',
      'Tag',
      'Tag',
      'Log',
      'Log',
    ])
    expect((await rewind.verifyReplay()).ok).toBe(true)
    await rewind.replay()
    expect(await rewind.get(Ticket, 1)).toEqual({ id: 1, title: 'a2', views: 1 })
    expect(await rewind.get(Tag, tag.id)).toEqual({ id: 1, name: 'y' })
  })
})
