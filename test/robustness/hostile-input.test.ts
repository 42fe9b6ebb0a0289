import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sameJson } from '../../src/columns/values.js'
import { createRewind, isRewindError, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { Account, events, loggedResources, Note } from '../support/logged-domain.js'

const STRESS = process.env.STRESS === '1'
const CASES = Number(process.env.FUZZ_CASES ?? (STRESS ? 20_000 : 1_000))
/** Only a guard against a hang: a loaded machine runs these several times slower (speed is the bench's). */
const TIMEOUT = Math.max(600_000, CASES * 200)
const KEY = Buffer.alloc(32, 9).toString('base64')

/** Values that break naive code: wrong types, extremes, invalid text, SQL, huge and deep structures. */
const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : { d: deep(depth - 1) })
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "'; DROP TABLE accounts; --",
      '$1',
      '\\x00',
      'NULL',
      '{"a":1}',
      '{1,2}',
      '\u0000',
      '\ud800',
      'é😀',
    ),
  },
  { weight: 2, arbitrary: fc.double() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      2 ** 53 + 1,
      1e308,
      -(2 ** 31) - 1,
      2 ** 31,
    ),
  },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new Date(Number.NaN),
      new Date(8.64e15),
      new Date(-62198755200000),
      new Date(0),
    ),
  },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
  { weight: 1, arbitrary: fc.array(fc.string({ unit: 'binary', maxLength: 5 }), { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.json().map((j) => JSON.parse(j)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constant(null).map(() => 'x'.repeat(200_000)) },
  { weight: 1, arbitrary: fc.constant(null).map(() => Array.from({ length: 20_000 }, (_, i) => String(i))) },
  { weight: 1, arbitrary: fc.constant(null).map(() => deep(400)) },
  { weight: 1, arbitrary: fc.constant(null).map(() => ({ toJSON: () => ({ sneaky: true }) })) },
  { weight: 1, arbitrary: fc.constant(null).map(() => [Buffer.from([1]), 'not bytes']) },
)

/** An input object: mostly real keys, some unknown and prototype-polluting ones, as own properties. */
function hostileInput(keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...keys) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'id', 'hasOwnProperty'),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  )
  return fc.array(fc.tuple(key, hostileValue), { maxLength: 6 }).map((pairs) => {
    const out: Record<string, unknown> = {}
    for (const [k, v] of pairs)
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    return out
  })
}

const hostileObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.json().map((j) => JSON.parse(j)),
  fc.constant(null).map(() => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    return cyclic
  }),
  fc
    .constant(null)
    .map(() => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}')),
  fc.constant(null).map(() => ({ big: 10n, when: new Date(), nan: Number.NaN })),
  fc.constant(null).map(() => deep(400)),
  fc.constant(null).map(() =>
    Object.defineProperty({}, 'type', {
      enumerable: true,
      get() {
        throw new Error('hostile getter')
      },
    }),
  ),
)

const ALLOWED = new Set([
  'VALIDATION',
  'CONFLICT',
  'NOT_FOUND',
  'FORBIDDEN',
  'STALE',
  'TENANT_REQUIRED',
  'INTERNAL',
])

describe.each(backends)('hostile input through the public API on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<typeof loggedResources>
  const counts = async () => {
    const [row] = await rewind.database.query(
      'SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM accounts) AS a, (SELECT count(*) FROM notes) AS n',
    )
    return row
  }

  beforeAll(async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: loggedResources,
      eventLog: {
        table: events,
        actors: {
          userId: (a) => (a as { userId?: unknown } | undefined)?.userId,
          systemActor: (a) => (a as { type?: unknown } | undefined)?.type,
        },
        encryption: { current: 'k', keys: { k: KEY } },
      },
      createTables: true,
    })
  })
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  const outcomes = { ok: 0, failed: 0 }
  /** Runs one hostile call: it succeeds and stores exactly what it accepted, or fails with a code and writes nothing. */
  const attempt = async (
    call: () => Promise<unknown>,
    input: Record<string, unknown>,
    accepted: readonly string[],
    resource: typeof Account | typeof Note = Account,
  ) => {
    const before = await counts()
    let result: unknown
    try {
      result = await call()
    } catch (error) {
      expect(isRewindError(error), `not a RewindError: ${String(error)}`).toBe(true)
      expect(ALLOWED, (error as Error).message).toContain((error as { code: string }).code)
      expect(await counts()).toEqual(before)
      outcomes.failed++
      return
    }
    outcomes.ok++
    const record = result as Record<string, unknown>
    const stored = await rewind.get(resource as typeof Account, record.id as never)
    for (const key of accepted) {
      if (!Object.hasOwn(input, key) || input[key] === undefined) continue
      const codec = resource.codecs.get(key)!
      const given = codec.fromApp(input[key])
      const kept = codec.fromApp((stored as Record<string, unknown>)[key])
      expect(given.ok && kept.ok && sameJson(given.value, kept.value), `${key} stored differently`).toBe(true)
    }
  }

  it('regressions the fuzzer found: values a column would store differently are refused', async () => {
    const base = { email: 'regress@example.com', password: 'pw-secret' }
    for (const bad of [
      { apiKey: 6.4e-102 }, // a number for a custom bytea column
      { balance: '1.0000001' }, // numeric(20, 6) would round it
      { balance: '123456789012345' }, // numeric(20, 6) has 14 digits before the point
      { prefs: { n: Number.NaN } },
      { tags: ['ok', 'nul\u0000'] },
    ]) {
      const error = await rewind.run(Account, 'register', { ...base, ...bad } as never).catch((e) => e)
      expect(isRewindError(error, 'VALIDATION'), `${JSON.stringify(Object.keys(bad))}: ${error}`).toBe(true)
    }
    const ok = await rewind.run(Account, 'register', { ...base, balance: '12345678901234.123456' })
    expect(ok.balance).toBe('12345678901234.123456')
    // Found in CI: a number for a numeric(20, 6) was recorded as "0" while the column stores "0.000000".
    const zero = await rewind.run(Account, 'register', {
      ...base,
      email: 'zero@example.com',
      balance: 0,
    } as never)
    expect(zero.balance).toBe('0.000000')
    expect(Account.codecs.get('balance')!.fromApp(0)).toEqual({ ok: true, value: '0.000000' })
  })

  it(
    `create: ${CASES} hostile inputs, metadata and actors`,
    async () => {
      const accepted = Account.actions.register.accept
      await fc.assert(
        fc.asyncProperty(
          hostileInput([...accepted, 'password', 'notes']),
          fc.oneof(fc.constant('pw-secret'), hostileValue),
          hostileObject,
          hostileObject,
          async (input, password, metadata, actor) => {
            const full = { ...input }
            if (!Object.hasOwn(full, 'password')) full.password = password
            await attempt(
              () => rewind.run(Account, 'register', full as never, { metadata: metadata as never, actor }),
              full,
              accepted,
            )
          },
        ),
        { numRuns: CASES },
      )
    },
    TIMEOUT,
  )

  it(
    `update and upsert: ${CASES} hostile inputs`,
    async () => {
      const target = await rewind.run(Account, 'register', {
        email: 'fuzz-target@example.com',
        password: 'pw-secret',
      })
      await fc.assert(
        fc.asyncProperty(
          hostileInput(['name']),
          hostileInput(['email', 'name']),
          hostileValue,
          async (update, upsert, id) => {
            await attempt(() => rewind.run(Account, 'rename', update as never, { id: target.id }), update, [
              'name',
            ])
            await attempt(() => rewind.run(Account, 'rename', update as never, { id: id as never }), update, [
              'name',
            ])
            await attempt(() => rewind.run(Account, 'upsert', upsert as never), upsert, ['email', 'name'])
          },
        ),
        { numRuns: CASES },
      )
    },
    TIMEOUT,
  )

  it(
    `nested resources and reads: ${Math.floor(CASES / 2)} hostile inputs`,
    async () => {
      const target = await rewind.run(Account, 'register', {
        email: 'fuzz-notes@example.com',
        password: 'pw-secret',
      })
      await fc.assert(
        fc.asyncProperty(hostileInput(['accountId', 'body']), hostileValue, async (input, filter) => {
          const withAccount = Object.hasOwn(input, 'accountId') ? input : { ...input, accountId: target.id }
          await attempt(
            () => rewind.run(Note, 'create', withAccount as never),
            withAccount,
            ['accountId', 'body'],
            Note,
          )
          try {
            await rewind.list(Account, { where: { name: filter } as never, limit: 5 })
            await rewind.events({ actor: { systemActor: filter }, limit: 5 })
          } catch (error) {
            expect(isRewindError(error), String(error)).toBe(true)
          }
        }),
        { numRuns: Math.floor(CASES / 2) },
      )
    },
    TIMEOUT,
  )

  it('after all of it, the log and the tables agree', async () => {
    // Both outcomes were exercised: many hostile calls fail, and a fair share still succeeds.
    expect(outcomes.ok).toBeGreaterThan(CASES / 20)
    expect(outcomes.failed).toBeGreaterThan(CASES / 2)
    const report = await rewind.checkConsistency()
    expect(report.findings).toEqual([])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
