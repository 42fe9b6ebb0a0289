/**
 * An application process on an embedded PGlite data directory: runs the async projections of the consumer
 * tests and writes random item actions beside them until killed. Prints "started" once both run.
 * env: PGLITE_DIR, SEED.
 */
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { createRewind, createTableStatements } from '../../src/index.js'
import {
  applied,
  events,
  Item,
  itemNamesProjection,
  partsProjection,
  resources,
} from '../support/consumer-domain.js'
import { rng } from '../support/rng.js'

export const pgliteConsumers = () => [
  itemNamesProjection('names', {
    batchSize: 20,
    retry: { attempts: 2, initialDelayMs: 5, onExhausted: 'park' },
  }),
  partsProjection({ batchSize: 10 }),
]

async function main() {
  const random = rng(Number(process.env.SEED ?? 1))
  const client = new PGlite(process.env.PGLITE_DIR)
  const rewind = await createRewind({
    db: drizzle({ client }),
    resources,
    eventLog: { table: events, actors: { systemActor: () => 'app' } },
    consumers: pgliteConsumers(),
    createTables: true,
  })
  for (const s of createTableStatements([applied])) await rewind.database.query(s)
  await rewind.consumers.start({ pollMs: 50 })
  console.log('started')
  const mine = (await rewind.list(Item, { limit: 100 })).map((i) => i.id)
  for (let n = 0; ; n++) {
    const r = random()
    const id = mine[Math.floor(random() * mine.length)]
    if (r < 0.3 || id === undefined) {
      const name = random() < 0.05 ? 'poison' : `item ${n}`
      mine.push((await rewind.run(Item, 'create', { name, qty: Math.floor(random() * 100) })).id)
    } else if (r < 0.6) await rewind.run(Item, 'rename', { name: `renamed ${n}` }, { id })
    else if (r < 0.9) await rewind.run(Item, 'add', { qty: Math.floor(random() * 1000) }, { id })
    else {
      await rewind.run(Item, 'destroy', {}, { id })
      mine.splice(mine.indexOf(id), 1)
    }
  }
}

if (process.env.PGLITE_PROCESS === '1') {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
