import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineConfig } from '../../src/cli/index.js'
import {
  createRewind,
  defineResource,
  eventLogTable,
  generateId,
  type HistoryEntry,
  timestamps,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { cliRunner } from './support.js'

// Timestamps in Drizzle's default mode: the app sees Dates, which hold milliseconds, while the column and
// the log keep microseconds.
const notes = pgTable('notes', {
  id: uuid('id').primaryKey(),
  title: text('title').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 6 }).notNull(),
})
const noteEvents = eventLogTable('note_events', { actors: { userId: uuid('user_id') } })
const Note = defineResource(notes, {
  name: 'Note',
  actions: (a) => ({
    create: a.create({ accept: ['title'], changes: [generateId(), timestamps()] }),
    rename: a.update({ accept: ['title'], changes: [timestamps({ create: false })] }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})

const makeRewind = (db: unknown, createTables: boolean) =>
  createRewind({
    db,
    resources: [Note],
    createTables,
    eventLog: { table: noteEvents, actors: { userId: (actor) => actor as string | undefined } },
  })

/** A canonical timestamp, as the log holds it. */
const MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/

describe.each(backends)('rewind state prints times as the log holds them, on $name', (backend) => {
  let tdb: TestDatabase
  let app: Awaited<ReturnType<typeof makeRewind>>
  let cli: ReturnType<typeof cliRunner>
  let id: string

  beforeAll(async () => {
    tdb = await backend.create()
    app = await makeRewind(tdb.db, true)
    const note = (await app.run(Note, 'create', { title: 'first' })) as { id: string }
    id = note.id
    await app.run(Note, 'rename', { title: 'second' }, { id })
    // The CLI opens its own instance on the same database and closes only that instance.
    const config = defineConfig({ rewind: () => makeRewind(tdb.db, false), close: (r) => r.close() })
    cli = cliRunner({ config })
  })
  afterAll(async () => {
    await app?.close()
    await tdb?.close()
  })

  it('in --json and in the table, with microseconds, the same values as rewind history', async () => {
    const history = (await cli(['history', 'Note', id, '--json'])).lines.map(
      (l) => JSON.parse(l) as HistoryEntry,
    )
    expect(history.map((e) => e.action)).toEqual(['create', 'rename'])
    const createdAt = history[0]!.changes.createdAt!.to as string
    const updatedAt = history[1]!.changes.updatedAt!.to as string
    expect(createdAt).toMatch(MICROS)
    expect(updatedAt).toMatch(MICROS)

    const now = await cli(['state', 'Note', id, '--json'])
    expect(now.code).toBe(0)
    expect(JSON.parse(now.stdout)).toEqual({ id, title: 'second', createdAt, updatedAt })
    const table = await cli(['state', 'Note', id])
    expect(table.stdout).toContain(`  createdAt  "${createdAt}"\n`)
    expect(table.stdout).toContain(`  updatedAt  "${updatedAt}"\n`)

    const afterCreate = await cli(['state', 'Note', id, '--event', String(history[0]!.id), '--json'])
    expect(JSON.parse(afterCreate.stdout)).toEqual({ id, title: 'first', createdAt, updatedAt: createdAt })
    const atCreate = await cli(['state', 'Note', id, '--at', history[0]!.occurredAt, '--json'])
    expect(JSON.parse(atCreate.stdout)).toEqual(JSON.parse(afterCreate.stdout))
  })

  it('leaves the library API as it was: stateAt returns app values (Dates)', async () => {
    const state = await app.stateAt(Note, id, { eventId: (await app.events()).events[0]!.id })
    expect(state?.createdAt).toBeInstanceOf(Date)
  })
})
