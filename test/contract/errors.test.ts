import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { check, integer, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import * as v from 'valibot'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  createRewind,
  defineResource,
  eventLogTable,
  generateId,
  isRewindError,
  type Rewind,
  type RewindError,
  setAttribute,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'

/** A resource with sensitive columns and arguments of several kinds, and constraints that quote values. */
const secrets = pgTable(
  'secrets',
  {
    id: uuid('id').primaryKey(),
    label: text('label'),
    handle: text('handle').unique(),
    apiToken: text('api_token'),
    ssn: text('ssn').unique(),
    pin: integer('pin'),
    digits: text('digits'),
  },
  (t) => [
    unique('secrets_label_pin').on(t.label, t.pin),
    check('secrets_pin_positive', sql`pin >= 0`),
    // A cast in a check: a bad value fails with 22P02, whose message quotes the value.
    check('secrets_digits_numeric', sql`digits::bigint >= 0`),
  ],
)

const Secret = defineResource(secrets, {
  name: 'Secret',
  sensitive: ['apiToken', 'ssn', 'pin', 'digits', 'passphrase', 'code', 'raw'],
  actions: (a) => ({
    create: a.create({
      accept: ['label', 'handle', 'apiToken', 'ssn', 'pin', 'digits'],
      arguments: {
        passphrase: z.string().min(8).optional(),
        // valibot's messages quote the value received ("Expected string but received 987654321").
        code: v.optional(v.string()),
      },
      changes: [generateId()],
    }),
    rotate: a.update({
      arguments: { raw: z.unknown() },
      changes: [setAttribute('apiToken', (cs: { args: { raw: unknown } }) => cs.args.raw)],
    }),
  }),
})

const events = eventLogTable('events')
const resources = [Secret] as const

async function failure(promise: Promise<unknown>): Promise<RewindError> {
  try {
    await promise
  } catch (e) {
    expect(isRewindError(e), `expected a RewindError, got ${String(e)}`).toBe(true)
    return e as RewindError
  }
  throw new Error('expected the call to fail')
}

/** Every text of an error a log would show: its message, its issues' messages, its details. */
function texts(e: RewindError): string[] {
  return [e.message, ...e.issues.map((i) => i.message), JSON.stringify(e.details)]
}

/** Bad values of several types, each with a piece of it that must never be printed. */
const BAD = {
  number: { value: 987654321, shown: '987654321' },
  longString: { value: `S3CRET-${'q'.repeat(60)}`, shown: 'S3CRET-q' },
  object: { value: { token: 'OBJ-SECRET-42' }, shown: 'OBJ-SECRET-42' },
  bigint: { value: 123456789123456789n, shown: '123456789123456789' },
  fraction: { value: 98765.4321, shown: '98765.4321' },
  outOfRange: { value: 99999999999, shown: '99999999999' },
} as const

describe.each(backends)('errors on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof resources>

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({ db: tdb.db, resources, eventLog: { table: events }, createTables: true })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })
  beforeEach(async () => {
    await rewind.database.query('TRUNCATE secrets')
  })

  describe('never print a sensitive value', () => {
    const cases: [field: string, bad: (typeof BAD)[keyof typeof BAD][]][] = [
      ['apiToken', [BAD.number, BAD.object, BAD.bigint, BAD.fraction]],
      ['ssn', [BAD.number, BAD.fraction]],
      ['pin', [BAD.longString, BAD.object, BAD.fraction, BAD.outOfRange, BAD.bigint]],
      ['passphrase', [BAD.number, BAD.object, BAD.bigint]],
      ['code', [BAD.number, BAD.object, BAD.bigint, BAD.fraction]],
    ]
    it.each(cases)('in the errors of a bad %s (a sensitive column or argument)', async (field, values) => {
      for (const { value, shown } of values) {
        const e = await failure(rewind.run(Secret, 'create', { label: 'x', [field]: value } as never))
        expect(e.code, e.message).toBe('VALIDATION')
        expect(e.issues.map((i) => i.path[0])).toEqual([field])
        for (const t of texts(e)) expect(t).not.toContain(shown)
      }
    })

    it('in the errors of a value a change sets on a sensitive column', async () => {
      const s = await rewind.run(Secret, 'create', { label: 'x' })
      for (const { value, shown } of [BAD.number, BAD.object, BAD.bigint, BAD.fraction]) {
        const e = await failure(rewind.run(Secret, 'rotate', { raw: value }, { id: s.id }))
        expect(e.code, e.message).toBe('VALIDATION')
        expect(e.issues.map((i) => i.path[0])).toEqual(['apiToken'])
        for (const t of texts(e)) expect(t).not.toContain(shown)
      }
    })

    it('in the errors of a value the database refuses with a message that quotes it', async () => {
      const e = await failure(rewind.run(Secret, 'create', { digits: 'abc123SECRET' }))
      expect(e.code, e.message).toBe('VALIDATION')
      expect(e.sqlState).toBe('22P02')
      for (const t of texts(e)) expect(t).not.toContain('abc123SECRET')
    })

    it('but show the value of a field that is not sensitive', async () => {
      const e = await failure(rewind.run(Secret, 'create', { label: 42 as never }))
      expect(e.issues).toEqual([{ path: ['label'], message: 'expected a string (text), got the number 42' }])
      const arg = await failure(rewind.run(Secret, 'create', { passphrase: 'short' }))
      expect(arg.issues[0]!.path).toEqual(['passphrase'])
    })
  })

  describe('conflicts', () => {
    it('keep the values of a unique key of plain columns', async () => {
      await rewind.run(Secret, 'create', { handle: 'h-one' })
      const e = await failure(rewind.run(Secret, 'create', { handle: 'h-one' }))
      expect(e.code).toBe('CONFLICT')
      expect(e.message).toContain('Key (handle)=(h-one) already exists')
    })

    it('leave out the values of a key with a sensitive column, alone or with others', async () => {
      await rewind.run(Secret, 'create', { handle: 'a', ssn: '123-45-6789', label: 'L', pin: 424242 })
      const ssn = await failure(rewind.run(Secret, 'create', { handle: 'b', ssn: '123-45-6789' }))
      expect(ssn.code).toBe('CONFLICT')
      expect(ssn.message).toContain('Key (ssn) already exists')
      for (const t of texts(ssn)) expect(t).not.toContain('123-45-6789')

      const pair = await failure(rewind.run(Secret, 'create', { handle: 'c', label: 'L', pin: 424242 }))
      expect(pair.code).toBe('CONFLICT')
      expect(pair.message).toContain('Key (label, pin) already exists')
      for (const t of texts(pair)) expect(t).not.toContain('424242')
    })

    it('a check violation does not print the failing row', async () => {
      const e = await failure(rewind.run(Secret, 'create', { pin: -424242 }))
      expect(e.code).toBe('VALIDATION')
      expect(e.sqlState).toBe('23514')
      for (const t of texts(e)) expect(t).not.toContain('424242')
    })
  })
})

describe.each(backends)('missing tables on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof resources>
  const hint =
    'does not exist: create it with your migrations, `rewind schema --apply`, or createRewind({ createTables: true })'

  beforeAll(async () => {
    tdb = await backend.create()
    // An own `db` does not create the tables by default.
    rewind = await createRewind({ db: tdb.db, resources, eventLog: { table: events } })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it('an action or a read on a table that was never created says which and how to create it', async () => {
    const run = await failure(rewind.run(Secret, 'create', { label: 'x' }))
    expect(run.code).toBe('DATABASE')
    expect(run.sqlState).toBe('42P01')
    expect(run.message).toBe(`Secret.create: the table "secrets" ${hint}`)
    expect(run.cause).toBeDefined()

    const get = await failure(rewind.get(Secret, '0190a6d4-0000-7000-8000-000000000001'))
    expect(get.message).toBe(`Secret.get: the table "secrets" ${hint}`)
    const list = await failure(rewind.list(Secret))
    expect(list.message).toBe(`Secret.list: the table "secrets" ${hint}`)
    const log = await failure(rewind.events())
    expect(log.message).toBe(`the table "events" ${hint}`)
    expect(log.code).toBe('DATABASE')

    // The resource's table alone: the event's insert is what fails.
    const tablesOnly = await createRewind({ db: tdb.db, resources, createTables: true })
    await tablesOnly.close()
    const event = await failure(rewind.run(Secret, 'create', { label: 'x' }))
    expect(event.message).toBe(`Secret.create: the table "events" ${hint}`)
    expect(await rewind.list(Secret)).toEqual([])
  })
})

/** The calls every failure test makes; each must fail with DATABASE and keep the driver's error as cause. */
async function expectAllDatabaseFailures(rewind: Rewind<typeof resources>, calls: readonly string[]) {
  const id = '0190a6d4-0000-7000-8000-000000000001'
  const all: Record<string, () => Promise<unknown>> = {
    get: () => rewind.get(Secret, id),
    list: () => rewind.list(Secret),
    events: () => rewind.events(),
    tail: () => rewind.tail().poll(),
    history: () => rewind.history(Secret, id),
    stateAt: () => rewind.stateAt(Secret, id, { at: new Date() }),
    run: () => rewind.run(Secret, 'create', { label: 'x' }),
    update: () => rewind.run(Secret, 'rotate', { raw: 'x' }, { id }),
    createTables: () => rewind.createTables(),
    replay: () => rewind.replay(),
    verifyReplay: () => rewind.verifyReplay(),
    checkConsistency: () => rewind.checkConsistency(),
  }
  for (const name of calls) {
    const e = await failure(all[name]!())
    expect(e.code, `${name}: ${e.message}`).toBe('DATABASE')
    expect(e.cause, name).toBeInstanceOf(Error)
    expect(isRewindError(e.cause), name).toBe(false)
  }
}

const EVERY_CALL = [
  'get',
  'list',
  'events',
  'tail',
  'history',
  'stateAt',
  'run',
  'update',
  'createTables',
  'replay',
  'verifyReplay',
  'checkConsistency',
] as const

describe('a database that cannot be reached', () => {
  it('fails every call with DATABASE, createRewind({ createTables: true }) included', async () => {
    // Port 1: nothing listens, the connection is refused.
    const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' })
    try {
      const e = await failure(
        createRewind({
          db: drizzlePg({ client: pool }),
          resources,
          eventLog: { table: events },
          createTables: true,
        }),
      )
      expect(e.code, e.message).toBe('DATABASE')
      expect(e.message).toMatch(/^createTables: the database connection failed: /)
      expect(e.cause).toBeInstanceOf(Error)
      const rewind = await createRewind({
        db: drizzlePg({ client: pool }),
        resources,
        eventLog: { table: events },
      })
      await expectAllDatabaseFailures(rewind, EVERY_CALL)
    } finally {
      await pool.end()
    }
  })
})

describe.each(backends)('a closed database on $name', (backend) => {
  it('fails every call with DATABASE once the pool ended or the instance closed', async () => {
    const tdb = await backend.create()
    // PostgreSQL: a pool of the test's own, ended; PGlite: the instance, closed.
    const pool = backend.name === 'postgres' ? new pg.Pool({ connectionString: tdb.url }) : undefined
    const client = pool ? undefined : new PGlite()
    try {
      const db = pool ? drizzlePg({ client: pool }) : drizzlePglite({ client: client! })
      const rewind = await createRewind({ db, resources, eventLog: { table: events }, createTables: true })
      const s = await rewind.run(Secret, 'create', { label: 'before' })
      expect((await rewind.get(Secret, s.id))?.label).toBe('before')
      await (pool ? pool.end() : client!.close())
      await expectAllDatabaseFailures(rewind, EVERY_CALL)
    } finally {
      await tdb.close()
    }
  })
})

// Only PostgreSQL has a connection to lose: PGlite runs in the process, and closing it from inside its own
// transaction would wait for that transaction (it is one session behind a mutex).
describe.each(backends.filter((b) => b.name === 'postgres'))(
  'a connection lost during a replay on $name',
  (backend) => {
    it('is a DATABASE failure naming the event, and the tables are as they were', async () => {
      const tdb = await backend.create()
      const pool = new pg.Pool({ connectionString: tdb.url, max: 2 })
      pool.on('error', () => {})
      const lines = pgTable('lines', { id: uuid('id').primaryKey(), text: text('text').notNull() })
      let cut = false
      const Line = defineResource(lines, {
        name: 'Line',
        actions: (a) => ({
          create: a.create({
            accept: ['text'],
            changes: [
              generateId(),
              {
                name: 'cut',
                run: (cs) =>
                  cs.afterAction(async (_record, ctx) => {
                    if (!ctx.replaying || !cut) return
                    await ctx.sql('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => {})
                  }),
              },
            ],
          }),
        }),
        events: { allowHooksInReplay: { create: ['cut'] } },
      })
      try {
        const rewind = await createRewind({
          db: drizzlePg({ client: pool }),
          resources: [Line],
          eventLog: { table: eventLogTable('line_events') },
          createTables: true,
        })
        await rewind.run(Line, 'create', { text: 'a' })
        await rewind.run(Line, 'create', { text: 'b' })
        cut = true
        const err = (await rewind.replay().catch((e) => e)) as RewindError
        expect(isRewindError(err, 'DATABASE')).toBe(true)
        expect(err.details).toMatchObject({ connection: true })
        expect(err.message).toMatch(
          /^replay failed at event \d+ \(position \d, Line\.create v1\): .*connection failed/,
        )
        cut = false
        expect((await rewind.list(Line)).map((l) => l.text).sort()).toEqual(['a', 'b'])
      } finally {
        await pool.end()
        await tdb.close()
      }
    })
  },
)
