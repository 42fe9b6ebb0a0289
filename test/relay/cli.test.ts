import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineConfig } from '../../src/cli/index.js'
import { createRewind } from '../../src/index.js'
import { natsRelay } from '../../src/relay/index.js'
import { cliRunner } from '../cli/support.js'
import { backends } from '../support/backends.js'
import { events, Item, recordingSubscription, resources } from '../support/consumer-domain.js'
import { NatsServer } from '../support/nats-server.js'
import { until } from '../support/until.js'
import { faultRelay } from './relay-process.js'
import { readStream } from './stream.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await NatsServer.create()
})
afterAll(async () => {
  await nats?.destroy()
})

describe.each(backends)('rewind relay on $name', (backend) => {
  it('runs only the relays of the app, prints position and lag, and stops on the signal after the batch in flight', async () => {
    const tdb = await backend.create()
    const stream = `C_${randomBytes(4).toString('hex')}`
    const consumers = () => [
      natsRelay({ servers: nats.url, stream, prefix: stream.toLowerCase() }),
      recordingSubscription('mailer', [], { start: 'beginning' }),
    ]
    const open = (createTables: boolean) =>
      createRewind({
        db: tdb.db,
        resources,
        eventLog: { table: events, actors: { systemActor: () => 'cli' } },
        consumers: consumers(),
        createTables,
      })
    const app = await open(true)
    try {
      for (let i = 0; i < 12; i++) await app.run(Item, 'create', { name: `item ${i}`, qty: i })
      const cli = cliRunner({ config: defineConfig({ rewind: () => open(false), close: (r) => r.close() }) })
      const stop = new AbortController()
      const running = cli(['relay', '--interval', '1', '--json'], { signal: stop.signal })
      await until(async () => (await readStream(nats.url, stream).catch(() => [])).length === 12)
      await until(async () => {
        const s = (await app.consumers.status()).find((c) => c.name === 'natsRelay')!
        return s.lagEvents === 0
      })
      stop.abort()
      const run = await running
      expect(run.code).toBe(0)
      const reports = run.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(reports.at(-1)).toMatchObject({ name: 'natsRelay', position: 12, lagEvents: 0, published: 12 })
      // Only the relay ran: the other subscription never started; the lease was let go.
      const status = await app.consumers.status()
      expect(status.find((c) => c.name === 'mailer')!.state).toBe('new')
      expect(status.find((c) => c.name === 'natsRelay')!.state).toBe('idle')

      const text = cliRunner({ config: defineConfig({ rewind: () => open(false), close: (r) => r.close() }) })
      const stop2 = new AbortController()
      const plain = text(['relay', '--interval', '1'], { signal: stop2.signal })
      await new Promise((r) => setTimeout(r, 1500))
      stop2.abort()
      const out = await plain
      expect(out.code).toBe(0)
      expect(out.lines[0]).toMatch(/^relaying natsRelay/)
      expect(out.stdout).toMatch(/natsRelay: position 12, lag 0, \d+ events\/s, 0 published/)
      expect(out.lines.at(-1)).toBe('relay stopped')

      const unknown = await text(['relay', '--only', 'nope'])
      expect(unknown.code).not.toBe(0)
      expect(unknown.stderr).toMatch(/relay/)
    } finally {
      await app.close()
      await tdb.close()
    }
  }, 120_000)

  it('says what to add when the app has no relay', async () => {
    const tdb = await backend.create()
    const open = () =>
      createRewind({
        db: tdb.db,
        resources,
        eventLog: { table: events, actors: { systemActor: () => 'cli' } },
        createTables: true,
      })
    try {
      const cli = cliRunner({ config: defineConfig({ rewind: open, close: (r) => r.close() }) })
      const run = await cli(['relay'])
      expect(run.code).not.toBe(0)
      expect(run.stderr).toContain('natsRelay({ servers })')
    } finally {
      await tdb.close()
    }
  })
})

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url))
const CONFIG = fileURLToPath(new URL('./relay.config.ts', import.meta.url))

describe.each(backends.filter((b) => b.name === 'postgres'))(
  'the rewind relay process on $name',
  (backend) => {
    it('publishes, prints its lag, and on SIGTERM finishes, lets the lease go and exits 0', async () => {
      const tdb = await backend.create()
      const stream = `P_${randomBytes(4).toString('hex')}`
      const app = await createRewind({
        db: tdb.db,
        resources,
        eventLog: { table: events, actors: { systemActor: () => 'cli' } },
        consumers: [faultRelay(nats.url, stream)],
        createTables: true,
      })
      try {
        for (let i = 0; i < 30; i++) await app.run(Item, 'create', { name: `item ${i}`, qty: i })
        const proc = spawn(
          process.execPath,
          ['--import', 'tsx', BIN, 'relay', '--config', CONFIG, '--interval', '1'],
          {
            env: { ...process.env, DATABASE_URL: tdb.url!, NATS_URL: nats.url, STREAM: stream },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        )
        let stdout = ''
        let stderr = ''
        proc.stdout!.on('data', (c: Buffer) => {
          stdout += c.toString()
        })
        proc.stderr!.on('data', (c: Buffer) => {
          stderr += c.toString()
        })
        const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
        await until(() => /natsRelay: position 30, lag 0/.test(stdout))
        expect((await app.consumers.status())[0]!.state).toBe('running')
        proc.kill('SIGTERM')
        expect(await exited, stderr).toBe(0)
        expect(stdout.trimEnd().split('\n').at(-1)).toBe('relay stopped')
        expect((await readStream(nats.url, stream)).length).toBe(30)
        // The lease was let go at once (not left to expire).
        const [status] = await app.consumers.status()
        expect(status).toMatchObject({ state: 'idle', owner: null, position: 30 })
      } finally {
        await app.close()
        await tdb.close()
      }
    }, 120_000)
  },
)
