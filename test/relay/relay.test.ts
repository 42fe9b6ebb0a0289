import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, type RewindEvent } from '../../src/index.js'
import { defaultSubject, headerValue, natsRelay, subjectToken } from '../../src/relay/index.js'
import { backends } from '../support/backends.js'
import { NatsServer } from '../support/nats-server.js'
import { until } from '../support/until.js'
import { wholeLog } from '../support/whole-log.js'
import { Member, relayEvents } from './domain.js'
import { deleteStream, readStream } from './stream.js'

const KEY = randomBytes(32).toString('base64')
const actors = { userId: (a: unknown) => (a as { id?: string } | undefined)?.id ?? null }

let nats: NatsServer
beforeAll(async () => {
  nats = await NatsServer.create()
})
afterAll(async () => {
  await nats?.destroy()
})

describe('subject tokens', () => {
  it('keeps plain names and percent-encodes what would split or widen a subject', () => {
    expect(subjectToken('Member')).toBe('Member')
    expect(subjectToken('a.b')).toBe('a%2Eb')
    expect(subjectToken('*')).toBe('%2A')
    expect(subjectToken('>')).toBe('%3E')
    expect(subjectToken('acme corp')).toBe('acme%20corp')
    expect(subjectToken('')).toBe('_')
    expect(decodeURIComponent(subjectToken("x.y*z>w!'()~%"))).toBe("x.y*z>w!'()~%")
    expect(defaultSubject({ resource: 'Member', action: 'join', tenant: 'a.b' }, 'rw', true)).toBe(
      'rw.a%2Eb.Member.join',
    )
    expect(defaultSubject({ resource: 'Member', action: 'join', tenant: null }, 'rw', true)).toBe(
      'rw._.Member.join',
    )
    // A header cannot hold a line break: such a value goes percent-encoded (the body has it as it is).
    expect(headerValue('a\r\nb')).toBe('a%0D%0Ab')
    expect(headerValue('acme corp/42')).toBe('acme corp/42')
  })
})

describe.each(backends)('NATS relay on $name', (backend) => {
  it('publishes the log in position order: subjects, ids, headers, bodies as rewind.events() gives them, sensitive values masked unless allowed out', async () => {
    const tdb = await backend.create()
    const stream = `T_${randomBytes(4).toString('hex')}`
    const relay = natsRelay({
      servers: nats.url,
      stream,
      prefix: `app${stream}`,
      allowSensitive: { Member: ['email'] },
      batchSize: 7,
    })
    const tenantRelay = natsRelay({
      name: 'tenantRelay',
      servers: nats.url,
      stream: `${stream}_T`,
      prefix: `bytenant${stream}`,
      tenantInSubject: true,
    })
    const rewind = await createRewind({
      db: tdb.db,
      resources: [Member],
      eventLog: { table: relayEvents, actors, encryption: { current: 'k', keys: { k: KEY } } },
      consumers: [relay, tenantRelay],
      createTables: true,
    })
    try {
      const ids: string[] = []
      for (let i = 0; i < 30; i++) {
        const org = i % 3 === 0 ? 'acme.inc' : 'globex'
        const actor = i % 2 === 0 ? { id: `u${i}` } : undefined
        if (i % 4 === 3 && ids.length > 0) {
          await rewind.run(
            Member,
            'rename',
            { name: `renamed ${i}` },
            { id: ids[i % ids.length]!, tenant: 'globex', actor },
          )
        } else {
          const m = await rewind.run(
            Member,
            'join',
            { name: `m${i}`, email: `m${i}@example.com`, secret: i % 5 === 0 ? null : `s${i}` },
            { tenant: org, actor },
          )
          if (org === 'globex') ids.push(m.id)
        }
      }
      await rewind.consumers.start({ pollMs: 50 })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      const log = await wholeLog(rewind)
      expect(log.length).toBe(30)
      const messages = await readStream(nats.url, stream)
      expect(messages.map((m) => m.headers['Nats-Msg-Id'])).toEqual(log.map((e) => String(e.id)))
      for (const [i, m] of messages.entries()) {
        const e = log[i]!
        expect(m.subject).toBe(`app${stream}.${e.resource}.${e.action}`)
        const actor = Object.values(e.actor).some((v) => v !== null)
        // JetStream keeps the publish expectation among the headers too.
        const { 'Nats-Expected-Last-Sequence': expectation, ...headers } = m.headers
        expect(expectation === undefined || Number(expectation) === m.seq - 1).toBe(true)
        expect(headers).toEqual({
          'Nats-Msg-Id': String(e.id),
          'Rewind-Event-Id': String(e.id),
          'Rewind-Position': String(e.position),
          'Rewind-Resource': e.resource,
          'Rewind-Action': e.action,
          'Rewind-Record-Id': e.recordId,
          'Rewind-Version': String(e.version),
          'Rewind-Tenant': e.tenant!,
          ...(actor ? { 'Rewind-Actor': JSON.stringify(e.actor) } : {}),
          'Rewind-Occurred-At': e.occurredAt,
        })
        const body = JSON.parse(m.body) as RewindEvent
        // The event as rewind.events() gives it, with the sensitive values that are not allowed out masked.
        const expected = JSON.parse(JSON.stringify(e)) as RewindEvent & {
          data: Record<string, unknown>
          changedAttributes: Record<string, unknown>
        }
        for (const part of [expected.data, expected.changedAttributes]) {
          if ('secret' in part && part.secret !== null) part.secret = { $masked: true }
        }
        expect(body).toEqual(expected)
        if (e.action === 'join') {
          // Allowed out: in clear (decrypted), never the ciphertext.
          expect((body.data as Record<string, unknown>).email).toMatch(/@example\.com$/)
          expect(m.body).not.toContain('"s1')
          expect(m.body).not.toContain('rw1:')
        }
      }
      const masked = messages.filter((m) => m.body.includes('{"$masked":true}'))
      expect(masked.length).toBeGreaterThan(10)
      // Tenant in the subject: a tenant with a dot stays one token.
      const byTenant = await readStream(nats.url, `${stream}_T`)
      expect(byTenant.map((m) => m.subject)).toEqual(
        log.map(
          (e) =>
            `bytenant${stream}.${e.tenant === 'acme.inc' ? 'acme%2Einc' : e.tenant}.${e.resource}.${e.action}`,
        ),
      )
      // Stats and lag through the API.
      const stats = relay.stats()
      expect(stats.published).toBe(30)
      expect(stats.lastPosition).toBe(log.at(-1)!.position)
      expect(stats.connected).toBe(true)
      const status = (await rewind.consumers.status()).find((s) => s.name === relay.name)!
      expect(status.lagEvents).toBe(0)
      expect(status.position).toBe(log.at(-1)!.position)
      // Written later: published too; a stream deleted under its relay is made again.
      await deleteStream(nats.url, `${stream}_T`)
      await rewind.run(Member, 'leave', {}, { id: ids[0]!, tenant: 'globex' })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      const after = await readStream(nats.url, stream)
      expect(after.length).toBe(31)
      expect(after.at(-1)!.subject).toBe(`app${stream}.Member.leave`)
      expect((await readStream(nats.url, `${stream}_T`)).map((m) => m.subject)).toEqual([
        `bytenant${stream}.globex.Member.leave`,
      ])
    } finally {
      await rewind.close()
      await tdb.close()
    }
  }, 180_000)

  it('actions commit while NATS is down; the relay says so (lag, lastError) and catches up when a server comes', async () => {
    const tdb = await backend.create()
    const later = await NatsServer.create({ started: false })
    const relay = natsRelay({
      servers: later.url,
      stream: 'LATER',
      ackTimeoutMs: 2000,
      retryDelayMs: { initial: 20, max: 200 },
    })
    const rewind = await createRewind({
      db: tdb.db,
      resources: [Member],
      eventLog: { table: relayEvents, actors },
      consumers: [relay],
      createTables: true,
    })
    try {
      await rewind.consumers.start({ pollMs: 50 })
      for (let i = 0; i < 20; i++) {
        await rewind.run(Member, 'join', { name: `m${i}` }, { tenant: 'acme' })
      }
      // Every action committed; the relay retries and says why.
      await until(async () => {
        const s = (await rewind.consumers.status()).find((x) => x.name === relay.name)!
        return s.lagEvents === 20 && s.lastError !== null && relay.stats().lastError !== undefined
      })
      const s = (await rewind.consumers.status()).find((x) => x.name === relay.name)!
      expect(s.state).toBe('running')
      expect(s.lastError).toMatch(/NATS/)
      expect(relay.stats().connected).toBe(false)
      expect(await rewind.consumers.deadLetters(relay.name)).toEqual([])
      await later.start()
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      for (let i = 20; i < 25; i++) await rewind.run(Member, 'join', { name: `m${i}` }, { tenant: 'acme' })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      const log = await wholeLog(rewind)
      const messages = await readStream(later.url, 'LATER')
      expect(messages.map((m) => m.headers['Rewind-Event-Id'])).toEqual(log.map((e) => String(e.id)))
      expect(relay.stats().lastError).toBeUndefined()
      expect(relay.stats().connected).toBe(true)
      // Stopped while the server is down, it stops (between attempts), without waiting for the server.
      await later.stop()
      await rewind.run(Member, 'join', { name: 'late' }, { tenant: 'acme' })
      await until(() => relay.stats().lastError !== undefined)
      await rewind.consumers.stop()
      expect(rewind.consumers.running).toBe(false)
    } finally {
      await rewind.close()
      await tdb.close()
      await later.destroy()
    }
  }, 180_000)

  it('a network stall (the server frozen mid-stream, acknowledgements late), while actions go on: the stream ends equal to the log', async () => {
    const tdb = await backend.create()
    const stalled = await NatsServer.create()
    const relay = natsRelay({
      servers: stalled.url,
      stream: 'STALL',
      batchSize: 20,
      ackTimeoutMs: 300,
      retryDelayMs: { initial: 20, max: 100 },
    })
    const rewind = await createRewind({
      db: tdb.db,
      resources: [Member],
      eventLog: { table: relayEvents, actors },
      consumers: [relay],
      createTables: true,
    })
    try {
      await rewind.consumers.start({ pollMs: 20 })
      await rewind.run(Member, 'join', { name: 'first' }, { tenant: 'acme' })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      let stalls = 0
      for (let i = 0; i < 150; i++) {
        await rewind.run(Member, 'join', { name: `m${i}` }, { tenant: 'acme' })
        if (i % 50 === 25) {
          // Frozen long enough for the batch in flight to time out; the actions do not wait for it.
          const before = relay.stats().lastErrorAt
          stalled.pause()
          for (let j = 0; j < 10; j++)
            await rewind.run(Member, 'join', { name: `during ${i}.${j}` }, { tenant: 'acme' })
          await until(() => relay.stats().lastErrorAt !== before)
          expect(relay.stats().lastError).toMatch(/acknowledgement|timeout|TIMEOUT/i)
          stalls++
          stalled.resume()
        }
      }
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      expect(stalls).toBe(3)
      const log = await wholeLog(rewind)
      const messages = await readStream(stalled.url, 'STALL')
      expect(messages.map((m) => m.headers['Rewind-Event-Id'])).toEqual(log.map((e) => String(e.id)))
      expect(messages.map((m) => m.seq)).toEqual(log.map((_, i) => i + 1))
    } finally {
      // A failed expectation while frozen must fail the test with its own message, not hang closing on a
      // server that never answers.
      stalled.resume()
      await rewind.close()
      await tdb.close()
      await stalled.destroy()
    }
  }, 180_000)

  it('a relay started again publishes only what the stream lacks, even past the duplicate window; a restarted server loses nothing', async () => {
    const tdb = await backend.create()
    const stream = `R_${randomBytes(4).toString('hex')}`
    // A 1 s duplicate window: the relay must not depend on it.
    const make = (name = 'natsRelay') =>
      natsRelay({ name, servers: nats.url, stream, prefix: stream, duplicateWindowMs: 1000, batchSize: 10 })
    const first = make()
    const rewind = await createRewind({
      db: tdb.db,
      resources: [Member],
      eventLog: { table: relayEvents, actors },
      consumers: [first],
      createTables: true,
    })
    try {
      for (let i = 0; i < 25; i++) await rewind.run(Member, 'join', { name: `m${i}` }, { tenant: 'acme' })
      await rewind.consumers.start({ pollMs: 50 })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      await rewind.consumers.stop()
      // The checkpoint goes back (as if the relay had died before it moved); the window has passed.
      await rewind.database.query(`UPDATE rewind_consumers SET position = 3 WHERE name = 'natsRelay'`)
      await new Promise((r) => setTimeout(r, 1500))
      for (let i = 25; i < 30; i++) await rewind.run(Member, 'join', { name: `m${i}` }, { tenant: 'acme' })
      await rewind.consumers.start({ pollMs: 50 })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      expect(first.stats().duplicates).toBeGreaterThanOrEqual(22)
      // The server restarts under the running relay: it reconnects and goes on.
      await nats.restart()
      for (let i = 30; i < 40; i++) await rewind.run(Member, 'join', { name: `m${i}` }, { tenant: 'acme' })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      const log = await wholeLog(rewind)
      const messages = await readStream(nats.url, stream)
      expect(messages.map((m) => m.headers['Rewind-Event-Id'])).toEqual(log.map((e) => String(e.id)))
      expect(messages.map((m) => m.seq)).toEqual(log.map((_, i) => i + 1))
    } finally {
      await rewind.close()
      await tdb.close()
    }
  }, 180_000)
})
