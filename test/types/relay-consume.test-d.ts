import { describe, expectTypeOf, test } from 'vitest'
import type { Json, RewindEvent } from '../../src/index.js'
import { consumeRewindEvents, type DeliveryContext } from '../../src/relay/consume.js'
import { databaseInbox, type InboxTransaction, memoryInbox } from '../../src/relay/inbox.js'
import { Item } from '../support/consumer-domain.js'
import { User } from '../support/domain.js'

declare const db: unknown

describe('consumeRewindEvents: handlers typed by resource and action', () => {
  test("event.data is the action's input, changedAttributes the record's columns, as JSON", () => {
    void consumeRewindEvents({
      servers: 'nats://127.0.0.1:4222',
      stream: 'REWIND',
      durable: 'billing',
      handlers: (on) => [
        on(Item, 'create', (e, ctx) => {
          expectTypeOf(e.action).toEqualTypeOf<'create'>()
          expectTypeOf(e.data).toEqualTypeOf<{ readonly name: string; readonly qty?: number }>()
          expectTypeOf(e.changedAttributes.id).toEqualTypeOf<string | undefined>()
          expectTypeOf(ctx).toEqualTypeOf<DeliveryContext & {}>()
          expectTypeOf(ctx.attempt).toEqualTypeOf<number>()
        }),
        on(User, ['create', 'rename'], (e) => {
          expectTypeOf(e.action).toEqualTypeOf<'create' | 'rename'>()
          expectTypeOf(e.changedAttributes.createdAt).toEqualTypeOf<string | undefined>()
        }),
        on(Item, '*', (e) => {
          expectTypeOf(e.action).toEqualTypeOf<'create' | 'rename' | 'add' | 'destroy' | 'slowCreate'>()
        }),
      ],
    })
  })

  test('by resource name (a service without the definitions): the plain event', () => {
    void consumeRewindEvents({
      servers: 'nats://127.0.0.1:4222',
      stream: 'REWIND',
      durable: 'audit',
      handlers: (on) => [
        on('Invoice', ['paid', 'voided'], (e) => {
          expectTypeOf(e).toEqualTypeOf<RewindEvent>()
          expectTypeOf(e.data).toEqualTypeOf<Readonly<Record<string, Json>>>()
        }),
      ],
    })
  })

  test("the database inbox's transaction reaches the handler", () => {
    void consumeRewindEvents({
      servers: 'nats://127.0.0.1:4222',
      stream: 'REWIND',
      durable: 'projections',
      inbox: databaseInbox({ db }),
      handlers: (on) => [
        on(Item, 'rename', (e, ctx) => {
          expectTypeOf(ctx).toExtend<InboxTransaction & DeliveryContext>()
          expectTypeOf(ctx.sql).toEqualTypeOf<InboxTransaction['sql']>()
          expectTypeOf(e.data.name).toEqualTypeOf<string | undefined>()
        }),
      ],
    })
    void consumeRewindEvents({
      servers: 'nats://127.0.0.1:4222',
      stream: 'REWIND',
      durable: 'plain',
      inbox: memoryInbox(),
      handlers: (on) => [
        on(Item, 'rename', (_e, ctx) => {
          // @ts-expect-error no transaction without the database inbox
          void ctx.sql
        }),
      ],
    })
  })

  test('misuse is a type error', () => {
    void consumeRewindEvents({
      servers: 'nats://127.0.0.1:4222',
      stream: 'REWIND',
      durable: 'x',
      handlers: (on) => [
        // @ts-expect-error an action the resource does not have
        on(Item, 'fly', () => {}),
        on(Item, 'create', (e) => {
          // @ts-expect-error a field the action does not accept
          void e.data.nope
        }),
      ],
    })
  })
})
