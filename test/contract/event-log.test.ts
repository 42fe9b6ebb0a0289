import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createRewind, isRewindError, type Rewind, type RewindError } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { Account, emails, events, loggedResources, Note } from '../support/logged-domain.js'

const KEY1 = Buffer.alloc(32, 1).toString('base64')
const KEY2 = Buffer.alloc(32, 2).toString('base64')
const user = { type: 'user', id: '0190a6d4-0000-7000-8000-000000000001' }
const system = { type: 'system', name: 'importer' }
const actors = {
  userId: (a: unknown) => ((a as { type?: string })?.type === 'user' ? (a as typeof user).id : undefined),
  systemActor: (a: unknown) =>
    (a as { type?: string })?.type === 'system' ? (a as typeof system).name : undefined,
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<RewindError> {
  try {
    await promise
  } catch (e) {
    expect(isRewindError(e), String(e)).toBe(true)
    expect((e as RewindError).code, (e as Error).message).toBe(code)
    return e as RewindError
  }
  throw new Error(`expected ${code}`)
}

describe.each(backends)('the event log on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof loggedResources>
  const all = async () => (await rewind.events({ limit: 10_000 })).events
  const rawEvents = async () => rewind.database.query('SELECT * FROM events ORDER BY position')

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: { table: events, actors },
      createTables: true,
    })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })
  beforeEach(async () => {
    // The log is append-only even for its owner: tests start from a fresh copy of the table instead.
    await rewind.database.query('DROP TABLE events CASCADE')
    await rewind.database.query('TRUNCATE notes, accounts CASCADE')
    await rewind.createTables()
    emails.length = 0
  })

  it('records a create: input in data, everything else the database holds in changed_attributes', async () => {
    const acc = await rewind.run(
      Account,
      'register',
      {
        email: 'ada@example.com',
        name: 'Ada',
        password: 'secret-pw',
        tags: ['x', 'y'],
        prefs: { theme: 'dark' },
      },
      { actor: user, metadata: { requestId: 'req-1' } },
    )
    const [event, ...rest] = await all()
    expect(rest).toEqual([])
    expect(event).toMatchObject({
      resource: 'Account',
      action: 'register',
      actionType: 'create',
      version: 2,
      recordId: acc.id,
      metadata: { requestId: 'req-1' },
      actor: { userId: user.id, systemActor: null },
      tenant: null,
    })
    expect(event!.data).toEqual({
      email: 'ada@example.com',
      name: 'Ada',
      tags: ['x', 'y'],
      prefs: { theme: 'dark' },
      password: null,
    })
    expect(event!.encoders.data).toEqual({ password: 'redacted' })
    expect(event!.changedAttributes).toEqual({
      id: acc.id,
      createdAt: acc.createdAt,
      updatedAt: acc.updatedAt,
      hashedPassword: null,
      status: 'active',
      seq: 0,
      balance: '0.000000',
    })
    expect(event!.encoders.changed).toEqual({ hashedPassword: 'redacted' })
    expect(event!.occurredAt).toBe(acc.createdAt)
    expect(event!.transactionId).toMatch(/^\d+$/)
  })

  it('records updates with only what changed, and occurred_at equal to the update timestamp', async () => {
    const acc = await rewind.run(Account, 'register', {
      email: 'u@example.com',
      name: 'Ada',
      password: 'pw-12345',
    })
    const renamed = await rewind.run(Account, 'rename', { name: 'Ada L.' }, { id: acc.id, actor: system })
    const same = await rewind.run(Account, 'touchNothing', {}, { id: acc.id })
    const shouted = await rewind.run(Account, 'shout', { name: 'quiet' }, { id: acc.id })
    expect(shouted.name).toBe('QUIET')
    const [, rename, touch, shout] = await all()
    expect(rename!.data).toEqual({ name: 'Ada L.' })
    expect(rename!.changedAttributes).toEqual({ updatedAt: renamed.updatedAt })
    expect(rename!.occurredAt).toBe(renamed.updatedAt)
    expect(rename!.actor).toEqual({ userId: null, systemActor: 'importer' })
    expect(touch!.data).toEqual({})
    expect(touch!.changedAttributes).toEqual({})
    expect(same.updatedAt).toBe(renamed.updatedAt)
    // The input said "quiet"; a change made it "QUIET": both are kept, so replay is exact.
    expect(shout!.data).toEqual({ name: 'quiet' })
    expect(shout!.changedAttributes).toEqual({ name: 'QUIET' })
  })

  it('records soft and hard destroys; a stale destroy fails and writes no event', async () => {
    const a = await rewind.run(Account, 'register', { email: 's@example.com', password: 'pw-12345' })
    const archived = await rewind.run(Account, 'archive', {}, { id: a.id })
    const b = await rewind.run(Account, 'register', { email: 'h@example.com', password: 'pw-12345' })
    await rewind.run(Account, 'destroy', {}, { record: b })
    const e = await expectCode(rewind.run(Account, 'destroy', {}, { record: b }), 'STALE')
    expect(e.message).toContain('no longer exists')
    await expectCode(rewind.run(Account, 'destroy', {}, { id: b.id }), 'NOT_FOUND')
    const log = await all()
    expect(log.map((x) => `${x.action}:${x.actionType}`)).toEqual([
      'register:create',
      'archive:destroy',
      'register:create',
      'destroy:destroy',
    ])
    expect(log[1]!.changedAttributes).toEqual({ deletedAt: archived.deletedAt, status: 'archived' })
    expect(log[3]!.data).toEqual({})
    expect(log[3]!.recordId).toBe(b.id)
  })

  it('records upserts with the id of the row they hit and the right occurred_at', async () => {
    const first = await rewind.run(Account, 'upsert', { email: 'up@example.com', name: 'One' })
    const second = await rewind.run(Account, 'upsert', { email: 'up@example.com', name: 'Two' })
    expect(second.id).toBe(first.id)
    const [e1, e2] = await all()
    expect(e1!.recordId).toBe(first.id)
    expect(e2!.recordId).toBe(first.id)
    expect(e1!.occurredAt).toBe(first.createdAt)
    expect(e2!.occurredAt).toBe(second.updatedAt)
    expect(second.updatedAt > second.createdAt).toBe(true)
    expect(e2!.data).toEqual({ email: 'up@example.com', name: 'Two' })
    expect(e2!.changedAttributes).toEqual({ updatedAt: second.updatedAt })
  })

  it('records one event per record in bulk actions, and nested events after their parent', async () => {
    const accs = await rewind.bulkCreate(
      Account,
      'register',
      [
        { email: 'b1@example.com', password: 'pw-12345', notes: [{ body: 'n1' }, { body: 'n2' }] },
        { email: 'b2@example.com', password: 'pw-12345' },
      ],
      { metadata: { batch: 7 } },
    )
    await rewind.bulkUpdate(
      Account,
      'bump',
      accs.map((a) => ({ id: a.id })),
    )
    const log = await all()
    expect(log.map((e) => `${e.resource}.${e.action}`)).toEqual([
      'Account.register',
      'Note.fromParent',
      'Note.fromParent',
      'Account.register',
      'Account.bump',
      'Account.bump',
    ])
    expect(log[1]!.metadata).toEqual({})
    expect(log[0]!.metadata).toEqual({ batch: 7 })
    expect(log[1]!.changedAttributes).toMatchObject({ accountId: accs[0]!.id })
    expect(log[1]!.data).toEqual({ accountId: accs[0]!.id, body: 'n1' })
    const positions = log.map((e) => e.position)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    expect(emails).toEqual(['b1@example.com', 'b2@example.com'])
  })

  it('writes no event for ignored actions, failed actions or a failure after the write', async () => {
    await rewind.run(Account, 'legacyCreate', { email: 'legacy@example.com' })
    await expectCode(
      rewind.run(Account, 'register', { email: 'legacy@example.com', password: 'pw-12345' }),
      'CONFLICT',
    )
    await expectCode(
      rewind.run(Account, 'register', { email: 'x@example.com', password: 'pw' }),
      'VALIDATION',
    )
    await expectCode(
      rewind.run(
        Account,
        'register',
        { email: 'y@example.com', password: 'pw-12345' },
        { actor: { type: 'user', id: 'not-a-uuid' } },
      ),
      'VALIDATION',
    )
    await expectCode(
      rewind.run(
        Account,
        'register',
        { email: 'z@example.com', password: 'pw-12345' },
        { metadata: { bad: Number.NaN } },
      ),
      'VALIDATION',
    )
    expect(await all()).toEqual([])
    const rows = await rewind.database.query('SELECT email FROM accounts ORDER BY email')
    expect(rows.map((r) => r.email)).toEqual(['legacy@example.com'])
  })

  it('stores Dates anywhere in metadata as ISO 8601 strings, and refuses what JSON cannot hold', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z')
    await rewind.run(
      Account,
      'upsert',
      { email: 'md@example.com', name: 'Md' },
      { metadata: { requestId: 'r-1', at, nested: { list: [new Date(0), 1, 'x'], none: null } } },
    )
    const [event] = await all()
    expect(event!.metadata).toEqual({
      requestId: 'r-1',
      at: '2026-01-02T03:04:05.678Z',
      nested: { list: ['1970-01-01T00:00:00.000Z', 1, 'x'], none: null },
    })
    for (const metadata of [
      { at: new Date(Number.NaN) },
      { deep: [{ at: new Date('nope') }] },
      { n: 10n },
      { m: new Map([['a', 1]]) },
      { f: () => 1 },
      { x: Number.POSITIVE_INFINITY },
    ]) {
      const e = await expectCode(
        rewind.run(Account, 'upsert', { email: 'md2@example.com', name: 'Md' }, { metadata }),
        'VALIDATION',
      )
      expect(e.issues.map((i) => i.path)).toEqual([['metadata']])
    }
    expect(await all()).toHaveLength(1)
  })

  it('round-trips values exactly: microseconds, bigint, numeric, binary, arrays of binary, JSON', async () => {
    const bytes = Buffer.from([0, 255, 128, 10, 13, 0xc3, 0x28])
    const acc = await rewind.run(Account, 'register', {
      email: 'v@example.com',
      password: 'pw-12345',
      big: 9223372036854775807n,
      balance: '12345678901234.123456',
      blobs: [Buffer.from([1, 2]), Buffer.from([255])],
      prefs: { nested: [1, { a: null }], unicode: 'é✓😀' },
    })
    expect(acc.big).toBe(9223372036854775807n)
    const [e] = await all()
    expect(e!.data.big).toBe('9223372036854775807')
    expect(e!.data.balance).toBe('12345678901234.123456')
    expect(e!.data.blobs).toEqual(['AQI=', '/w=='])
    expect(e!.encoders.data).toMatchObject({ blobs: 'base64' })
    expect(e!.data.prefs).toEqual({ nested: [1, { a: null }], unicode: 'é✓😀' })
    expect(e!.changedAttributes.createdAt).toMatch(/\.\d{6}Z$/)
    // apiKey is sensitive binary: redacted without a key, never stored.
    const acc2 = await rewind.run(Account, 'register', {
      email: 'w@example.com',
      password: 'pw-12345',
      apiKey: bytes,
    })
    expect(Buffer.compare(acc2.apiKey!, bytes)).toBe(0)
  })

  it('never stores sensitive values in plain text without a key', async () => {
    await rewind.run(Account, 'register', {
      email: 'secret@example.com',
      password: 'hunter2-password',
      apiKey: Buffer.from('super-secret-api-key'),
    })
    const raw = JSON.stringify(await rawEvents())
    expect(raw).not.toContain('hunter2')
    expect(raw).not.toContain(Buffer.from('super-secret-api-key').toString('base64'))
    expect(raw).not.toContain('h(hunter2')
  })

  it('stores tenants and filters the log by resource, record, action, actor, tenant, time and position', async () => {
    const a = await rewind.run(
      Account,
      'register',
      { email: 'f1@example.com', password: 'pw-12345' },
      { actor: user },
    )
    await rewind.run(Account, 'rename', { name: 'X' }, { id: a.id, actor: system })
    const n = await rewind.run(Note, 'create', { accountId: a.id, body: 'hello' }, { actor: system })
    const log = await all()
    expect((await rewind.events({ resource: Note })).events.map((e) => e.recordId)).toEqual([String(n.id)])
    expect((await rewind.events({ resource: 'Account', recordId: a.id })).events).toHaveLength(2)
    expect((await rewind.events({ action: 'rename' })).events).toHaveLength(1)
    expect((await rewind.events({ actor: { systemActor: 'importer' } })).events).toHaveLength(2)
    expect((await rewind.events({ actor: { userId: user.id } })).events).toHaveLength(1)
    expect((await rewind.events({ from: log[1]!.occurredAt })).events.map((e) => e.position)).toEqual(
      log.slice(1).map((e) => e.position),
    )
    expect((await rewind.events({ to: log[0]!.occurredAt })).events).toHaveLength(1)
    const page1 = await rewind.events({ limit: 2 })
    expect(page1.events).toHaveLength(2)
    const page2 = await rewind.events({ limit: 2, afterPosition: page1.nextAfterPosition! })
    expect(page2.events.map((e) => e.position)).toEqual([log[2]!.position])
    expect(page2.nextAfterPosition).toBeUndefined()
    expect((await rewind.history(Account, a.id)).map((e) => e.action)).toEqual(['register', 'rename'])
    await expectCode(rewind.events({ actor: { nope: 1 } }), 'VALIDATION')
    await expectCode(rewind.events({ from: 'yesterday' }), 'VALIDATION')
    await expectCode(rewind.events({ limit: 0 }), 'VALIDATION')
  })

  it('reads one event by id: as a number or its digits, undefined when the log has none, VALIDATION when malformed', async () => {
    const a = await rewind.run(Account, 'register', { email: 'e1@example.com', password: 'pw-12345' })
    await rewind.run(Account, 'rename', { name: 'Y' }, { id: a.id })
    const [first, second] = await all()
    expect(await rewind.event(second!.id)).toEqual(second)
    expect(await rewind.event(String(first!.id))).toEqual(first)
    expect(await rewind.event(Number(second!.id) + 1000)).toBeUndefined()
    const bad = await expectCode(rewind.event('not-an-id'), 'VALIDATION')
    expect(bad.issues[0]?.path).toEqual(['eventId'])
  })

  it('rejects UPDATE, DELETE and TRUNCATE on the event table', async () => {
    await rewind.run(Account, 'register', { email: 'ao@example.com', password: 'pw-12345' })
    for (const statement of ["UPDATE events SET action = 'x'", 'DELETE FROM events', 'TRUNCATE events']) {
      await expect(rewind.database.query(statement)).rejects.toThrow(/append-only/)
    }
    expect(await all()).toHaveLength(1)
  })

  it('a replica session does not get past the trigger; its owner disabling it does, and checkConsistency reports it', async () => {
    // An action without sensitive arguments: redacted values (no key here) cannot be replayed, which the check would report.
    await rewind.run(Account, 'upsert', { email: 'at@example.com', name: 'At' })
    const kinds = async () => (await rewind.checkConsistency()).findings.map((f) => f.kind)
    expect(await kinds()).toEqual([])
    /** Runs an UPDATE of the log in a transaction that is then rolled back: its error message, or 'updated'. */
    const tryUpdate = (setup: string[]) =>
      rewind.database
        .transaction(async (client) => {
          for (const statement of setup) await client.query(statement)
          const outcome = await client.query("UPDATE events SET action = 'forged'").then(
            () => 'updated',
            (e: Error) => e.message,
          )
          throw Object.assign(new Error('roll back'), { outcome })
        })
        .catch((e: { outcome?: string }) => e.outcome)
    // The triggers are ENABLE ALWAYS: a session that skips ordinary triggers still meets them.
    expect(await tryUpdate(['SET LOCAL session_replication_role = replica'])).toMatch(/append-only/)

    // What docs/guarantees.md says: the owner (or a superuser) gets past them by disabling them.
    await rewind.database.query('ALTER TABLE events DISABLE TRIGGER USER')
    await rewind.database.query("UPDATE events SET action = 'forged'")
    expect((await all()).map((e) => e.action)).toEqual(['forged'])
    expect(await kinds()).toContain('append-only-trigger')
    // Enabled again without ALWAYS, a replica session skips them: still reported.
    await rewind.database.query('ALTER TABLE events ENABLE TRIGGER USER')
    expect(await tryUpdate(['SET LOCAL session_replication_role = replica'])).toBe('updated')
    expect(await kinds()).toContain('append-only-trigger')
  })
})

describe.each(backends)('encrypted sensitive values on $name', (backend) => {
  let tdb: TestDatabase
  beforeAll(async () => {
    tdb = await backend.create()
  })
  afterAll(async () => tdb?.close())

  it('encrypts with AES-256-GCM, decrypts on read, and keeps old keys readable after rotation', async () => {
    const r1 = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: { table: events, actors, encryption: { current: 'k1', keys: { k1: KEY1 } } },
      createTables: true,
    })
    const a = await r1.run(Account, 'register', { email: 'enc@example.com', password: 'hunter2-password' })
    const raw = JSON.stringify(await r1.database.query('SELECT data, changed_attributes FROM events'))
    expect(raw).not.toContain('hunter2')
    expect(raw).toContain('rw1:k1:')
    const [e] = (await r1.events()).events
    expect(e!.data.password).toBe('hunter2-password')
    expect(e!.changedAttributes.hashedPassword).toBe('h(hunter2-password)')
    expect(e!.encoders.data).toBeUndefined()

    const r2 = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: { table: events, actors, encryption: { current: 'k2', keys: { k1: KEY1, k2: KEY2 } } },
    })
    await r2.run(Account, 'rename', { name: 'N' }, { id: a.id })
    const both = (await r2.events()).events
    expect(both[0]!.data.password).toBe('hunter2-password')
    const r3 = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: { table: events, actors, encryption: { current: 'k2', keys: { k2: KEY2 } } },
    })
    const erased = (await r3.events()).events[0]!
    expect(erased.data.password).toBeNull()
    expect(erased.encoders.data).toEqual({ password: 'erased' })
  })
})
