/**
 * The reads the studio adds to the log (src/events/log-overview.ts): newest-first pages, what committed since a
 * moment (each event once, whatever order transactions commit in), resources, activity counts.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Org } from '../../examples/accounts/resources.js'
import {
  eventsSince,
  logActivity,
  logResources,
  logSnapshot,
  newestEvents,
} from '../../src/events/log-overview.js'
import { backends } from '../support/backends.js'
import { openFixture, type StudioFixture } from './support.js'

describe.each(backends)('log reads for people on $name', (backend) => {
  let fx: StudioFixture
  beforeAll(async () => {
    fx = await openFixture(backend)
  })
  afterAll(async () => fx?.close())
  const log = () => fx.app.eventLog!
  const query = (text: string, params: (string | null)[]) => fx.app.database.queryText(text, params)

  it('lists the resources that have events, without reading the log', async () => {
    expect(await logResources(log(), query)).toEqual(['Article', 'Membership', 'Org', 'User'])
  })

  it('hands out what committed since a moment once, filtered, and says when more came than asked for', async () => {
    const start = await logSnapshot(query)
    expect((await eventsSince(log(), query, {}, start)).events).toEqual([])
    const a = await fx.app.run(Org, 'create', { name: 'Since A' })
    const b = await fx.app.run(Org, 'create', { name: 'Since B' })
    const first = await eventsSince(log(), query, {}, start)
    expect(first.events.map((e) => e.recordId)).toEqual([a.id, b.id])
    expect(first.overflow).toBe(false)
    expect((await eventsSince(log(), query, {}, first.snapshot)).events).toEqual([])
    expect((await eventsSince(log(), query, { resource: 'User' }, start)).events).toEqual([])
    const capped = await eventsSince(log(), query, {}, start, 1)
    expect(capped.events.map((e) => e.recordId)).toEqual([a.id])
    expect(capped.overflow).toBe(true)
    await expect(eventsSince(log(), query, {}, 'DROP TABLE events')).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })

  it('counts activity exactly: the whole log, then only what committed since', async () => {
    const total = async () => Number((await query('SELECT count(*) AS n FROM events', []))[0]!.n)
    const whole = await logActivity(log(), query)
    expect(whole.counts.reduce((n, c) => n + c.count, 0)).toBe(await total())
    await fx.app.run(Org, 'create', { name: 'Counted' })
    const delta = await logActivity(log(), query, whole.snapshot)
    expect(delta.counts).toEqual([
      expect.objectContaining({
        resource: 'Org',
        action: 'create',
        count: 1,
        hour: Math.floor(Date.now() / 3_600_000),
      }),
    ])
    expect((await logActivity(log(), query, delta.snapshot)).counts).toEqual([])
  })

  it('refuses a page asked both ways, and a malformed cursor', async () => {
    await expect(newestEvents(log(), query, {}, { before: 5, after: 2 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(newestEvents(log(), query, {}, { before: 1.5 })).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(newestEvents(log(), query, {}, { limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION' })
    expect((await newestEvents(log(), query, {}, { before: 1 })).events).toEqual([])
  })
})

describe.each(backends.filter((b) => b.name === 'postgres'))('out-of-order commits on $name', (backend) => {
  let fx: StudioFixture
  beforeAll(async () => {
    fx = await openFixture(backend)
  })
  afterAll(async () => fx?.close())

  it('a transaction that commits after a later position is handed out then, once; nothing is skipped', async () => {
    const query = (text: string, params: (string | null)[]) => fx.app.database.queryText(text, params)
    const insert = `INSERT INTO events (record_id, resource, action, action_type, data, changed_attributes)
      VALUES ($1, 'Org', 'create', 'create', '{}', '{}') RETURNING position`
    const early = new pg.Client({ connectionString: fx.tdb.url })
    const late = new pg.Client({ connectionString: fx.tdb.url })
    await early.connect()
    await late.connect()
    try {
      const start = await logSnapshot(query)
      // The first transaction draws the lower position but commits last.
      await early.query('BEGIN')
      const low = Number((await early.query(insert, ['early'])).rows[0].position)
      await late.query('BEGIN')
      const high = Number((await late.query(insert, ['late'])).rows[0].position)
      expect(low).toBeLessThan(high)
      await late.query('COMMIT')
      const first = await eventsSince(fx.app.eventLog!, query, {}, start)
      expect(first.events.map((e) => e.position)).toEqual([high])
      await early.query('COMMIT')
      const second = await eventsSince(fx.app.eventLog!, query, {}, first.snapshot)
      expect(second.events.map((e) => e.position)).toEqual([low])
      // A rolled-back event never shows.
      await early.query('BEGIN')
      await early.query(insert, ['rolled back'])
      await early.query('ROLLBACK')
      expect((await eventsSince(fx.app.eventLog!, query, {}, second.snapshot)).events).toEqual([])
      // The same through the activity counts.
      const counted = await Promise.all([logActivity(fx.app.eventLog!, query, start)])
      expect(counted[0]!.counts.reduce((n, c) => n + c.count, 0)).toBe(2)
    } finally {
      await early.end()
      await late.end()
    }
  })
})
