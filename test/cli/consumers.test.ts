import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineConfig } from '../../src/cli/index.js'
import { createRewind, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import {
  events,
  Item,
  itemNamesProjection,
  recordingSubscription,
  resources,
} from '../support/consumer-domain.js'
import { until } from '../support/until.js'
import { cliRunner, jsonLines } from './support.js'

describe.each(backends)('rewind consumers on $name', (backend) => {
  let tdb: TestDatabase
  let app: Rewind<typeof resources>
  let poisonId: number
  const consumers = () => [
    itemNamesProjection('names', { lifecycle: 'inline' }),
    recordingSubscription('mailer', [], {
      start: 'beginning',
      retry: { attempts: 1, onExhausted: 'park' },
      fail: (e) => e.data.name === 'poison!',
    }),
  ]
  const open = (createTables: boolean) =>
    createRewind({
      db: tdb.db,
      resources,
      eventLog: { table: events, actors: { systemActor: () => 'cli' } },
      consumers: consumers(),
      createTables,
    })
  let cli: ReturnType<typeof cliRunner>

  beforeAll(async () => {
    tdb = await backend.create()
    app = await open(true)
    await app.database.query(
      'CREATE TABLE applied (consumer text, position int8, n int4, PRIMARY KEY (consumer, position))',
    )
    const a = await app.run(Item, 'create', { name: 'a', qty: 1 })
    await app.run(Item, 'rename', { name: 'b' }, { id: a.id })
    const p = await app.run(Item, 'create', { name: 'poison!', qty: 1 })
    poisonId = (await app.events({ recordId: p.id })).events[0]!.id as number
    await app.consumers.start({ pollMs: 20 })
    await until(async () => {
      const mailer = (await app.consumers.status()).find((c) => c.name === 'mailer')!
      return mailer.deadLetters === 1 && mailer.lagEvents === 0
    })
    cli = cliRunner({ config: defineConfig({ rewind: () => open(false), close: (r) => r.close() }) })
  })
  afterAll(async () => {
    await app?.close()
    await tdb?.close()
  })

  it('lists each consumer with its position, lag, state, dead letters and last error', async () => {
    const run = await cli(['consumers'])
    expect(run.code).toBe(0)
    expect(run.lines[0]!.split('\t')).toEqual([
      'NAME',
      'KIND',
      'PART',
      'POSITION',
      'LAG',
      'STATE',
      'DEAD',
      'LAST ERROR',
    ])
    const names = run.lines.find((l) => l.startsWith('names\t'))!.split('\t')
    expect(names.slice(0, 6)).toEqual(['names', 'projection (inline)', '0', '3', '-', 'inline'])
    const mailer = run.lines.find((l) => l.startsWith('mailer\t'))!.split('\t')
    expect(mailer.slice(0, 7)).toEqual(['mailer', 'subscription', '0', '3', '0', 'running', '1'])
    expect(mailer[7]).toContain('delivery of 3 failed')
    const json = jsonLines(await cli(['consumers', '--json']))
    expect(json.find((s) => s.name === 'mailer')).toMatchObject({
      lagEvents: 0,
      deadLetters: 1,
      lifecycle: 'async',
    })
  })

  it('dead-letters, retry, skip and rebuild by name', async () => {
    const letters = await cli(['consumers', 'dead-letters', 'mailer'])
    expect(letters.code).toBe(0)
    expect(letters.lines[1]!.split('\t').slice(0, 5)).toEqual([
      'mailer',
      '3',
      String(poisonId),
      expect.stringMatching(/^Item\//),
      'parked',
    ])
    const retry = await cli(['consumers', 'retry', 'mailer', String(poisonId)])
    expect(retry.code).toBe(0)
    expect(retry.stdout).toContain('1 event of mailer put up for retry')
    // Still failing: back on the list, parked.
    await until(async () => (await app.consumers.deadLetters('mailer'))[0]?.status === 'parked')
    const skip = await cli(['consumers', 'skip', 'mailer', String(poisonId), '--json'])
    expect(jsonLines(skip)).toEqual([{ consumer: 'mailer', skipped: poisonId }])
    expect((await app.consumers.deadLetters('mailer'))[0]).toMatchObject({ status: 'skipped' })
    await app.database.query(`INSERT INTO item_names (id, name, qty) VALUES ('stray', 'x', 0)`)
    const rebuild = await cli(['consumers', 'rebuild', 'names'])
    expect(rebuild.code).toBe(0)
    expect(rebuild.stdout).toMatch(/names rebuilt from 3 events \(up to position 3\)/)
    expect((await app.database.query(`SELECT id FROM item_names WHERE id = 'stray'`)).length).toBe(0)
  })

  it('bad calls are usage errors (exit 2) that say what to do; an unknown event is a failure (exit 1)', async () => {
    const unknown = await cli(['consumers', 'retry', 'nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('consumer')
    expect((await cli(['consumers', 'frobnicate'])).code).toBe(2)
    expect((await cli(['consumers', 'skip', 'mailer'])).stderr).toContain('needs the event id')
    expect((await cli(['consumers', 'rebuild'])).code).toBe(2)
    expect((await cli(['consumers', 'skip', 'mailer', 'not-an-id'])).code).toBe(2)
    const missing = await cli(['consumers', 'skip', 'mailer', '999999'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no dead letter for event 999999')
    expect((await cli(['consumers', 'rebuild', 'mailer'])).stderr).toContain('only projections are rebuilt')
  })
})
