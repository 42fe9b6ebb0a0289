import { afterEach, describe, expect, it } from 'vitest'
import {
  type Consumer,
  createRewind,
  createTableStatements,
  defineProjection,
  defineSubscription,
  isRewindError,
  type Rewind,
} from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'
import {
  applied,
  events,
  foldItems,
  gates,
  Item,
  itemNames,
  itemNamesProjection,
  partsProjection,
  recordingSubscription,
  resources,
  totalsProjection,
} from '../support/consumer-domain.js'
import { until } from '../support/until.js'
import { wholeLog } from '../support/whole-log.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {})
  open.length = 0
  gates.clear()
})

describe.each(backends)('consumers on $name', (backend) => {
  async function fresh(): Promise<TestDatabase> {
    const tdb = await backend.create()
    open.push(tdb)
    return tdb
  }
  async function make(tdb: TestDatabase, consumers: readonly Consumer[], notifyCommits?: boolean) {
    const rewind = await createRewind({
      db: tdb.db,
      resources,
      eventLog: { table: events, actors: { systemActor: () => 'test' } },
      consumers,
      createTables: true,
      ...(notifyCommits === undefined ? {} : { notifyCommits }),
    })
    open.unshift(rewind)
    // The tests' counter of applications (written by several projections, owned by none).
    for (const statement of createTableStatements([applied])) await rewind.database.query(statement)
    return rewind
  }
  const all = (rewind: Rewind) => wholeLog(rewind, 1000)
  const readModel = async (rewind: Rewind) =>
    new Map(
      (await rewind.database.query('SELECT id, name, qty::text FROM item_names')).map((r) => [
        r.id!,
        { name: r.name!, qty: Number(r.qty) },
      ]),
    )
  const appliedCounts = async (rewind: Rewind, consumer: string) =>
    (
      await rewind.database.query(
        'SELECT position::text, n::text FROM applied WHERE consumer = $1 ORDER BY applied.position',
        [consumer],
      )
    ).map((r) => [Number(r.position), Number(r.n)] as const)
  const caughtUp = async (rewind: Rewind, name: string) =>
    (await rewind.consumers.status())
      .filter((s) => s.name === name)
      .every((s) => s.lagEvents === 0 && s.state !== 'new')

  async function someWrites(rewind: Rewind<typeof resources>, n: number) {
    const ids: string[] = []
    for (let i = 0; i < n; i++) {
      const item = await rewind.run(Item, 'create', { name: `item ${i}`, qty: i })
      ids.push(item.id)
      if (i % 3 === 0) await rewind.run(Item, 'rename', { name: `renamed ${i}` }, { id: item.id })
      if (i % 4 === 0) await rewind.run(Item, 'add', { qty: i * 10 }, { id: item.id })
      if (i % 5 === 4) await rewind.run(Item, 'destroy', {}, { id: item.id })
    }
    return ids
  }

  it('an inline projection commits with its action, fails it atomically, and is left alone by replay', async () => {
    const tdb = await fresh()
    const rewind = await make(tdb, [itemNamesProjection('inlineNames', { lifecycle: 'inline' })])
    const a = await rewind.run(Item, 'create', { name: 'Ada', qty: 1 })
    // Consistent the moment the action commits: no consumer runs.
    expect(await readModel(rewind)).toEqual(new Map([[a.id, { name: 'Ada', qty: 1 }]]))
    await rewind.run(Item, 'rename', { name: 'Ada L.' }, { id: a.id })
    // A failing handler fails the action: no row, no event, no projection row.
    const before = (await all(rewind)).length
    const err = await rewind.run(Item, 'create', { name: 'poison' }).catch((e: unknown) => e)
    expect(isRewindError(err, 'INTERNAL')).toBe(true)
    expect((err as Error).message).toContain('projection "inlineNames" failed on Item.create')
    expect((await all(rewind)).length).toBe(before)
    expect(await rewind.list(Item)).toHaveLength(1)
    await someWrites(rewind, 12)
    expect(await readModel(rewind)).toEqual(foldItems(await all(rewind)))
    // Replay rebuilds the tracked tables from the same log: the projection (a function of the log) is untouched.
    const model = await readModel(rewind)
    const counts = await appliedCounts(rewind, 'inlineNames')
    await rewind.replay()
    expect(await readModel(rewind)).toEqual(model)
    expect(await appliedCounts(rewind, 'inlineNames')).toEqual(counts)
    expect(counts.every(([, n]) => n === 1)).toBe(true)
    // A rebuild removes rows the log cannot produce and gives the same model.
    await rewind.database.query(
      `INSERT INTO item_names (id, name, qty) VALUES ('stray', 'not from the log', 0)`,
    )
    await rewind.database.query(`DELETE FROM applied`)
    const rebuilt = await rewind.consumers.rebuild('inlineNames')
    expect(rebuilt.events).toBeGreaterThan(0)
    expect(await readModel(rewind)).toEqual(model)
    expect((await appliedCounts(rewind, 'inlineNames')).every(([, n]) => n === 1)).toBe(true)
    const [status] = await rewind.consumers.status()
    expect(status).toMatchObject({ name: 'inlineNames', lifecycle: 'inline', state: 'inline', lagEvents: 0 })
  })

  it('an async projection follows the log in batches, applying each event exactly once with its checkpoint', async () => {
    const tdb = await fresh()
    const rewind = await make(tdb, [
      itemNamesProjection('names', { batchSize: 7 }),
      totalsProjection('totals'),
    ])
    await someWrites(rewind, 10)
    await rewind.consumers.start({ pollMs: 50 })
    await someWrites(rewind, 15)
    await until(() => caughtUp(rewind, 'names'))
    await until(() => caughtUp(rewind, 'totals'))
    const log = await all(rewind)
    expect(await readModel(rewind)).toEqual(foldItems(log))
    const counts = await appliedCounts(rewind, 'names')
    expect(counts.map(([p]) => p)).toEqual(log.map((e) => e.position))
    expect(counts.every(([, n]) => n === 1)).toBe(true)
    const status = await rewind.consumers.status()
    const names = status.find((s) => s.name === 'names')!
    expect(names).toMatchObject({
      kind: 'projection',
      lifecycle: 'async',
      state: 'running',
      lagEvents: 0,
      deadLetters: 0,
    })
    expect(names.position).toBe(log.at(-1)!.position)
    // Stopped: the lease is let go at once, and the lag shows.
    await rewind.consumers.stop()
    await rewind.run(Item, 'create', { name: 'late', qty: 0 })
    const idle = (await rewind.consumers.status()).find((s) => s.name === 'names')!
    expect(idle).toMatchObject({ state: 'idle', lagEvents: 1, owner: null })
    expect(idle.lagSeconds).toBeGreaterThanOrEqual(0)
  })

  it('a rebuild while writers run: stray rows gone, other projections untouched, caught up to live', async () => {
    const tdb = await fresh()
    const rewind = await make(tdb, [itemNamesProjection('names'), totalsProjection('totals')])
    await rewind.consumers.start({ pollMs: 50 })
    await someWrites(rewind, 10)
    await until(async () => (await caughtUp(rewind, 'names')) && (await caughtUp(rewind, 'totals')))
    await rewind.database.query(
      `INSERT INTO item_names (id, name, qty) VALUES ('stray', 'not from the log', 0)`,
    )
    await rewind.database.query(`UPDATE item_totals SET qty = 12345`)
    let writing = true
    const writer = (async () => {
      let n = 0
      while (writing) {
        await rewind.run(Item, 'create', { name: `during ${n++}`, qty: n })
        if (backend.name === 'pglite' && n > 30) break
      }
      return n
    })()
    await new Promise((r) => setTimeout(r, 30))
    const result = await rewind.consumers.rebuild('names')
    writing = false
    const written = await writer
    expect(written).toBeGreaterThan(0)
    await until(() => caughtUp(rewind, 'names'))
    const log = await all(rewind)
    expect(result.position).toBeLessThanOrEqual(log.at(-1)!.position)
    const model = await readModel(rewind)
    expect(model.has('stray')).toBe(false)
    expect(model).toEqual(foldItems(log))
    // The applied counter was rebuilt too (it is one of the projection's writes, not its table: counts add up).
    // The other projection kept its rows, the odd qty included.
    expect((await rewind.database.query(`SELECT qty::text FROM item_totals`))[0]?.qty).toBe('12345')
    await expect(rewind.consumers.rebuild('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('never skips an event whose transaction commits late with a lower position, and a rollback holds nobody back', async () => {
    if (backend.name === 'pglite') {
      // PGlite is one connection: a transaction held open blocks every other; the scenario needs PostgreSQL.
      const tdb = await fresh()
      const rewind = await make(tdb, [itemNamesProjection('names')])
      await rewind.consumers.start({ pollMs: 20 })
      await someWrites(rewind, 5)
      await until(() => caughtUp(rewind, 'names'))
      expect(await readModel(rewind)).toEqual(foldItems(await all(rewind)))
      return
    }
    const tdb = await fresh()
    const delivered: { position: number }[] = []
    const rewind = await make(tdb, [
      itemNamesProjection('names'),
      recordingSubscription('seen', delivered as never, { start: 'beginning' }),
    ])
    await rewind.consumers.start({ pollMs: 20 })
    await someWrites(rewind, 3)
    await until(() => caughtUp(rewind, 'names'))
    // A create holds its transaction open after its event got its position.
    let release!: () => void
    gates.set('held', new Promise<void>((r) => (release = r)))
    const held = rewind.run(Item, 'slowCreate', { name: 'held', qty: 7 })
    await until(async () => {
      const [r] = await rewind.database.query(
        `SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()`,
      )
      return Number(r?.n) > 0
    })
    // A transaction that rolls back after drawing a position.
    const failing = Promise.reject(new Error('rolled back on purpose'))
    failing.catch(() => {})
    gates.set('rolled back', failing)
    await expect(rewind.run(Item, 'slowCreate', { name: 'rolled back', qty: 0 })).rejects.toThrow()
    const later: string[] = []
    for (let i = 0; i < 5; i++)
      later.push((await rewind.run(Item, 'create', { name: `later ${i}`, qty: i })).id)
    // Those commit with higher positions; the consumers wait for the held one instead of skipping it.
    await new Promise((r) => setTimeout(r, 300))
    const model = await readModel(rewind)
    for (const id of later) expect(model.has(id)).toBe(false)
    release()
    const heldItem = await held
    await until(() => caughtUp(rewind, 'names'))
    await until(() => caughtUp(rewind, 'seen'))
    const log = await all(rewind)
    const heldEvent = log.find((e) => e.recordId === heldItem.id)!
    expect(heldEvent.position).toBeLessThan(log.find((e) => e.recordId === later[0])!.position)
    expect(await readModel(rewind)).toEqual(foldItems(log))
    const counts = await appliedCounts(rewind, 'names')
    expect(counts.map(([p]) => p)).toEqual(log.map((e) => e.position))
    expect(counts.every(([, n]) => n === 1)).toBe(true)
    // The subscription saw every event, in position order, the late one included.
    expect(delivered.map((d) => d.position)).toEqual(log.map((e) => e.position))
  })

  it('wakes on a commit without polling: LISTEN/NOTIFY (the poll interval is ten minutes here)', async () => {
    const tdb = await fresh()
    // A process that only writes, for consumers elsewhere: it opts in to announcing its commits.
    const writer = await make(tdb, [], true)
    const follower = await make(tdb, [itemNamesProjection('names')])
    await follower.consumers.start({ pollMs: 600_000 })
    // Ready (the checkpoint exists, the lease is taken, the tail has looked once): now only a NOTIFY wakes it.
    await until(async () => (await follower.consumers.status())[0]!.state === 'running')
    await new Promise((r) => setTimeout(r, 100))
    for (let i = 0; i < 3; i++) {
      const item = await writer.run(Item, 'create', { name: `woken ${i}`, qty: i })
      await until(async () => (await readModel(writer)).has(item.id), 60_000)
    }
    // catchUp waits for what was committed before it; a stopped consumer makes it fail, naming the consumer.
    await writer.run(Item, 'create', { name: 'poison' })
    await expect(follower.consumers.catchUp({ timeoutMs: 120_000 })).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('consumer "names" is stopped'),
    })
    await expect(follower.consumers.catchUp({ only: ['nope'] })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('a subscription delivers at least once in order, retries with backoff, parks a poisoned event and goes on', async () => {
    const tdb = await fresh()
    const delivered: { position: number; id: string; attempt: number; recordId: string }[] = []
    let healed = false
    const rewind = await make(tdb, [
      recordingSubscription('mailer', delivered, {
        start: 'beginning',
        retry: { attempts: 3, initialDelayMs: 5, onExhausted: 'park' },
        // Fails twice on every event, then succeeds; "poison" always fails until healed.
        fail: (e, attempt) => (e.data.name === 'poison' ? !healed : attempt < 3 && e.position % 4 === 0),
      }),
    ])
    const a = await rewind.run(Item, 'create', { name: 'a', qty: 1 })
    const poison = await rewind.run(Item, 'create', { name: 'poison', qty: 1 })
    await rewind.run(Item, 'rename', { name: 'still poison' }, { id: poison.id }) // waits behind the parked create
    await rewind.run(Item, 'rename', { name: 'b' }, { id: a.id })
    await rewind.consumers.start({ pollMs: 20 })
    await until(() => caughtUp(rewind, 'mailer'))
    const log = await all(rewind)
    const poisonEvents = log.filter((e) => e.recordId === poison.id).map((e) => e.position)
    expect(delivered.map((d) => d.position)).toEqual(
      log.map((e) => e.position).filter((p) => !poisonEvents.includes(p)),
    )
    // The idempotency key is the event id; retried deliveries carry their attempt number.
    for (const d of delivered) expect(d.id).toBe(String(log.find((e) => e.position === d.position)!.id))
    expect(delivered.some((d) => d.attempt === 3)).toBe(true)
    const letters = await rewind.consumers.deadLetters('mailer')
    expect(letters.map((l) => [l.position, l.status])).toEqual(poisonEvents.map((p) => [p, 'parked']))
    expect(letters[0]).toMatchObject({ attempts: 3, error: expect.stringContaining('failed') })
    expect(letters[1]!.behind).toBe(letters[0]!.position)
    const status = (await rewind.consumers.status())[0]!
    expect(status).toMatchObject({ state: 'running', deadLetters: 2, lagEvents: 0 })
    expect(status.lastError).toContain('failed')
    // A later event of the parked record is parked behind it, not delivered out of order.
    await rewind.run(Item, 'add', { qty: 5 }, { id: poison.id })
    await until(async () => (await rewind.consumers.deadLetters('mailer')).length === 3)
    // Retry by name: the whole chain of the record is delivered, in order.
    healed = true
    const count = delivered.length
    expect(await rewind.consumers.retry('mailer', log.find((e) => e.position === poisonEvents[1])!.id)).toBe(
      3,
    )
    await until(async () => (await rewind.consumers.deadLetters('mailer')).length === 0)
    expect(delivered.slice(count).map((d) => d.recordId)).toEqual([poison.id, poison.id, poison.id])
    const after = delivered.slice(count).map((d) => d.position)
    expect(after).toEqual([...after].sort((x, y) => x - y))
    await expect(rewind.consumers.retry('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(rewind.consumers.skip('mailer', 999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('a batch projection: one call per batch in its transaction; a failing batch is split to find and park its event', async () => {
    const tdb = await fresh()
    const calls: number[] = []
    let healed = false
    const rewind = await make(tdb, [
      defineProjection('batched', {
        batchSize: 50,
        retry: { attempts: 2, initialDelayMs: 5, onExhausted: 'park' },
        filter: { resources: [Item] },
        handleBatch: async (events, { sql }) => {
          calls.push(events.length)
          if (!healed && events.some((e) => e.data.name === 'poison')) throw new Error('poisoned batch')
          await sql(
            `INSERT INTO applied (consumer, position, n) SELECT 'batched', p, 1 FROM unnest($1::int8[]) AS p
             ON CONFLICT (consumer, position) DO UPDATE SET n = applied.n + 1`,
            [`{${events.map((e) => e.position).join(',')}}`],
          )
        },
      }),
    ])
    await someWrites(rewind, 6)
    const poison = await rewind.run(Item, 'create', { name: 'poison', qty: 0 })
    await someWrites(rewind, 4)
    await rewind.consumers.start({ pollMs: 20 })
    await until(() => caughtUp(rewind, 'batched'))
    const log = await all(rewind)
    const poisonAt = log.find((e) => e.recordId === poison.id)!.position
    const counts = await appliedCounts(rewind, 'batched')
    expect(counts.map(([p]) => p)).toEqual(log.map((e) => e.position).filter((p) => p !== poisonAt))
    expect(counts.every(([, n]) => n === 1)).toBe(true)
    expect(Math.max(...calls)).toBeGreaterThan(1)
    expect((await rewind.consumers.deadLetters('batched')).map((l) => [l.position, l.status])).toEqual([
      [poisonAt, 'parked'],
    ])
    // A rebuild meets the poisoned event again: it fails and changes nothing; skipped, it is passed over.
    await expect(rewind.consumers.rebuild('batched')).rejects.toMatchObject({ code: 'REPLAY' })
    expect(await appliedCounts(rewind, 'batched')).toEqual(counts)
    // Fixed and retried by name: applied once (the dead letter is taken off in the same transaction).
    healed = true
    expect(await rewind.consumers.retry('batched', log.find((e) => e.position === poisonAt)!.id)).toBe(1)
    await until(async () => (await rewind.consumers.deadLetters('batched')).length === 0)
    const all1 = await appliedCounts(rewind, 'batched')
    expect(all1.map(([p]) => p)).toEqual(log.map((e) => e.position))
    expect(all1.every(([, n]) => n === 1)).toBe(true)
    // Skipped instead, a rebuild passes over it.
    const again = await rewind.run(Item, 'create', { name: 'poison', qty: 1 })
    healed = false
    await until(async () => (await rewind.consumers.deadLetters('batched')).length === 1)
    const againId = (await rewind.events({ recordId: again.id })).events[0]!.id
    await rewind.consumers.skip('batched', againId)
    healed = true
    await rewind.database.query(`DELETE FROM applied`)
    await rewind.consumers.rebuild('batched')
    await until(() => caughtUp(rewind, 'batched'))
    expect((await appliedCounts(rewind, 'batched')).map(([p]) => p)).toEqual(log.map((e) => e.position))
  })

  it('the stop policy: the consumer stops on a failing event until it is retried or skipped by name', async () => {
    const tdb = await fresh()
    let healed = false
    const rewind = await make(tdb, [
      defineProjection('strict', {
        tables: [itemNames],
        retry: { attempts: 2, initialDelayMs: 5 },
        handlers: (on) => [
          on(Item, 'create', async (e, { db }) => {
            if (e.data.name === 'poison' && !healed) throw new Error('poisoned event')
            await db.insert(itemNames).values({ id: e.recordId, name: e.data.name, qty: e.data.qty ?? 0 })
          }),
        ],
      }),
    ])
    await rewind.run(Item, 'create', { name: 'a', qty: 1 })
    const p1 = await rewind.run(Item, 'create', { name: 'poison', qty: 1 })
    const c = await rewind.run(Item, 'create', { name: 'c', qty: 1 })
    await rewind.consumers.start({ pollMs: 20 })
    await until(async () => (await rewind.consumers.status())[0]!.state === 'stopped')
    const [status] = await rewind.consumers.status()
    expect(status!.lastError).toContain('poisoned event')
    expect(status!.lagEvents).toBe(2) // the poisoned event and the one after it wait
    const model = await readModel(rewind)
    expect([...model.keys()]).not.toContain(c.id)
    const [letter] = await rewind.consumers.deadLetters('strict')
    expect(letter).toMatchObject({ status: 'stopped', attempts: 2 })
    const poisonEvent = (await rewind.events({ recordId: p1.id })).events[0]!
    // Skipped: the consumer goes on after it; the event is never applied.
    await rewind.consumers.skip('strict', poisonEvent.id)
    await until(() => caughtUp(rewind, 'strict'))
    expect([...(await readModel(rewind)).keys()].sort()).toEqual(
      [c.id, (await rewind.list(Item)).find((i) => i.name === 'a')!.id].sort(),
    )
    expect((await rewind.consumers.deadLetters('strict'))[0]).toMatchObject({ status: 'skipped' })
    // A second poisoned event; this time the handler is fixed and retried.
    const p2 = await rewind.run(Item, 'create', { name: 'poison', qty: 2 })
    await until(async () => (await rewind.consumers.status())[0]!.state === 'stopped')
    healed = true
    await rewind.consumers.retry('strict')
    await until(() => caughtUp(rewind, 'strict'))
    expect((await readModel(rewind)).get(p2.id)).toEqual({ name: 'poison', qty: 2 })
    // A rebuild passes over the skipped event and applies the rest.
    await rewind.consumers.rebuild('strict')
    await until(() => caughtUp(rewind, 'strict'))
    expect((await readModel(rewind)).has(p1.id)).toBe(false)
    expect((await readModel(rewind)).has(p2.id)).toBe(true)
  })

  it('starts from the beginning, from now, or from a position; the checkpoint survives a restart', async () => {
    const tdb = await fresh()
    const seen = {
      all: [] as { position: number }[],
      now: [] as { position: number }[],
      from: [] as { position: number }[],
    }
    const subs = () => [
      recordingSubscription('all', seen.all as never, { start: 'beginning' }),
      recordingSubscription('now', seen.now as never),
      recordingSubscription('from', seen.from as never, { start: { afterPosition: 3 } }),
    ]
    const first = await make(tdb, subs())
    await someWrites(first, 3)
    const before = (await all(first)).map((e) => e.position)
    await first.consumers.start({ pollMs: 20 })
    await first.run(Item, 'create', { name: 'after start', qty: 0 })
    for (const n of ['all', 'now', 'from']) await until(() => caughtUp(first, n))
    const log = (await all(first)).map((e) => e.position)
    expect(seen.all.map((d) => d.position)).toEqual(log)
    expect(seen.now.map((d) => d.position)).toEqual(log.filter((p) => !before.includes(p)))
    expect(seen.from.map((d) => d.position)).toEqual(log.filter((p) => p > 3))
    await first.consumers.stop()
    // Another instance (a restarted app) goes on from the checkpoints: nothing delivered twice.
    for (const k of ['all', 'now', 'from'] as const) seen[k].length = 0
    await first.run(Item, 'create', { name: 'while stopped', qty: 0 })
    const second = await make(tdb, subs())
    await second.consumers.start({ pollMs: 20 })
    for (const n of ['all', 'now', 'from']) await until(() => caughtUp(second, n))
    const last = (await all(second)).at(-1)!.position
    for (const k of ['all', 'now', 'from'] as const) expect(seen[k].map((d) => d.position)).toEqual([last])
  })

  it('competing consumers: one instance holds each lease; another takes over when it stops or dies; partitions spread', async () => {
    const tdb = await fresh()
    const one = await make(tdb, [itemNamesProjection('names'), partsProjection()])
    const two = await make(tdb, [itemNamesProjection('names'), partsProjection()])
    await one.consumers.start({ pollMs: 20, leaseMs: 3000, maxPartitions: 1 })
    await two.consumers.start({ pollMs: 20, leaseMs: 3000, maxPartitions: 1 })
    await someWrites(one, 8)
    await until(() => caughtUp(one, 'names'))
    await until(() => caughtUp(one, 'parts'))
    const owners = (await one.consumers.status()).filter((s) => s.name === 'parts').map((s) => s.owner)
    expect(owners.every((o) => o !== null)).toBe(true)
    // One partition each (maxPartitions: 1): two processes share the work.
    expect(new Set(owners).size).toBe(2)
    const names = (await one.consumers.status()).find((s) => s.name === 'names')!
    const holder = names.owner === one.consumers.owner ? one : two
    expect(names.owner).toBe(holder.consumers.owner)
    // The holder stops: its leases are let go, the other instance takes 'names' over; a third takes the
    // partition of 'parts' the other cannot (it runs one already).
    await holder.consumers.stop()
    const three = await make(tdb, [partsProjection()])
    await three.consumers.start({ pollMs: 20, leaseMs: 3000, maxPartitions: 1 })
    await someWrites(one, 4)
    await until(() => caughtUp(one, 'names'))
    await until(() => caughtUp(one, 'parts'))
    const log = await all(one)
    for (const name of ['names', 'parts']) {
      const counts = await appliedCounts(one, name)
      expect(counts.map(([p]) => p)).toEqual(log.map((e) => e.position))
      expect(counts.every(([, n]) => n === 1)).toBe(true)
    }
  })

  it('a lease is fenced: a process that lost it cannot move the checkpoint or apply a batch', async () => {
    const tdb = await fresh()
    const rewind = await make(tdb, [itemNamesProjection('names')])
    const { checkpoints } = await import('../../src/consumers/checkpoint-store.js')
    const run = (t: string, p?: readonly (string | null)[]) => rewind.database.query(t, p ?? [])
    await checkpoints.create(run, 'names', 0, 'projection', 0)
    expect(await checkpoints.acquire(run, 'names', 0, 'A', 60_000)).toBe(0)
    expect(await checkpoints.acquire(run, 'names', 0, 'B', 60_000)).toBeUndefined()
    // A's lease runs out (a paused or dead process): B takes over.
    await run(`UPDATE rewind_consumers SET lease_until = clock_timestamp() - interval '1 second'`)
    expect(await checkpoints.acquire(run, 'names', 0, 'B', 60_000)).toBe(0)
    expect(await checkpoints.advance(run, 'names', 0, 'A', 60_000, 0, 5)).toBe(false)
    expect(
      await rewind.database.transaction((c) =>
        checkpoints.fence((t, p) => c.query(t, p ?? []), 'names', 0, 'A', 0),
      ),
    ).toBe('lost')
    expect(await checkpoints.renew(run, 'names', 0, 'A', 60_000)).toBe(false)
    expect(await checkpoints.advance(run, 'names', 0, 'B', 60_000, 0, 5)).toBe(true)
    // B's checkpoint moved: a batch B read before the move is stale.
    expect(
      await rewind.database.transaction((c) =>
        checkpoints.fence((t, p) => c.query(t, p ?? []), 'names', 0, 'B', 0),
      ),
    ).toBe('moved')
    if (backend.name !== 'postgres') return
    // A batch transaction holds the row: a takeover waits for its commit, then finds the lease extended.
    const pool = tdb.db.$client as import('pg').Pool
    const a = await pool.connect()
    try {
      await run(`UPDATE rewind_consumers SET lease_until = clock_timestamp() - interval '1 second'`)
      await a.query('BEGIN')
      await a.query(`SELECT 1 FROM rewind_consumers WHERE name = 'names' FOR UPDATE`)
      let tookOver: number | undefined | 'pending' = 'pending'
      const takeover = checkpoints.acquire(run, 'names', 0, 'C', 60_000).then((r) => {
        tookOver = r
      })
      await new Promise((r) => setTimeout(r, 100))
      expect(tookOver).toBe('pending')
      await a.query(
        `UPDATE rewind_consumers SET position = 9, lease_until = clock_timestamp() + interval '1 minute'`,
      )
      await a.query('COMMIT')
      await takeover
      expect(tookOver).toBeUndefined()
    } finally {
      a.release()
    }
  })

  it('definition mistakes fail at definition time, with the fix in the message', () => {
    expect(() => defineProjection('bad name!', { handlers: (on) => [on(Item, 'create', () => {})] })).toThrow(
      /not valid/,
    )
    expect(() => defineProjection('p', { handlers: (on) => [on(Item, 'nope' as never, () => {})] })).toThrow(
      /Item has no action "nope"/,
    )
    expect(() => defineProjection('p', { handlers: () => [] })).toThrow(/at least one/)
    expect(() =>
      defineProjection('p', {
        lifecycle: 'inline',
        partitions: 2,
        handlers: (on) => [on(Item, 'create', () => {})],
      }),
    ).toThrow(/options of async projections/)
    expect(() => defineSubscription('s', {})).toThrow(/either handlers/)
    expect(() =>
      defineSubscription('s', {
        handlers: (on) => [on(Item, '*', () => {})],
        retry: { onExhausted: 'drop' as never },
      }),
    ).toThrow(/park' or 'stop/)
    expect(() =>
      defineProjection('p', {
        start: 'yesterday' as never,
        handlers: (on) => [on(Item, 'create', () => {})],
      }),
    ).toThrow(/start must be/)
  })

  it('createRewind checks the consumers before opening a database', async () => {
    const p = itemNamesProjection('names')
    await expect(createRewind({ resources, consumers: [p] })).rejects.toThrow(/pass eventLog/)
    await expect(
      createRewind({
        resources,
        eventLog: { table: events, actors: { systemActor: () => 'x' } },
        consumers: [p, itemNamesProjection('names')],
      }),
    ).rejects.toThrow(/two consumers are named "names"/)
    await expect(
      createRewind({
        resources,
        eventLog: { table: events, actors: { systemActor: () => 'x' } },
        consumers: [p, itemNamesProjection('other')],
      }),
    ).rejects.toThrow(/both own table "item_names"/)
    await expect(
      createRewind({
        resources: [],
        eventLog: { table: events, actors: { systemActor: () => 'x' } },
        consumers: [p],
      }),
    ).rejects.toThrow(/handles events of Item, which is not in createRewind/)
  })
})
