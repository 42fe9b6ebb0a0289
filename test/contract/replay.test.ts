import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
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
import { Account, emails, events, loggedResources, Mirror, Note } from '../support/logged-domain.js'

const KEY = Buffer.alloc(32, 7).toString('base64')
const actors = {
  userId: (a: unknown) => (a as { id?: string } | undefined)?.id,
  systemActor: (a: unknown) => (a as { system?: string } | undefined)?.system,
}

const TABLES = ['accounts', 'notes', 'mirrors'] as const

describe.each(backends)('replay, time travel and verification on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof loggedResources>

  const snapshot = async () => {
    const out: Record<string, unknown[]> = {}
    for (const t of TABLES) out[t] = await rewind.database.query(`SELECT * FROM ${t} ORDER BY id`)
    return out
  }

  /** A legacy v1 event of Account.register, written as an older version of the app would have. */
  const legacyEvent = async (id: string, email: string) => {
    await rewind.database.query(
      `INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes, occurred_at)
       VALUES ($1, 'Account', 'register', 'create', 1, $2::jsonb, $3::jsonb, '2020-01-01T00:00:00Z')`,
      [
        id,
        JSON.stringify({ email, name: 'Legacy' }),
        JSON.stringify({
          id,
          createdAt: '2020-01-01T00:00:00.123456Z',
          updatedAt: '2020-01-01T00:00:00.123456Z',
          status: 'active',
        }),
      ],
    )
  }

  /** A varied history: creates with nested notes, updates, soft and hard destroys, upserts, bulk actions. */
  const scenario = async () => {
    const ada = await rewind.run(
      Account,
      'register',
      {
        email: 'ada@example.com',
        name: 'Ada',
        password: 'pw-ada-123',
        notes: [{ body: 'first' }, { body: 'second' }],
      },
      { actor: { id: '0190a6d4-0000-7000-8000-000000000001' }, metadata: { requestId: 'r1' } },
    )
    const bob = await rewind.run(Account, 'register', {
      email: 'bob@example.com',
      password: 'pw-bob-123',
      big: 12345678901234567n,
      balance: '10.500000',
      blobs: [Buffer.from([0, 1, 255])],
      apiKey: Buffer.from([9, 8, 7]),
    })
    await rewind.run(Account, 'rename', { name: 'Ada Lovelace' }, { id: ada.id })
    await rewind.run(Account, 'shout', { name: 'bob' }, { id: bob.id })
    await rewind.bulkUpdate(Account, 'bump', [{ id: ada.id }, { id: bob.id }, { id: ada.id }])
    await rewind.run(Account, 'upsert', { email: 'carol@example.com', name: 'Carol' })
    await rewind.run(Account, 'upsert', { email: 'carol@example.com', name: 'Carol C.' })
    const dave = await rewind.run(Account, 'register', { email: 'dave@example.com', password: 'pw-dave-123' })
    await rewind.run(Account, 'archive', {}, { id: dave.id })
    const eve = await rewind.run(Account, 'register', { email: 'eve@example.com', password: 'pw-eve-123' })
    const note = await rewind.run(Note, 'create', { accountId: eve.id, body: 'bye' })
    await rewind.run(Note, 'destroy', {}, { id: note.id })
    await rewind.run(Account, 'destroy', {}, { id: eve.id })
    await rewind.run(Account, 'legacyCreate', { email: 'untracked@example.com' })
    return { ada, bob, dave, eve }
  }

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: {
        table: events,
        actors,
        encryption: { current: 'k1', keys: { k1: KEY } },
        replayOverrides: [
          {
            resource: 'Account',
            action: 'register',
            versions: [1],
            routeTo: [
              [Account, 'legacyCreate'],
              [Mirror, 'fromAccount'],
            ],
          },
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
    await rewind.database.query('DROP TABLE events CASCADE')
    await rewind.database.query('TRUNCATE notes, accounts, mirrors CASCADE')
    await rewind.createTables()
    emails.length = 0
  })

  it('reproduces every tracked table exactly, sends no emails and writes no events', async () => {
    await scenario()
    // The legacy (ignored) action wrote a row without an event: replay cannot know it, so remove it first.
    await rewind.database.query(`DELETE FROM accounts WHERE email = 'untracked@example.com'`)
    const before = await snapshot()
    const eventCount = (await rewind.events({ limit: 10_000 })).events.length
    emails.length = 0
    const progress: number[] = []
    const result = await rewind.replay({ batchSize: 3, onProgress: (p) => progress.push(p.done) })
    expect(await snapshot()).toEqual(before)
    expect(emails).toEqual([])
    expect((await rewind.events({ limit: 10_000 })).events).toHaveLength(eventCount)
    expect(result.eventsApplied).toBe(eventCount)
    expect(result.counts['Account.register']).toBe(4)
    expect(result.counts['Note.fromParent']).toBe(2)
    expect(progress.at(-1)).toBe(eventCount)
    expect(progress.length).toBeGreaterThan(3)
    expect(result.batches.bulk).toBeGreaterThan(0)
    // The naive path (one action per event) gives the same tables.
    const naive = await rewind.replay({ mode: 'naive' })
    expect(naive.batches).toEqual({ bulk: 0, oneByOne: 1 })
    expect(await snapshot()).toEqual(before)
    await rewind.replay({ batchSize: 3 })
    // Identity sequences moved past replayed ids: a new note gets a fresh id.
    const [someone] = await rewind.list(Account, { limit: 1 })
    const fresh = await rewind.run(Note, 'create', { accountId: someone!.id, body: 'after replay' })
    expect(fresh.id).toBeGreaterThan(3)
    // Replaying twice gives the same tables again.
    await rewind.replay()
    const again = await snapshot()
    expect(again.accounts).toEqual(before.accounts)
  })

  it('replays up to an event id, and up to a time', async () => {
    const { ada } = await scenario()
    const log = (await rewind.events({ limit: 10_000 })).events
    const renameEvent = log.find((e) => e.action === 'rename')!
    await rewind.replay({ untilEventId: renameEvent.id })
    const accounts = await rewind.list(Account, { orderBy: [['email', 'asc']] })
    expect(accounts.map((a) => a.email)).toEqual(['ada@example.com', 'bob@example.com'])
    expect(accounts[0]!.name).toBe('Ada Lovelace')
    expect(accounts[0]!.seq).toBe(0)

    await rewind.replay({ untilTime: log[0]!.occurredAt })
    // The create of Ada occurred at her createdAt; her notes were created later (their own timestamps).
    expect((await rewind.list(Account)).map((a) => a.id)).toEqual([ada.id])
    // untilEventId wins when both are given.
    await rewind.replay({ untilEventId: log[0]!.id, untilTime: new Date() })
    expect((await rewind.list(Account)).map((a) => a.id)).toEqual([ada.id])
    await expect(rewind.replay({ untilEventId: 99999999 })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('routes old versions through overrides to several targets, across resources, with both strategies', async () => {
    const id = '0190a6d4-0000-7000-8000-0000000000aa'
    await legacyEvent(id, 'old@example.com')
    await rewind.replay()
    const acc = await rewind.get(Account, id)
    expect(acc).toMatchObject({
      email: 'old@example.com',
      name: 'Legacy',
      createdAt: '2020-01-01T00:00:00.123456Z',
    })
    // Mirror.fromAccount replays with asArguments: accepted input only, its own change computes the rest.
    const mirror = await rewind.get(Mirror, id)
    expect(mirror).toEqual({ id, email: 'old@example.com', note: 'mirrored' })
    expect(await rewind.stateAt(Mirror, id, { at: new Date() })).toEqual({
      id,
      email: 'old@example.com',
      note: null,
    })
  })

  it('a failing event leaves the database untouched and names the event; skip mode reports it', async () => {
    await scenario()
    await rewind.database.query(`DELETE FROM accounts WHERE email = 'untracked@example.com'`)
    await rewind.database.query(
      `INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes)
       VALUES ('0190a6d4-0000-7000-8000-0000000000ff', 'Account', 'rename', 'update', 1, '{"name":"ghost"}', '{}')`,
    )
    const before = await snapshot()
    const err = (await rewind.replay().catch((e) => e)) as RewindError
    expect(isRewindError(err, 'REPLAY')).toBe(true)
    expect(err.message).toMatch(
      /replay failed at event \d+ \(position \d+, Account\.rename v1\): .*no Account with id/,
    )
    expect(err.details.position).toBeTypeOf('number')
    expect(await snapshot()).toEqual(before)
    const result = await rewind.replay({ missingRecords: 'skip' })
    expect(result.skipped).toHaveLength(1)
    expect(result.skipped[0]).toMatchObject({ resource: 'Account', action: 'rename' })
    expect(await snapshot()).toEqual(before)
  })

  it('time travel: history with field changes, state at an event and at a time, from the log alone', async () => {
    const { ada, eve } = await scenario()
    const history = await rewind.history(Account, ada.id)
    expect(history.map((h) => h.action)).toEqual(['register', 'rename', 'bump', 'bump'])
    expect(history[1]!.changes.name).toEqual({ from: 'Ada', to: 'Ada Lovelace' })
    expect(history[0]!.metadata).toEqual({ requestId: 'r1' })
    expect(history[0]!.actor.userId).toBe('0190a6d4-0000-7000-8000-000000000001')
    const afterRename = await rewind.stateAt(Account, ada.id, { eventId: history[1]!.id })
    expect(afterRename).toMatchObject({ name: 'Ada Lovelace', seq: 0 })
    expect(await rewind.stateAt(Account, ada.id, { at: '2000-01-01T00:00:00Z' })).toBeUndefined()
    expect(await rewind.stateAt(Account, eve.id, { at: new Date(Date.now() + 60_000) })).toBeUndefined()
    // stateAt(latest) equals the live row for every record, sensitive values included (decrypted).
    for (const live of await rewind.list(Account)) {
      if (live.email === 'untracked@example.com') continue
      expect(await rewind.stateAt(Account, live.id, { at: new Date(Date.now() + 60_000) })).toEqual(live)
    }
    for (const live of await rewind.list(Note)) {
      expect(await rewind.stateAt(Note, live.id, { at: new Date(Date.now() + 60_000) })).toEqual(live)
    }
    await expect(rewind.stateAt(Account, ada.id, {} as never)).rejects.toMatchObject({ code: 'VALIDATION' })
  })

  it('verifyReplay reports no difference, then exactly a change made behind its back, without modifying data', async () => {
    const { ada, bob } = await scenario()
    await rewind.database.query(`DELETE FROM accounts WHERE email = 'untracked@example.com'`)
    const clean = await rewind.verifyReplay()
    expect(clean.differences).toEqual([])
    expect(clean.ok).toBe(true)
    await rewind.database.query(`UPDATE accounts SET name = 'tampered' WHERE id = $1`, [ada.id])
    await rewind.database.query(`DELETE FROM notes WHERE body = 'first'`)
    await rewind.database.query(`UPDATE accounts SET seq = 42 WHERE id = $1`, [bob.id])
    const before = await snapshot()
    const dirty = await rewind.verifyReplay()
    expect(dirty.ok).toBe(false)
    const accountRows = dirty.differences.find((d) => d.resource === 'Account')!.rows
    expect(accountRows).toEqual(
      expect.arrayContaining([
        { id: ada.id, kind: 'changed', columns: { name: { live: 'tampered', replayed: 'Ada Lovelace' } } },
        { id: bob.id, kind: 'changed', columns: { seq: { live: 42, replayed: 1 } } },
      ]),
    )
    expect(accountRows).toHaveLength(2)
    const noteRows = dirty.differences.find((d) => d.resource === 'Note')!.rows
    expect(noteRows).toEqual([{ id: expect.any(String), kind: 'extra', columns: {} }])
    expect(await snapshot()).toEqual(before)
  })

  it('without an encryption key, a redacted input cannot be replayed and the error says which event', async () => {
    const plain = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: { table: events, actors },
    })
    await plain.run(Account, 'register', { email: 'plain@example.com', password: 'pw-plain-1' })
    const err = (await plain.replay().catch((e) => e)) as RewindError
    expect(err.code).toBe('REPLAY')
    expect(err.message).toMatch(/Account\.register v2\): .*password/)
  })
})

/** Which id and update time a change saw, live and in replay. */
const seen: { replaying: boolean; id: unknown; updatedAt: unknown }[] = []
const peek = change('peek', (cs) => {
  seen.push({ replaying: cs.replaying, id: cs.get('id' as never), updatedAt: cs.get('updatedAt' as never) })
})
const stamp = (name: string) => timestamp(name, { withTimezone: true, precision: 6, mode: 'string' })
const gadgets = pgTable('gadgets', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: stamp('created_at').notNull(),
  updatedAt: stamp('updated_at').notNull(),
})
const Gadget = defineResource(gadgets, {
  name: 'Gadget',
  actions: (a) => ({
    create: a.create({ accept: ['name'], changes: [generateId(), timestamps(), peek] }),
    rename: a.update({ accept: ['name'], changes: [timestamps({ create: false }), peek] }),
  }),
})

describe.each(backends)('replay on $name: built-in changes take the recorded values', (backend) => {
  let tdb: TestDatabase
  afterAll(async () => tdb?.close())

  it('a change after generateId and timestamps sees the id and time the event recorded, not new ones', async () => {
    tdb = await backend.create()
    const rewind = await createRewind({
      db: tdb.db,
      resources: [Gadget],
      eventLog: { table: eventLogTable('gadget_events') },
      createTables: true,
    })
    try {
      seen.length = 0
      const g = await rewind.run(Gadget, 'create', { name: 'a' })
      await rewind.run(Gadget, 'rename', { name: 'b' }, { id: g.id })
      const live = seen.splice(0)
      expect(live.map((s) => s.replaying)).toEqual([false, false])
      expect(live[0]!.id).toBe(g.id)

      for (const mode of ['batched', 'naive'] as const) {
        await rewind.replay({ mode })
        const replayed = seen.splice(0)
        expect(replayed).toEqual(live.map((s) => ({ ...s, replaying: true })))
      }
      expect(await rewind.get(Gadget, g.id)).toMatchObject({ name: 'b', updatedAt: live[1]!.updatedAt })
    } finally {
      await rewind.close()
    }
  })
})
