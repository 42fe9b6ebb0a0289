import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createRewind, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { Account, events, loggedResources } from '../support/logged-domain.js'

const KEY = Buffer.alloc(32, 5).toString('base64')

describe.each(backends)('checkConsistency on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof loggedResources>
  const sql = (text: string, params: (string | null)[] = []) => rewind.database.query(text, params)

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: {
        table: events,
        actors: { userId: () => undefined, systemActor: () => undefined },
        encryption: { current: 'k', keys: { k: KEY } },
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
    await sql('TRUNCATE notes, accounts, mirrors CASCADE')
    await rewind.createTables()
  })

  const history = async () => {
    const a = await rewind.run(Account, 'register', {
      email: 'a@example.com',
      name: 'A',
      password: 'pw-secret',
      notes: [{ body: 'n' }],
    })
    const b = await rewind.run(Account, 'register', { email: 'b@example.com', password: 'pw-secret' })
    await rewind.run(Account, 'rename', { name: 'B' }, { id: b.id })
    return { a, b }
  }

  it('is clean after ordinary actions, and reads only', async () => {
    await history()
    const before = await sql('SELECT * FROM accounts ORDER BY id')
    const report = await rewind.checkConsistency()
    expect(report).toEqual({ ok: true, findings: [], events: 4 })
    expect(await sql('SELECT * FROM accounts ORDER BY id')).toEqual(before)
  })

  it('reports each kind of disagreement with resource, id and columns', async () => {
    const first = await history()
    await sql(`UPDATE accounts SET name = 'edited' WHERE id = $1`, [first.a.id])
    await sql(`DELETE FROM notes`)
    await sql(
      `INSERT INTO accounts (id, email, created_at, updated_at) VALUES ('0190a6d4-0000-7000-8000-0000000000bb', 'sneaky@example.com', now(), now())`,
    )
    await sql(
      `INSERT INTO events (record_id, resource, action, action_type, data) VALUES ('x', 'Invoice', 'create', 'create', '{}')`,
    )
    let report = await rewind.checkConsistency()
    expect(report.ok).toBe(false)
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'unknown-resource', resource: 'Invoice' }),
    ])
    // Without the unknown resource, the reconstruction runs and reports the rest.
    await sql('DROP TABLE events CASCADE')
    await rewind.createTables()
    await sql('TRUNCATE notes, accounts, mirrors CASCADE')
    const again = await history()
    await sql(`UPDATE accounts SET name = 'edited' WHERE id = $1`, [again.a.id])
    await sql(`DELETE FROM notes`)
    await sql(
      `INSERT INTO accounts (id, email, created_at, updated_at) VALUES ('0190a6d4-0000-7000-8000-0000000000bb', 'sneaky@example.com', now(), now())`,
    )
    await sql(
      `INSERT INTO events (record_id, resource, action, action_type, data) VALUES ('0190a6d4-0000-7000-8000-0000000000cc', 'Account', 'rename', 'update', '{"name":"ghost"}')`,
    )
    report = await rewind.checkConsistency()
    const kinds = report.findings.map((f) => f.kind).sort()
    expect(kinds).toEqual([
      'event-for-missing-record',
      'event-without-row',
      'row-without-create-event',
      'state-differs',
    ])
    expect(report.findings.find((f) => f.kind === 'state-differs')).toMatchObject({
      resource: 'Account',
      id: again.a.id,
      columns: { name: { live: 'edited', fromLog: 'A' } },
    })
    expect(report.findings.find((f) => f.kind === 'row-without-create-event')).toMatchObject({
      resource: 'Account',
      id: '0190a6d4-0000-7000-8000-0000000000bb',
    })
    expect(report.findings.find((f) => f.kind === 'event-without-row')).toMatchObject({ resource: 'Note' })
  })
  it('reports a dropped or a disabled append-only trigger by name; createTables() restores it', async () => {
    await history()
    const broken = [
      ['DROP TRIGGER events_no_update_delete ON events', /no append-only trigger "events_no_update_delete"/],
      [
        'ALTER TABLE events DISABLE TRIGGER events_no_update_delete',
        /"events_no_update_delete" .* is disabled/,
      ],
      ['DROP TRIGGER events_no_truncate ON events', /no append-only trigger "events_no_truncate"/],
      ['ALTER TABLE events DISABLE TRIGGER events_no_truncate', /"events_no_truncate" .* is disabled/],
    ] as const
    for (const [statement, message] of broken) {
      await sql(statement)
      const report = await rewind.checkConsistency()
      expect(report, statement).toEqual({
        ok: false,
        findings: [{ kind: 'append-only-trigger', message: expect.stringMatching(message) }],
        events: 4,
      })
      await rewind.createTables()
      expect(await rewind.checkConsistency(), statement).toEqual({ ok: true, findings: [], events: 4 })
    }
    // Restored, the trigger refuses changes again.
    await expect(sql("UPDATE events SET action = 'forged'")).rejects.toThrow(/append-only/)
  })

  it('the triggers fire also in a session with session_replication_role = replica (ENABLE ALWAYS)', async () => {
    await history()
    const before = await sql('SELECT * FROM events ORDER BY position')
    expect(before).toHaveLength(4)
    /** Runs one statement in replica mode, in a transaction that is always rolled back. */
    const inReplica = (statement: string) =>
      rewind.database.transaction(async (client) => {
        await client.query('SET LOCAL session_replication_role = replica')
        expect(await client.query('SHOW session_replication_role')).toEqual([
          { session_replication_role: 'replica' },
        ])
        await client.query(statement)
        throw new Error('went through')
      })
    for (const statement of [
      "UPDATE events SET action = 'forged'",
      'DELETE FROM events',
      'TRUNCATE events',
    ]) {
      await expect(inReplica(statement), statement).rejects.toThrow(/append-only/)
    }
    // The control: replica mode does skip a trigger enabled the ordinary way, so the refusals above are
    // owed to ENABLE ALWAYS. (This test ends with the trigger in that state; beforeEach recreates the log.)
    await sql('ALTER TABLE events ENABLE TRIGGER events_no_update_delete')
    await expect(inReplica("UPDATE events SET action = 'forged'")).rejects.toThrow('went through')
    // Every attempt was rolled back: the log is as it was.
    expect(await sql('SELECT * FROM events ORDER BY position')).toEqual(before)
  })
})
