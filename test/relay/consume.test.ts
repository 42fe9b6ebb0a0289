import { randomBytes } from 'node:crypto'
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers, type NatsConnection } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { databaseFromDrizzle } from '../../src/data/database.js'
import { createRewind, isRewindError, type Rewind, type RewindEvent } from '../../src/index.js'
import {
  type ConsumeDeadLetter,
  consumeRewindEvents,
  type OnEvent,
  type RewindEventConsumer,
} from '../../src/relay/consume.js'
import { databaseInbox, type Inbox, type InboxTransaction, memoryInbox } from '../../src/relay/inbox.js'
import { toMessage } from '../../src/relay/message.js'
import { backends, type TestDatabase } from '../support/backends.js'
import { events as eventsTable, Item, resources } from '../support/consumer-domain.js'
import { until } from '../support/until.js'
import { wholeLog } from '../support/whole-log.js'

const NATS = '127.0.0.1:4222'

let nc: NatsConnection
let jsm: JetStreamManager
beforeAll(async () => {
  nc = await connect({ servers: NATS })
  jsm = await jetstreamManager(nc)
})
afterAll(async () => {
  await nc.close()
})

/** Closed after each test, newest first: consumers, streams, connections, databases. */
const open: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of open.reverse()) await close().catch(() => {})
  open.length = 0
})

const unique = () => randomBytes(5).toString('hex')

/** A stream of its own (own subject prefix too: the server is shared), deleted after the test. */
async function freshStream(): Promise<{ stream: string; prefix: string }> {
  const id = unique()
  const stream = `RWT_${id}`
  const prefix = `rwt_${id}`
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] })
  open.push(() => jsm.streams.delete(stream))
  return { stream, prefix }
}

/** What the relay does with one event: its own message (toMessage, the contract), published to JetStream. */
async function publish(
  prefix: string,
  event: RewindEvent,
  options: { msgId?: string; tenants?: boolean; body?: string } = {},
) {
  const m = toMessage(event, new Map(), {
    prefix,
    tenantInSubject: options.tenants ?? false,
    subject: undefined,
    allowSensitive: {},
  })
  const h = headers()
  for (const [k, v] of Object.entries(m.headers)) h.set(k, v)
  const ack = await jetstream(nc).publish(m.subject, options.body ?? m.body, {
    msgID: options.msgId ?? m.id,
    headers: h,
  })
  expect(ack.duplicate).toBe(false)
}

/** Consumes and closes after the test. */
async function consume<X extends object>(
  config: Parameters<typeof consumeRewindEvents<X>>[0],
): Promise<RewindEventConsumer> {
  const consumer = await consumeRewindEvents<X>(config)
  open.push(() => consumer.stop())
  return consumer
}

describe.each(backends)('consuming Rewind events from JetStream, on $name', (backend) => {
  async function fresh(): Promise<{
    tdb: TestDatabase
    rewind: Rewind<typeof resources>
    log: RewindEvent[]
  }> {
    const tdb = await backend.create()
    open.push(() => tdb.close())
    const rewind = await createRewind({
      db: tdb.db,
      resources,
      eventLog: { table: eventsTable, actors: { systemActor: () => 'test' } },
      createTables: true,
    })
    open.push(() => rewind.close())
    // Three items, each renamed and topped up; one destroyed: 3 + 6 + 1 events, interleaved across records.
    const made = []
    for (const name of ['a', 'b', 'c']) made.push(await rewind.run(Item, 'create', { name, qty: 1 }))
    for (const [i, item] of made.entries()) {
      await rewind.run(Item, 'rename', { name: `${item.name}${i}` }, { record: item })
      await rewind.run(Item, 'add', { qty: 10 + i }, { record: item })
    }
    await rewind.run(Item, 'destroy', {}, { record: made[1]! })
    const log = await wholeLog(rewind)
    expect(log).toHaveLength(10)
    return { tdb, rewind, log }
  }

  /** The service's own table: how many times each event took effect. */
  async function effects(db: TestDatabase['db']) {
    const inbox = databaseInbox({ db })
    const database = databaseFromDrizzle(db)
    await database.query(
      'CREATE TABLE IF NOT EXISTS effects (event_id text PRIMARY KEY, position int8 NOT NULL, n int NOT NULL)',
    )
    const record = (ctx: InboxTransaction, e: RewindEvent) =>
      ctx.sql(
        `INSERT INTO effects (event_id, position, n) VALUES ($1, $2::int8, 1)
         ON CONFLICT (event_id) DO UPDATE SET n = effects.n + 1`,
        [String(e.id), String(e.position)],
      )
    const read = async () =>
      (
        await database.query(
          'SELECT event_id, position::text, n::text FROM effects ORDER BY effects.position',
        )
      ).map((r) => ({ id: r.event_id!, position: Number(r.position), n: Number(r.n) }))
    return { inbox, record, read }
  }

  it('handles each event once, in stream order, with event.data as the action input', async () => {
    const { log } = await fresh()
    const { stream, prefix } = await freshStream()
    for (const e of log) await publish(prefix, e)
    const seen: {
      position: number
      action: string
      name?: string | undefined
      attempt: number
      key: string
    }[] = []
    const consumer = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      handlers: (on) => [
        on(Item, ['create', 'rename'], (e, ctx) => {
          seen.push({
            position: e.position,
            action: e.action,
            name: e.data.name,
            attempt: ctx.attempt,
            key: ctx.idempotencyKey,
          })
        }),
        on('Item', ['add', 'destroy'], (e, ctx) => {
          seen.push({ position: e.position, action: e.action, attempt: ctx.attempt, key: ctx.idempotencyKey })
        }),
      ],
    })
    await until(() => consumer.stats.processed === log.length)
    expect(seen.map((s) => s.position)).toEqual(log.map((e) => e.position))
    expect(seen.map((s) => s.key)).toEqual(log.map((e) => String(e.id)))
    expect(seen.every((s) => s.attempt === 1)).toBe(true)
    expect(seen.filter((s) => s.action === 'create').map((s) => s.name)).toEqual(['a', 'b', 'c'])
    expect(consumer.stats).toMatchObject({ duplicates: 0, failures: 0, deadLetters: 0 })
  })

  it('redelivers an event whose handler fails, processes it once, and keeps its record in order', async () => {
    const { log, tdb } = await fresh()
    const { stream, prefix } = await freshStream()
    for (const e of log) await publish(prefix, e)
    const { inbox, record, read } = await effects(tdb.db)
    const failing = log.find((e) => e.action === 'rename')!
    const attempts: number[] = []
    const others: number[] = []
    const order: number[] = []
    const consumer = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      inbox,
      // Three attempts: the last one succeeds. The record's later events, handed back while it fails, are
      // delivered more often than that, and must not be counted as failed attempts (nor dead-lettered).
      maxDeliver: 3,
      backoff: { initialDelayMs: 20 },
      handlers: (on) => [
        on(Item, '*', async (e, ctx) => {
          await record(ctx, e)
          if (e.id === failing.id) {
            attempts.push(ctx.attempt)
            if (ctx.attempt <= 2) throw new Error('not yet')
          } else others.push(ctx.attempt)
          order.push(e.position)
        }),
      ],
    })
    await until(() => consumer.stats.processed === log.length)
    expect(attempts).toEqual([1, 2, 3])
    expect(others.every((a) => a === 1)).toBe(true)
    expect(consumer.stats).toMatchObject({ failures: 2, deadLetters: 0 })
    // The failed attempts rolled back with their inbox rows: every event took effect once.
    expect((await read()).map((r) => [r.position, r.n])).toEqual(log.map((e) => [e.position, 1]))
    // The record's later events waited for it; other records went on.
    const ofRecord = log.filter((e) => e.recordId === failing.recordId).map((e) => e.position)
    expect(order.filter((p) => ofRecord.includes(p))).toEqual(ofRecord)
    expect(order.sort((a, b) => a - b)).toEqual(log.map((e) => e.position))
  })

  it('processes a duplicate (same event, another message id) once, thanks to the inbox in the database', async () => {
    const { log, tdb } = await fresh()
    const { stream, prefix } = await freshStream()
    for (const e of log) await publish(prefix, e)
    for (const e of log.slice(2, 6)) await publish(prefix, e, { msgId: `${e.id}-again` })
    const { inbox, record, read } = await effects(tdb.db)
    let calls = 0
    const consumer = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      inbox,
      concurrency: 3,
      handlers: (on) => [
        on(Item, '*', async (e, { sql }) => {
          calls++
          await record({ sql } as InboxTransaction, e)
        }),
      ],
    })
    await until(() => consumer.stats.processed + consumer.stats.duplicates === log.length + 4)
    expect(consumer.stats).toMatchObject({ processed: log.length, duplicates: 4 })
    expect(calls).toBe(log.length)
    expect((await read()).map((r) => [r.position, r.n])).toEqual(log.map((e) => [e.position, 1]))
    const inboxRows = await databaseFromDrizzle(tdb.db).query('SELECT count(*)::text AS n FROM rewind_inbox')
    expect(Number(inboxRows[0]!.n)).toBe(log.length)
  })

  it('a crash after the handler committed and before the ack: the redelivery is skipped by the inbox', async () => {
    const { log, tdb } = await fresh()
    const { stream, prefix } = await freshStream()
    for (const e of log) await publish(prefix, e)
    const { inbox, record, read } = await effects(tdb.db)
    const durable = `d_${unique()}`
    const crashAt = log[4]!
    // The first process: its connection dies right after the handler of the fifth event wrote its effect.
    const doomed = await connect({ servers: NATS })
    open.push(() => doomed.close())
    const first = await consume({
      connection: doomed,
      stream,
      durable,
      prefix,
      inbox,
      ackWaitMs: 2000,
      handlers: (on) => [
        on(Item, '*', async (e, ctx) => {
          await record(ctx, e)
          if (e.id === crashAt.id) await doomed.close()
        }),
      ],
    })
    await first.closed
    expect(first.stats.processed).toBe(5)
    // The second process, same durable: everything not acknowledged comes back after the ack wait.
    const second = await consume({
      servers: NATS,
      stream,
      durable,
      prefix,
      inbox,
      handlers: (on) => [on(Item, '*', (e, ctx) => record(ctx, e))],
    })
    await until(() => second.stats.processed === log.length - 5)
    await until(() => second.stats.duplicates >= 1)
    expect((await read()).map((r) => [r.position, r.n])).toEqual(log.map((e) => [e.position, 1]))
  })

  it('a consumer restarted with the same durable resumes where the last one stopped', async () => {
    const { log } = await fresh()
    const { stream, prefix } = await freshStream()
    const durable = `d_${unique()}`
    const half = 6
    for (const e of log.slice(0, half)) await publish(prefix, e)
    const firstSeen: number[] = []
    const first = await consume({
      servers: NATS,
      stream,
      durable,
      prefix,
      handlers: (on) => [on(Item, '*', (e) => void firstSeen.push(e.position))],
    })
    await until(() => first.stats.processed === half)
    await first.stop()
    for (const e of log.slice(half)) await publish(prefix, e)
    const secondSeen: number[] = []
    // A fresh in-memory inbox: only JetStream's acknowledgements keep the first half from coming again.
    const second = await consume({
      servers: NATS,
      stream,
      durable,
      prefix,
      inbox: memoryInbox(),
      handlers: (on) => [on(Item, '*', (e) => void secondSeen.push(e.position))],
    })
    await until(() => second.stats.processed === log.length - half)
    expect(firstSeen).toEqual(log.slice(0, half).map((e) => e.position))
    expect(secondSeen).toEqual(log.slice(half).map((e) => e.position))
    // The acknowledgements go out on the consumer's connection, without a reply awaited; this reads the durable on
    // another one, so it waits until the server has taken every one of them.
    await until(async () => (await jsm.consumers.info(stream, durable)).num_ack_pending === 0)
    const info = await jsm.consumers.info(stream, durable)
    expect(info.num_ack_pending).toBe(0)
    expect(info.num_pending).toBe(0)
    expect(info.delivered.stream_seq).toBe(info.ack_floor.stream_seq)
  })

  it('stop() waits for the handler in flight; what was not started is handed back', async () => {
    const { log } = await fresh()
    const { stream, prefix } = await freshStream()
    for (const e of log) await publish(prefix, e)
    const durable = `d_${unique()}`
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered = false
    let finished = false
    const first = await consume({
      servers: NATS,
      stream,
      durable,
      prefix,
      handlers: (on) => [
        on(Item, '*', async (e) => {
          if (e.position === log[2]!.position) {
            entered = true
            await gate
            finished = true
          }
        }),
      ],
    })
    await until(() => entered)
    const stopped = first.stop()
    release()
    await stopped
    expect(finished).toBe(true)
    expect(first.stats.processed).toBe(3)
    const seen: number[] = []
    const second = await consume({
      servers: NATS,
      stream,
      durable,
      prefix,
      handlers: (on) => [on(Item, '*', (e) => void seen.push(e.position))],
    })
    await until(() => second.stats.processed === log.length - 3)
    expect(seen).toEqual(log.slice(3).map((e) => e.position))
  })

  it('with concurrency, the events of one record stay in order', async () => {
    const { log, tdb } = await fresh()
    const { stream, prefix } = await freshStream()
    for (const e of log) await publish(prefix, e)
    const { inbox, record, read } = await effects(tdb.db)
    const order: { recordId: string; position: number }[] = []
    let running = 0
    let most = 0
    const consumer = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      inbox: (backend.name === 'postgres' ? inbox : memoryInbox()) as Inbox<InboxTransaction>,
      concurrency: 3,
      handlers: (on) => [
        on(Item, '*', async (e, ctx) => {
          running++
          most = Math.max(most, running)
          if (backend.name === 'postgres') await record(ctx as InboxTransaction, e)
          // The first event of each record is slow: the later ones must still wait for it.
          if (e.actionType === 'create') await new Promise((r) => setTimeout(r, 30))
          order.push({ recordId: e.recordId, position: e.position })
          running--
        }),
      ],
    })
    await until(() => consumer.stats.processed === log.length)
    for (const id of new Set(log.map((e) => e.recordId))) {
      expect(order.filter((o) => o.recordId === id).map((o) => o.position)).toEqual(
        log.filter((e) => e.recordId === id).map((e) => e.position),
      )
    }
    // Three records at once (PGlite's inbox would serialize them on its one connection: memory there).
    expect(most).toBeGreaterThan(1)
    if (backend.name === 'postgres') expect((await read()).every((r) => r.n === 1)).toBe(true)
  })

  it('dead-letters an event after maxDeliver attempts and a malformed message at once; the rest goes on', async () => {
    const { log } = await fresh()
    const { stream, prefix } = await freshStream()
    const poison = log[3]!
    for (const e of log.slice(0, 5)) await publish(prefix, e)
    await publish(prefix, log[5]!, { body: '{not json', msgId: 'garbage' })
    for (const e of log.slice(5)) await publish(prefix, e)
    const letters: ConsumeDeadLetter[] = []
    const consumer = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      maxDeliver: 3,
      backoff: { initialDelayMs: 10 },
      onDeadLetter: (letter) => void letters.push(letter),
      handlers: (on) => [
        on(Item, '*', (e) => {
          if (e.id === poison.id) throw new Error('always fails')
        }),
      ],
    })
    await until(() => consumer.stats.processed === log.length - 1 && letters.length === 2)
    const [first, second] = [...letters].sort((a, b) => a.streamSequence - b.streamSequence)
    expect(first!.event?.id).toBe(poison.id)
    expect(first!.attempts).toBe(3)
    expect((first!.error as Error).message).toBe('always fails')
    expect(second!.event).toBeUndefined()
    expect(isRewindError(second!.error, 'VALIDATION')).toBe(true)
    expect(consumer.stats).toMatchObject({ deadLetters: 2, failures: 3 })
  })

  it('tenant-aware subjects: only the given tenant, events without one as "_"', async () => {
    const { log } = await fresh()
    const { stream, prefix } = await freshStream()
    // The fixture has no tenants: publish half of it as tenant "acme".
    const asAcme = log.filter((_, i) => i % 2 === 0).map((e) => ({ ...e, tenant: 'acme' }))
    for (const e of log) {
      const acme = asAcme.find((a) => a.id === e.id)
      await publish(prefix, acme ?? e, { tenants: true })
    }
    const acmeSeen: number[] = []
    const noneSeen: number[] = []
    const acme = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      tenant: 'acme',
      handlers: (on) => [on(Item, '*', (e) => void acmeSeen.push(e.position))],
    })
    const none = await consume({
      servers: NATS,
      stream,
      durable: `d_${unique()}`,
      prefix,
      tenant: '_',
      handlers: (on) => [on(Item, '*', (e) => void noneSeen.push(e.position))],
    })
    await until(
      () => acme.stats.processed === asAcme.length && none.stats.processed === log.length - asAcme.length,
    )
    expect(acmeSeen).toEqual(asAcme.map((e) => e.position))
    expect(noneSeen).toEqual(log.filter((_, i) => i % 2 === 1).map((e) => e.position))
  })

  it('the database inbox: a second delivery of an event in flight waits for its commit, then skips', async () => {
    const { tdb } = await fresh()
    const { inbox, read, record } = await effects(tdb.db)
    const event = { id: 'e-1', position: 1 } as unknown as RewindEvent
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered = false
    const first = inbox.once('c', 'e-1', async (ctx) => {
      await record(ctx, event)
      entered = true
      await gate
    })
    await until(() => entered)
    let secondRan = false
    const second = inbox.once('c', 'e-1', async () => {
      secondRan = true
    })
    release()
    expect(await first).toBe(true)
    expect(await second).toBe(false)
    expect(secondRan).toBe(false)
    // A failed handler leaves no row: the next delivery runs it.
    await expect(
      inbox.once('c', 'e-2', async () => {
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    expect(await inbox.once('c', 'e-2', async () => {})).toBe(true)
    // Another consumer has its own record of the same event.
    expect(await inbox.once('other', 'e-1', async () => {})).toBe(true)
    expect((await read()).map((r) => r.n)).toEqual([1])
  })

  it('the memory inbox forgets the least recently processed ids past its size', async () => {
    await fresh()
    const inbox = memoryInbox({ size: 2 })
    const ran: string[] = []
    const once = (id: string) => inbox.once('c', id, async () => void ran.push(id))
    expect([await once('a'), await once('b'), await once('a'), await once('c')]).toEqual([
      true,
      true,
      false,
      true,
    ])
    // a, b, c: a was the oldest; c pushed it out.
    expect([await once('b'), await once('a')]).toEqual([false, true])
    expect(ran).toEqual(['a', 'b', 'c', 'a'])
    await expect(
      inbox.once('c', 'x', async () => {
        throw new Error('failed')
      }),
    ).rejects.toThrow('failed')
    expect(await once('x')).toBe(true)
  })

  it('NATS out of reach: a BROKER error that says where', async () => {
    const error = await consumeRewindEvents({
      servers: ['nats://someone:secret@127.0.0.1:1', '127.0.0.1:2'],
      stream: 'REWIND',
      durable: 'nobody',
      handlers: (on) => [on(Item, 'create', () => {})],
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isRewindError(error, 'BROKER')).toBe(true)
    expect((error as Error).message).toBe(
      'consumeRewindEvents: could not connect to NATS at nats://127.0.0.1:1, 127.0.0.1:2',
    )
    expect((error as { details: object }).details).toEqual({ connection: true })
  })

  it('bad configuration fails with a clear error and creates nothing', async () => {
    const { stream } = await freshStream()
    const handlers = (on: OnEvent<unknown>) => [on(Item, 'create', () => {})]
    const error = async (config: object) =>
      consumeRewindEvents({ servers: NATS, stream, durable: 'ok', handlers, ...config } as never).then(
        () => undefined,
        (e: unknown) => e,
      )
    const bad = await error({ durable: 'has.dot' })
    expect(isRewindError(bad, 'INVALID_DEFINITION')).toBe(true)
    expect((bad as Error).message).toMatch(/durable name "has\.dot"/)
    const unknownAction = await error({
      handlers: (on: OnEvent<unknown>) => [on(Item, 'fly' as never, () => {})],
    })
    expect(isRewindError(unknownAction, 'INVALID_DEFINITION')).toBe(true)
    expect((unknownAction as Error).message).toMatch(/Item has no action "fly"/)
    const both = await error({ connection: nc })
    expect((both as Error).message).toMatch(/either servers .* or connection/)
    const attempts = await error({ maxDeliver: 0 })
    expect((attempts as Error).message).toMatch(/maxDeliver must be a positive integer, got 0/)
    const missing = await error({ stream: `NOPE_${unique()}` })
    expect(isRewindError(missing, 'NOT_FOUND')).toBe(true)
    expect((missing as Error).message).toMatch(/no stream "NOPE_/)
    const names = await jsm.consumers.list(stream).next()
    expect(names).toHaveLength(0)
  })
})
