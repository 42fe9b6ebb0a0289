/**
 * The reads the studio adds to the event store (src/events/store: read-newest.ts, read-since.ts,
 * count-activity.ts): pages newest first, what committed since a moment (each event once, whatever order
 * transactions commit in), resources, activity counts.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Org } from '../../examples/accounts/resources.js'
import { backends } from '../support/backends.js'
import { openFixture, type StudioFixture } from './support.js'

describe.each(backends)('log reads for people on $name', (backend) => {
  let fx: StudioFixture
  beforeAll(async () => {
    fx = await openFixture(backend)
  })
  afterAll(async () => fx?.close())
  const store = () => fx.app.eventLog!.store
  const reader = () => fx.app.database

  it('lists the resources that have events, without reading the log', async () => {
    expect(await store().resources(reader())).toEqual(['Article', 'Membership', 'Org', 'User'])
  })

  it('hands out what committed since a moment once, filtered, and says when more came than asked for', async () => {
    const start = await store().snapshot(reader())
    expect((await store().since(reader(), {}, start)).events).toEqual([])
    const a = await fx.app.run(Org, 'create', { name: 'Since A' })
    const b = await fx.app.run(Org, 'create', { name: 'Since B' })
    const first = await store().since(reader(), {}, start)
    expect(first.events.map((e) => e.recordId)).toEqual([a.id, b.id])
    expect(first.overflow).toBe(false)
    expect((await store().since(reader(), {}, first.snapshot)).events).toEqual([])
    expect((await store().since(reader(), { resource: 'User' }, start)).events).toEqual([])
    const capped = await store().since(reader(), {}, start, 1)
    expect(capped.events.map((e) => e.recordId)).toEqual([a.id])
    expect(capped.overflow).toBe(true)
    await expect(store().since(reader(), {}, 'DROP TABLE events')).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('counts activity exactly: the whole log, then only what committed since', async () => {
    const total = async () =>
      Number((await fx.app.database.queryText('SELECT count(*) AS n FROM events'))[0]!.n)
    const whole = await store().activity(reader())
    expect(whole.counts.reduce((n, c) => n + c.count, 0)).toBe(await total())
    await fx.app.run(Org, 'create', { name: 'Counted' })
    const delta = await store().activity(reader(), whole.snapshot)
    expect(delta.counts).toEqual([
      expect.objectContaining({
        resource: 'Org',
        action: 'create',
        count: 1,
        hour: Math.floor(Date.now() / 3_600_000),
      }),
    ])
    expect((await store().activity(reader(), delta.snapshot)).counts).toEqual([])
  })

  it('refuses a page asked both ways, and a malformed cursor', async () => {
    await expect(store().newest(reader(), {}, { before: 5, after: 2 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(store().newest(reader(), {}, { before: 1.5 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(store().newest(reader(), {}, { limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await store().newest(reader(), {}, { before: 1 })).events).toEqual([])
  })
})

describe.each(backends.filter((b) => b.name === 'postgres'))('out-of-order commits on $name', (backend) => {
  let fx: StudioFixture
  beforeAll(async () => {
    fx = await openFixture(backend)
  })
  afterAll(async () => fx?.close())

  it('a transaction that commits after a later position is handed out then, once; nothing is skipped', async () => {
    const store = fx.app.eventLog!.store
    const reader = fx.app.database
    const insert = `INSERT INTO events (record_id, resource, action, action_type, data, changed_attributes)
      VALUES ($1, 'Org', 'create', 'create', '{}', '{}') RETURNING position`
    const early = new pg.Client({ connectionString: fx.tdb.url })
    const late = new pg.Client({ connectionString: fx.tdb.url })
    await early.connect()
    await late.connect()
    try {
      const start = await store.snapshot(reader)
      // The first transaction draws the lower position but commits last.
      await early.query('BEGIN')
      const low = Number((await early.query(insert, ['early'])).rows[0].position)
      await late.query('BEGIN')
      const high = Number((await late.query(insert, ['late'])).rows[0].position)
      expect(low).toBeLessThan(high)
      await late.query('COMMIT')
      const first = await store.since(reader, {}, start)
      expect(first.events.map((e) => e.position)).toEqual([high])
      await early.query('COMMIT')
      const second = await store.since(reader, {}, first.snapshot)
      expect(second.events.map((e) => e.position)).toEqual([low])
      // A rolled-back event never shows.
      await early.query('BEGIN')
      await early.query(insert, ['rolled back'])
      await early.query('ROLLBACK')
      expect((await store.since(reader, {}, second.snapshot)).events).toEqual([])
      // The same through the activity counts.
      const counted = await store.activity(reader, start)
      expect(counted.counts.reduce((n, c) => n + c.count, 0)).toBe(2)
    } finally {
      await early.end()
      await late.end()
    }
  })
})
