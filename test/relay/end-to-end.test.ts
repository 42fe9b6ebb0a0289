import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRewind, type RewindEvent } from '../../src/index.js'
import { consumeRewindEvents, databaseInbox, natsRelay } from '../../src/relay/index.js'
import { backends } from '../support/backends.js'
import { NatsServer } from '../support/nats-server.js'
import { until } from '../support/until.js'
import { Member, relayEvents } from './domain.js'

const KEY = randomBytes(32).toString('base64')

let nats: NatsServer
beforeAll(async () => {
  nats = await NatsServer.create()
})
afterAll(async () => {
  await nats?.destroy()
})

describe.each(backends)('relay to another service on $name', (backend) => {
  it("the relay's messages reach consumeRewindEvents typed, one tenant's (a tenant with a dot) each once, sensitive values masked unless allowed", async () => {
    const app = await backend.create()
    const other = await backend.create()
    const stream = `E_${randomBytes(4).toString('hex')}`
    const prefix = `e2e${stream}`
    const relay = natsRelay({
      servers: nats.url,
      stream,
      prefix,
      tenantInSubject: true,
      allowSensitive: { Member: ['email'] },
    })
    const rewind = await createRewind({
      db: app.db,
      resources: [Member],
      eventLog: {
        table: relayEvents,
        actors: { userId: () => null },
        encryption: { current: 'k', keys: { k: KEY } },
      },
      consumers: [relay],
      createTables: true,
    })
    const joined: { name: string; email: string | null; secret: unknown; tenant: string | null }[] = []
    const renamed: RewindEvent[] = []
    let consumer: Awaited<ReturnType<typeof consumeRewindEvents>> | undefined
    try {
      let acme = 0
      for (let i = 0; i < 24; i++) {
        const org = i % 2 === 0 ? 'acme.inc' : 'globex'
        if (org === 'acme.inc') acme++
        const m = await rewind.run(
          Member,
          'join',
          { name: `m${i}`, email: `m${i}@example.com`, secret: `s${i}` },
          { tenant: org },
        )
        if (i % 4 === 0) await rewind.run(Member, 'rename', { name: `r${i}` }, { id: m.id, tenant: org })
      }
      await rewind.consumers.start({ pollMs: 50 })
      await rewind.consumers.catchUp({ timeoutMs: 120_000 })
      // The relay made the stream; the other service starts reading it from its first message.
      consumer = await consumeRewindEvents({
        servers: nats.url,
        stream,
        durable: `d${stream}`,
        prefix,
        tenant: 'acme.inc',
        // The other service's database: the inbox table is made there on first use.
        inbox: databaseInbox({ db: other.db }),
        handlers: (on) => [
          on(Member, 'join', (e) => {
            // Typed from the action: data.name is a string.
            const name: string = e.data.name
            joined.push({ name, email: e.data.email ?? null, secret: e.data.secret, tenant: e.tenant })
          }),
          on('Member', 'rename', (e) => {
            renamed.push(e)
          }),
        ],
      })
      // A handler's event counts as processed once its inbox transaction committed, just after the handler ran.
      await until(
        () => joined.length === acme && renamed.length === 6 && consumer!.stats.processed >= acme + 6,
        60_000,
      )
      expect(joined.map((j) => j.name)).toEqual(
        Array.from({ length: 24 }, (_, i) => i)
          .filter((i) => i % 2 === 0)
          .map((i) => `m${i}`),
      )
      expect(joined.every((j) => j.tenant === 'acme.inc')).toBe(true)
      expect(joined.every((j) => /@example\.com$/.test(j.email ?? ''))).toBe(true)
      expect(joined.every((j) => JSON.stringify(j.secret) === '{"$masked":true}')).toBe(true)
      expect(renamed.map((e) => e.data.name)).toEqual([0, 4, 8, 12, 16, 20].map((i) => `r${i}`))
      expect(consumer.stats.processed).toBe(acme + 6)
    } finally {
      await consumer?.stop()
      await rewind.close()
      await app.close()
      await other.close()
    }
  }, 180_000)
})
