import { randomBytes } from 'node:crypto'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { Account, events, loggedResources } from '../support/logged-domain.js'
import { WORKER_KEY } from './shared.js'

const postgres = backends.filter((b) => b.name === 'postgres')
const eventLog = {
  table: events,
  actors: { userId: () => undefined, systemActor: () => 'app' },
  encryption: { current: 'k', keys: { k: WORKER_KEY } },
}

describe.each(postgres)('least privilege on $name', (backend) => {
  let tdb: TestDatabase
  let owner: Rewind<typeof loggedResources>
  let app: Rewind<typeof loggedResources>
  let pool: pg.Pool
  const role = `rewind_app_${randomBytes(4).toString('hex')}`

  beforeAll(async () => {
    tdb = await backend.create()
    owner = await createRewind({ db: tdb.db, resources: loggedResources, eventLog, createTables: true })
    // The application role: reads and writes its tables, may only INSERT and SELECT on the event log.
    for (const statement of [
      `CREATE ROLE ${role} LOGIN`,
      `GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON accounts, notes, mirrors TO ${role}`,
      `GRANT SELECT, INSERT ON events TO ${role}`,
      // Replay moves identity sequences past the replayed ids.
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`,
      `REVOKE UPDATE ON SEQUENCE events_id_seq, events_position_seq FROM ${role}`,
    ]) {
      await owner.database.query(statement)
    }
    const url = new URL(tdb.url!)
    url.username = role
    pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
    pool.on('error', () => {}) // idle connections closed by the server must not crash the test process
    app = await createRewind({ db: drizzle({ client: pool }), resources: loggedResources, eventLog })
  })
  afterAll(async () => {
    await app?.close()
    await pool?.end()
    await owner?.close()
    await tdb?.close()
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL })
    await admin.connect()
    await admin.query(`DROP ROLE IF EXISTS ${role}`)
    await admin.end()
  })

  it('without sequence privileges, replay fails with a clear error and changes nothing', async () => {
    await owner.database.query(`REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM ${role}`)
    await owner.run(Account, 'register', {
      email: 'seq@example.com',
      password: 'pw-secret',
      notes: [{ body: 'n' }],
    })
    const before = await owner.database.query('SELECT * FROM accounts ORDER BY id')
    await expect(app.replay()).rejects.toMatchObject({ code: 'REPLAY', sqlState: '42501' })
    expect(await owner.database.query('SELECT * FROM accounts ORDER BY id')).toEqual(before)
    await owner.database.query(`GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`)
    await owner.database.query(`REVOKE UPDATE ON SEQUENCE events_id_seq, events_position_seq FROM ${role}`)
    await owner.database.query('DROP TABLE events CASCADE')
    await owner.database.query('TRUNCATE notes, accounts, mirrors')
    await owner.createTables()
    await owner.database.query(`GRANT SELECT, INSERT ON events TO ${role}`)
  })

  it('the application role records events but cannot change or delete them; the trigger stops even the owner', async () => {
    const a = await app.run(Account, 'register', { email: 'lp@example.com', password: 'pw-secret' })
    await app.run(Account, 'rename', { name: 'renamed' }, { id: a.id })
    expect((await app.events()).events).toHaveLength(2)
    for (const statement of [
      "UPDATE events SET action = 'forged'",
      'DELETE FROM events',
      'TRUNCATE events',
    ]) {
      await expect(app.database.query(statement)).rejects.toMatchObject({ code: '42501' })
      await expect(owner.database.query(statement)).rejects.toThrow(/append-only/)
    }
    // Replay needs no privilege on the log beyond reading it.
    const result = await app.replay()
    expect(result.eventsApplied).toBe(2)
    expect((await app.checkConsistency()).findings).toEqual([])
  })
})
