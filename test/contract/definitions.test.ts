import { sql } from 'drizzle-orm'
import { integer, pgTable, primaryKey, serial, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  belongsTo,
  change,
  createRewind,
  defineResource,
  eventLogTable,
  hasMany,
  isRewindError,
  keyRing,
} from '../../src/index.js'

const t = pgTable('things', {
  id: uuid('id').primaryKey(),
  name: text('name'),
  n: integer('n'),
  at: timestamp('at', { withTimezone: true }),
  doubled: integer('doubled').generatedAlwaysAs(sql`n * 2`),
  ownerId: uuid('owner_id'),
})
const log = eventLogTable('def_events', { actors: { userId: uuid('user_id') } })
const Thing = defineResource(t, {
  name: 'Thing',
  actions: (a) => ({
    create: a.create({ accept: ['name'], changes: [change('named', () => {})] }),
    update: a.update({ accept: ['name'] }),
    legacy: a.create({ accept: ['name'] }),
    count: a.action({ run: () => 1 }),
  }),
})

/** Runs `fn` and returns the INVALID_DEFINITION message it threw (failing if it threw anything else). */
async function definitionError(fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (e) {
    expect(isRewindError(e, 'INVALID_DEFINITION'), String(e)).toBe(true)
    return (e as Error).message
  }
  throw new Error('expected a definition error')
}

const def = (config: Record<string, unknown>, table: unknown = t) =>
  defineResource(
    table as typeof t,
    { name: 'Thing', actions: (a: any) => ({ create: a.create({}) }), ...config } as never,
  )

describe('defineResource checks', () => {
  it('rejects tables without a usable single-column primary key', async () => {
    const composite = pgTable('c', { a: integer('a'), b: integer('b') }, (x) => [
      primaryKey({ columns: [x.a, x.b] }),
    ])
    expect(await definitionError(() => def({}, composite))).toMatch(
      /composite primary key \(a, b\).*single-column.*identity/,
    )
    expect(await definitionError(() => def({}, pgTable('n', { a: integer('a') })))).toMatch(
      /has no primary key.*\.primaryKey\(\)/,
    )
    expect(await definitionError(() => def({}, pgTable('ts', { a: timestamp('a').primaryKey() })))).toMatch(
      /primary key "a" is timestamp.*expected uuid, text, integer or bigint/,
    )
    expect(() => def({}, pgTable('ok', { id: serial('id').primaryKey() }))).not.toThrow()
  })

  it('rejects action mistakes with the action named', async () => {
    const act = (build: (a: any) => unknown) => def({ actions: (a: any) => ({ bad: build(a) }) })
    expect(await definitionError(() => act((a) => a.create({ accept: ['nope'] })))).toMatch(
      /action "bad" accepts "nope", which is not a column of "things"\. Columns: id, name/,
    )
    expect(await definitionError(() => act((a) => a.create({ arguments: { x: 'string' } })))).toMatch(
      /argument "x" of action "bad" is not a Standard Schema/,
    )
    expect(
      await definitionError(() =>
        act((a) => a.create({ accept: ['name'], arguments: { name: z.string() } })),
      ),
    ).toMatch(/both as an accepted column and as an argument/)
    expect(await definitionError(() => act((a) => a.create({ changes: [42] })))).toMatch(
      /change that is neither a function nor \{ run \}/,
    )
    expect(await definitionError(() => act((a) => a.create({ validations: [{}] })))).toMatch(
      /validation that is neither/,
    )
    expect(await definitionError(() => act((a) => a.action({})))).toMatch(
      /generic action "bad" needs a run function/,
    )
    expect(
      await definitionError(() => act((a) => a.update({ upsert: { identity: 'x', update: [] } }))),
    ).toMatch(/only create actions can upsert/)
    expect(
      await definitionError(() => act((a) => a.create({ upsert: { identity: 'byName', update: [] } }))),
    ).toMatch(/upserts on identity "byName", which is not declared\. Declared identities: none/)
    expect(
      await definitionError(() =>
        def({
          identities: { byName: ['name'] },
          actions: (a: any) => ({ c: a.create({ upsert: { identity: 'byName', update: ['zzz'] } }) }),
        }),
      ),
    ).toMatch(/upsert updates "zzz", which is not a column/)
    expect(await definitionError(() => act((a) => a.update({ optimisticLock: 'name' })))).toMatch(
      /optimisticLock "name" must be an integer column/,
    )
    expect(await definitionError(() => act((a) => a.create({ accept: ['doubled'] })))).toMatch(
      /accepts "doubled", a generated column/,
    )
    expect(await definitionError(() => act(() => ({})))).toMatch(/action "bad" is not an action/)
    expect(await definitionError(() => def({ actions: {} }))).toMatch(
      /`actions` must be a function of the action builders/,
    )
  })

  it('rejects resource options that name nothing', async () => {
    expect(await definitionError(() => def({ sensitive: ['secret'] }))).toMatch(
      /sensitive "secret" is neither a column nor an argument/,
    )
    expect(await definitionError(() => def({ identities: { x: ['nope'] } }))).toMatch(
      /identity "x" names "nope", which is not a column/,
    )
    expect(await definitionError(() => def({ identities: { x: [] } }))).toMatch(
      /identity "x" must list at least one column/,
    )
    expect(await definitionError(() => def({ tenant: 'org' }))).toMatch(/tenant column "org" does not exist/)
    expect(
      await definitionError(() => def({ relationships: { owner: belongsTo(() => Thing, 'bossId') } })),
    ).toMatch(/relationship "owner" \(belongsTo\) uses foreign key "bossId", which is not a column/)
    expect(await definitionError(() => def({ relationships: { owner: { kind: 'belongsTo' } } }))).toMatch(
      /must be built with belongsTo/,
    )
  })
})

describe('createRewind checks (before any database is opened)', () => {
  // `db: {}` would fail to open; the definition error comes first, which proves nothing was opened.
  const create = (config: Record<string, unknown>) => createRewind({ db: {}, ...config } as never)

  it('checks the resources', async () => {
    expect(await definitionError(() => create({ resources: [{}] }))).toMatch(
      /must be made with defineResource/,
    )
    expect(await definitionError(() => create({ resources: [Thing, def({})] }))).toMatch(
      /two resources are named "Thing"/,
    )
    const Owned = def({ name: 'Owned', relationships: { items: hasMany(() => Thing, 'ownerId') } })
    expect(await definitionError(() => create({ resources: [Owned] }))).toMatch(
      /points to Thing, which is not in createRewind/,
    )
    const Bad = def({ name: 'Bad', relationships: { items: hasMany(() => Owned, 'nope') } })
    expect(await definitionError(() => create({ resources: [Bad, Owned] }))).toMatch(
      /foreign key "nope", which is not a column of Owned/,
    )
  })

  it('checks the event table and the log options', async () => {
    const base = { resources: [Thing] }
    const withLog = (eventLog: Record<string, unknown>, resources: unknown[] = [Thing]) =>
      create({
        ...base,
        resources,
        eventLog: { table: log, actors: { userId: () => undefined }, ...eventLog },
      })
    expect(await definitionError(() => eventLogTable('e', { actors: { position: text('p') } }))).toMatch(
      /clashes with a built-in event column/,
    )
    expect(await definitionError(() => eventLogTable('e', { actors: { u: text('u').notNull() } }))).toMatch(
      /actor column "u" must be nullable/,
    )
    expect(await definitionError(() => eventLogTable('e', { id: 'serial' as never }))).toMatch(
      /id must be 'bigint' or 'uuidv7'/,
    )
    expect(await definitionError(() => create({ ...base, eventLog: { table: t } }))).toMatch(
      /must be a table made with eventLogTable/,
    )
    expect(await definitionError(() => create({ ...base, eventLog: { table: log } }))).toMatch(
      /actor column "userId" but no resolver/,
    )
    expect(await definitionError(() => withLog({ actors: { userId: () => 1, admin: () => 1 } }))).toMatch(
      /"admin" is not an actor column/,
    )
    expect(await definitionError(() => withLog({ ordering: 'fast' }))).toMatch(
      /ordering must be 'rowLocks' or \{ advisoryLock/,
    )
    expect(await definitionError(() => withLog({ ordering: { advisoryLock: 'nope' } }))).toMatch(
      /advisoryLock must be 'global', 'tenant' or a function/,
    )
    expect(
      await definitionError(() => withLog({ ordering: { advisoryLock: 'global', key: 2n ** 64n } })),
    ).toMatch(/signed 64-bit integer/)
    expect(
      await definitionError(() => withLog({ encryption: { current: 'k', keys: { k: 'c2hvcnQ=' } } })),
    ).toMatch(/must be 32 bytes/)
    const override = (o: Record<string, unknown>) =>
      withLog({
        replayOverrides: [
          { resource: 'Thing', action: 'create', versions: [1], routeTo: [[Thing, 'legacy']], ...o },
        ],
      })
    expect(await definitionError(() => override({ versions: [0] }))).toMatch(
      /versions must be a non-empty list of positive integers/,
    )
    expect(await definitionError(() => override({ routeTo: [] }))).toMatch(/routeTo must list at least one/)
    expect(await definitionError(() => override({ routeTo: [[def({ name: 'Other' }), 'create']] }))).toMatch(
      /routeTo resource Other is not registered/,
    )
    expect(await definitionError(() => override({ routeTo: [[Thing, 'nope']] }))).toMatch(
      /routeTo action "nope" does not exist on Thing/,
    )
    expect(await definitionError(() => override({ routeTo: [[Thing, 'count']] }))).toMatch(
      /is a generic action; route to a create/,
    )
    expect(await definitionError(() => override({ action: undefined }))).toMatch(
      /needs resource, action, versions and routeTo/,
    )
  })

  it('checks every resource event option (AshEvents verifiers)', async () => {
    const events = (e: Record<string, unknown>) =>
      create({
        resources: [
          defineResource(t, {
            name: 'Thing',
            actions: (a) => ({
              create: a.create({ accept: ['name'], changes: [change('named', () => {})] }),
              legacy: a.create({}),
              count: a.action({ run: () => 1 }),
            }),
            events: e as never,
          }),
        ],
        eventLog: { table: log, actors: { userId: () => undefined } },
      })
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ only: ['create'], ignore: ['legacy'] }, /only and ignore are mutually exclusive/],
      [{ only: ['nope'] }, /actions \["nope"\] in only do not exist/],
      [{ ignore: ['nope'] }, /actions \["nope"\] in ignore do not exist/],
      [{ only: ['count'] }, /"count" in only is a generic action/],
      [{ versions: { nope: 2 } }, /action "nope" in versions does not exist/],
      [{ versions: { create: 0 } }, /version 0 of action "create" must be a positive integer/],
      [{ ignore: ['legacy'], versions: { legacy: 2 } }, /"legacy" is in ignore but has a version/],
      [{ only: ['create'], versions: { legacy: 2 } }, /"legacy" has a version but is not in only/],
      [{ replayStrategy: { nope: 'forceChange' } }, /"nope" in replayStrategy does not exist/],
      [
        { replayStrategy: { create: 'magic' } },
        /replay strategy "magic" of action "create" must be 'forceChange' or 'asArguments'/,
      ],
      [{ createTimestamp: 'nope' }, /createTimestamp "nope" is not a column/],
      [{ updateTimestamp: 'name' }, /updateTimestamp "name" must be a timestamp column, got text/],
      [{ allowHooksInReplay: { nope: [] } }, /"nope" in allowHooksInReplay does not exist/],
      [
        { allowHooksInReplay: { create: ['sendEmail'] } },
        /names change "sendEmail", which action "create" does not have \(named changes: named\)/,
      ],
    ]
    for (const [config, message] of cases)
      expect(await definitionError(() => events(config)), JSON.stringify(config)).toMatch(message)
  })

  it('checks key rings', async () => {
    expect(
      await definitionError(() => keyRing({ current: 'k', keys: { 'bad id!': Buffer.alloc(32) } })),
    ).toMatch(/key id "bad id!"/)
    expect(await definitionError(() => keyRing({ current: 'gone', keys: { k: Buffer.alloc(32) } }))).toMatch(
      /current key "gone" is not in keys \(k\)/,
    )
  })
})
