import { sql } from 'drizzle-orm'
import { check, integer, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core'
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
