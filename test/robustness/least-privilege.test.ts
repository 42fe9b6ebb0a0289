import { randomBytes } from 'node:crypto'
import type { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, type Rewind } from '../../src/index.js'
import { type Backend, backends, type TestDatabase } from '../support/backends.js'
import { Account, events, loggedResources } from '../support/logged-domain.js'
import { WORKER_KEY } from './shared.js'

const eventLog = {
  table: events,
  actors: { userId: () => undefined, systemActor: () => 'app' },
  encryption: { current: 'k', keys: { k: WORKER_KEY } },
}

/** The application's Rewind instance, whose statements run as the application role. */
interface AppAccess {
  readonly app: Rewind<typeof loggedResources>
  /** Runs `fn` with the application's statements executed as the application role. */
  as<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

/**
 * On PostgreSQL the application logs in as its role over its own pool, as a deployed app does. PGlite is one
 * session with one user, so there the application's instance shares the owner's client and runs under
 * `SET ROLE`, which makes PostgreSQL check privileges as that role exactly as for a login; the owner's
 * statements run outside `as`, after `RESET ROLE`.
 */
async function appAccess(backend: Backend, tdb: TestDatabase, role: string): Promise<AppAccess> {
  if (backend.name === 'postgres') {
    const url = new URL(tdb.url!)
    url.username = role
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
    pool.on('error', () => {}) // idle connections closed by the server must not crash the test process
    const app = await createRewind({ db: drizzle({ client: pool }), resources: loggedResources, eventLog })
    return {
      app,
      as: (fn) => fn(),
      async close() {
        await app.close()
        await pool.end()
      },
    }
  }
  const client = tdb.db.$client as PGlite
  const app = await createRewind({ db: tdb.db, resources: loggedResources, eventLog })
  return {
    app,
    async as(fn) {
      await client.query(`SET ROLE ${role}`)
      try {
        return await fn()
      } finally {
        await client.query('RESET ROLE')
      }
    },
    close: () => app.close(),
  }
}

describe.each(backends)('least privilege on $name', (backend) => {
  let tdb: TestDatabase
  let owner: Rewind<typeof loggedResources>
  let access: AppAccess
  // Roles belong to the whole PostgreSQL cluster, which test files share: a name of this run's own.
  const role = `rewind_app_${randomBytes(4).toString('hex')}`

  /** Runs `fn` as the application, first making sure its statements really run as the application role. */
  const asApp = <T>(fn: (app: Rewind<typeof loggedResources>) => Promise<T>) =>
    access.as(async () => {
      expect(await access.app.database.query('SELECT current_user AS u')).toEqual([{ u: role }])
      return fn(access.app)
    })

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
    access = await appAccess(backend, tdb, role)
  })
  afterAll(async () => {
    await access?.close()
    await owner?.close()
    await tdb?.close()
    if (backend.name === 'postgres') {
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL })
      await admin.connect()
      await admin.query(`DROP ROLE IF EXISTS ${role}`)
      await admin.end()
    }
  })

  it('without sequence privileges, replay fails with a clear error and changes nothing', async () => {
    await owner.database.query(`REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM ${role}`)
    await owner.run(Account, 'register', {
      email: 'seq@example.com',
      password: 'pw-secret',
      notes: [{ body: 'n' }],
    })
    const before = await owner.database.query('SELECT * FROM accounts ORDER BY id')
    await asApp(async (app) => {
      await expect(app.replay()).rejects.toMatchObject({ code: 'REPLAY', sqlState: '42501' })
    })
    expect(await owner.database.query('SELECT * FROM accounts ORDER BY id')).toEqual(before)
    await owner.database.query(`GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`)
    await owner.database.query(`REVOKE UPDATE ON SEQUENCE events_id_seq, events_position_seq FROM ${role}`)
    await owner.database.query('DROP TABLE events CASCADE')
    await owner.database.query('TRUNCATE notes, accounts, mirrors')
    await owner.createTables()
    await owner.database.query(`GRANT SELECT, INSERT ON events TO ${role}`)
  })

  it('the application role records events but cannot change or delete them; the trigger stops even the owner', async () => {
    const statements = ["UPDATE events SET action = 'forged'", 'DELETE FROM events', 'TRUNCATE events']
    await asApp(async (app) => {
      const a = await app.run(Account, 'register', { email: 'lp@example.com', password: 'pw-secret' })
      await app.run(Account, 'rename', { name: 'renamed' }, { id: a.id })
      expect((await app.events()).events).toHaveLength(2)
      // Refused by privileges: the trigger never gets to run.
      for (const statement of statements) {
        await expect(app.database.query(statement)).rejects.toMatchObject({ code: '42501' })
      }
    })
    for (const statement of statements) {
      await expect(owner.database.query(statement)).rejects.toThrow(/append-only/)
    }
    await asApp(async (app) => {
      // Replay needs no privilege on the log beyond reading it.
      const result = await app.replay()
      expect(result.eventsApplied).toBe(2)
      expect((await app.checkConsistency()).findings).toEqual([])
    })
    expect((await owner.events()).events.map((e) => e.action)).toEqual(['register', 'rename'])
  })

  it('the application role cannot drop or disable the append-only trigger, nor drop the log', async () => {
    await asApp(async (app) => {
      for (const statement of [
        'DROP TRIGGER events_no_update_delete ON events',
        'ALTER TABLE events DISABLE TRIGGER events_no_update_delete',
        'ALTER TABLE events DISABLE TRIGGER ALL',
        'DROP TABLE events',
      ]) {
        // 42501: only the owner of the table may do this.
        await expect(app.database.query(statement)).rejects.toMatchObject({ code: '42501' })
      }
      expect((await app.checkConsistency()).findings).toEqual([])
    })
  })
})
