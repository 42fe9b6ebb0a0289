/**
 * A relay process for the fault tests: publishes the consumer tests' log to NATS until killed. Prints
 * "started" once its relay runs. env: DATABASE_URL (PostgreSQL) or PGLITE_DIR (then it writes random item
 * actions too, as the only process on that directory), NATS_URL, STREAM, LEASE_MS, SEED.
 */
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { createRewind } from '../../src/index.js'
import { natsRelay } from '../../src/relay/index.js'
import { events, Item, resources } from '../support/consumer-domain.js'
import { rng } from '../support/rng.js'

/** The relay of the fault tests (the parent registers the same one for status and catchUp). */
export const faultRelay = (servers: string, stream: string) =>
  natsRelay({
    servers,
    stream,
    prefix: stream.toLowerCase(),
    // Small batches: a kill lands in the middle of one often.
    batchSize: 25,
    ackTimeoutMs: 3000,
    retryDelayMs: { initial: 20, max: 300 },
  })

async function main() {
  const pglite = process.env.PGLITE_DIR
  const db = pglite
    ? drizzlePglite({ client: new PGlite(pglite) })
    : (() => {
        const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 3 })
        pool.on('error', () => {})
        return drizzlePg({ client: pool })
      })()
  const rewind = await createRewind({
    db,
    resources,
    eventLog: { table: events, actors: { systemActor: () => 'relay' } },
    consumers: [faultRelay(process.env.NATS_URL!, process.env.STREAM!)],
    createTables: pglite !== undefined,
  })
  await rewind.consumers.start({ pollMs: 50, leaseMs: Number(process.env.LEASE_MS ?? 1000) })
  console.log('started')
  if (!pglite) return
  const random = rng(Number(process.env.SEED ?? 1))
  const mine = (await rewind.list(Item, { limit: 100 })).map((i) => i.id)
  for (let n = 0; ; n++) {
    const r = random()
    const id = mine[Math.floor(random() * mine.length)]
    if (r < 0.4 || id === undefined) {
      mine.push((await rewind.run(Item, 'create', { name: `item ${n}`, qty: n })).id)
    } else if (r < 0.9) await rewind.run(Item, 'add', { qty: n }, { id })
    else {
      await rewind.run(Item, 'destroy', {}, { id })
      mine.splice(mine.indexOf(id), 1)
    }
    if (n % 10 === 0) await new Promise((r) => setTimeout(r, 5))
  }
}

if (process.env.RELAY_PROCESS === '1') {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
