import { describe, expectTypeOf, test } from 'vitest'
import type {
  ActionInput,
  ActionName,
  ActionResult,
  ConsistencyFinding,
  ConsistencyReport,
  ConsumerEvent,
  InferRecord,
  PointInTime,
  Rewind,
  RewindError,
} from '../../src/index.js'
import { defineProjection, defineResource } from '../../src/index.js'
import { type Article, type allResources, type Org, User, users } from '../support/domain.js'

declare const rewind: Rewind<typeof allResources>

describe('inference from the table and the actions', () => {
  test('the record type is the table row type', () => {
    expectTypeOf<InferRecord<typeof User>>().toEqualTypeOf<typeof users.$inferSelect>()
    expectTypeOf<InferRecord<typeof User>['createdAt']>().toEqualTypeOf<Date>()
    expectTypeOf<InferRecord<typeof Article>['views']>().toEqualTypeOf<bigint>()
  })

  test('create input: accepted columns (required as in the insert type) and arguments (optional with a default)', () => {
    expectTypeOf<ActionInput<typeof User, 'create'>>().toEqualTypeOf<{
      email: string
      name?: string | null | undefined
      orgId?: string | null | undefined
      password?: string | undefined
      role?: 'member' | 'admin' | undefined
    }>()
    expectTypeOf<ActionInput<typeof Org, 'create'>>().toEqualTypeOf<{ name: string }>()
  })

  test('update input: every accepted column optional; destroy input: arguments only', () => {
    expectTypeOf<ActionInput<typeof User, 'rename'>>().toEqualTypeOf<{ name?: string | null | undefined }>()
    expectTypeOf<ActionInput<typeof User, 'promote'>>().toEqualTypeOf<{ role: 'member' | 'admin' }>()
    expectTypeOf<ActionInput<typeof User, 'destroy'>>().toEqualTypeOf<{}>()
  })

  test('results: records for writes, the run result for generic actions', () => {
    expectTypeOf<ActionResult<typeof User, 'create'>>().toEqualTypeOf<typeof users.$inferSelect>()
    expectTypeOf<ActionResult<typeof User, 'countUsers'>>().toEqualTypeOf<number>()
    expectTypeOf(rewind.run(User, 'create', { email: 'a@b.c' })).resolves.toEqualTypeOf<
      typeof users.$inferSelect
    >()
    expectTypeOf(rewind.run(User, 'countUsers', { prefix: 'a' })).resolves.toEqualTypeOf<number>()
    expectTypeOf(rewind.get(User, 'id')).resolves.toEqualTypeOf<typeof users.$inferSelect | undefined>()
    expectTypeOf(rewind.list(User)).resolves.toEqualTypeOf<(typeof users.$inferSelect)[]>()
  })

  test('misuse is a type error', () => {
    // @ts-expect-error an unknown action
    void rewind.run(User, 'nope', {})
    // @ts-expect-error an unknown input key
    void rewind.run(User, 'create', { email: 'a@b.c', admin: true })
    // @ts-expect-error a value of the wrong type
    void rewind.run(User, 'create', { email: 42 })
    // @ts-expect-error a required input is missing
    void rewind.run(User, 'create', { name: 'Ada' })
    // @ts-expect-error an update needs { id } or { record }
    void rewind.run(User, 'rename', { name: 'x' })
    // @ts-expect-error an update needs { id } or { record }
    void rewind.run(User, 'rename', { name: 'x' }, { actor: 1 })
    void rewind.run(User, 'rename', { name: 'x' }, { id: 'some-id' })
    // Ids are typed as the primary key's values, not any column's.
    expectTypeOf(User.primaryKey).toEqualTypeOf<'id'>()
    // @ts-expect-error users.id is a uuid (string); loginCount is a number, but it is not the key
    void rewind.get(User, 42)
    // @ts-expect-error the same for the { id } of an update
    void rewind.run(User, 'rename', { name: 'x' }, { id: 42 })
    // @ts-expect-error and for history
    void rewind.history(User, 42)
    defineResource(users, {
      // @ts-expect-error accept names a column the table does not have
      actions: (a) => ({ create: a.create({ accept: ['nope'] }) }),
    })
  })

  test('changes see typed columns and arguments', () => {
    defineResource(users, {
      actions: (a) => ({
        create: a.create({
          accept: ['email'],
          arguments: { nickname: null as unknown as import('zod').ZodString },
          changes: [
            (cs) => {
              expectTypeOf(cs.get('loginCount')).toEqualTypeOf<number | undefined>()
              expectTypeOf(cs.args.nickname).toEqualTypeOf<string>()
              cs.set('name', cs.args.nickname)
              // @ts-expect-error a column takes values of its type
              cs.set('loginCount', 'many')
              // @ts-expect-error not a column
              cs.set('nope', 1)
            },
          ],
        }),
      }),
    })
  })

  test('the events config never narrows the action names (they come from actions alone)', () => {
    const Narrow = defineResource(users, {
      actions: (a) => ({
        create: a.create({ accept: ['email'] }),
        createV1: a.create({ accept: ['email'] }),
        rename: a.update({ accept: ['name'] }),
      }),
      events: { ignore: ['createV1'], versions: { create: 2 } },
    })
    expectTypeOf<ActionName<typeof Narrow>>().toEqualTypeOf<'create' | 'createV1' | 'rename'>()
    const r = null as unknown as Rewind<readonly [typeof Narrow]>
    void r.run(Narrow, 'rename', { name: 'x' }, { id: 'some-id' })
    defineResource(users, {
      actions: (a) => ({ create: a.create({ accept: ['email'] }) }),
      // @ts-expect-error an action the resource does not have
      events: { ignore: ['nope'] },
    })
  })

  test('reports and errors are typed', () => {
    expectTypeOf<ConsistencyReport['findings'][number]>().toEqualTypeOf<ConsistencyFinding>()
    expectTypeOf<ConsistencyFinding['kind']>().toExtend<string>()
    expectTypeOf(rewind.checkConsistency()).resolves.toEqualTypeOf<ConsistencyReport>()
    expectTypeOf<RewindError['details']>().toEqualTypeOf<Readonly<Record<string, unknown>>>()
    expectTypeOf<PointInTime>().toExtend<{ eventId: number | string } | { at: Date | string }>()
  })
})

describe('consumers', () => {
  test("a handler sees its action's event: input keys and record columns, values as the log holds them", () => {
    expectTypeOf<ConsumerEvent<typeof User, 'create'>['data']['email']>().toEqualTypeOf<string>()
    // A Date column is an ISO string in the log; a bigint a decimal string.
    expectTypeOf<ConsumerEvent<typeof User, 'rename'>['changedAttributes']['createdAt']>().toEqualTypeOf<
      string | undefined
    >()
    expectTypeOf<ConsumerEvent<typeof Article, 'create'>['changedAttributes']['views']>().toEqualTypeOf<
      string | undefined
    >()
    defineProjection('p', {
      handlers: (on) => [
        on(User, ['create', 'rename'], (e) => {
          expectTypeOf(e.action).toEqualTypeOf<'create' | 'rename'>()
        }),
        // @ts-expect-error an action User does not have
        on(User, 'nope', () => {}),
      ],
    })
  })
})
