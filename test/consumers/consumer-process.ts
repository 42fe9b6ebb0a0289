/**
 * A consumer process for the consumer tests: runs the async projections and the subscription below until
 * killed. Prints "started" once its consumers run. env: DATABASE_URL, LEASE_MS.
 */
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { createRewind, defineSubscription } from '../../src/index.js'
import { events, Item, itemNamesProjection, partsProjection, resources } from '../support/consumer-domain.js'

/** The consumers every process of the test runs (the parent registers the same ones for status). */
export function testConsumers(pool?: pg.Pool) {
  return [
    itemNamesProjection('names', {
      batchSize: 50,
      retry: { attempts: 2, initialDelayMs: 5, onExhausted: 'park' },
    }),
    partsProjection({ batchSize: 20 }),
    // A side effect outside the consumer's transactions: a delivery counter written on its own connection.
    defineSubscription('mailer', {
      start: 'beginning',
      batchSize: 30,
      handlers: (on) => [
        on(Item, '*', async (e, { idempotencyKey }) => {
          await pool!.query(
            `INSERT INTO deliveries (event_id, position, n) VALUES ($1, $2::int8, 1)
             ON CONFLICT (event_id) DO UPDATE SET n = deliveries.n + 1`,
            [idempotencyKey, String(e.position)],
          )
        }),
      ],
    }),
  ]
}

async function main() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 })
  pool.on('error', () => {})
  const rewind = await createRewind({
    db: drizzle({ client: pool }),
    resources,
    eventLog: { table: events, actors: { systemActor: () => 'consumer' } },
    consumers: testConsumers(pool),
  })
  await rewind.consumers.start({
    leaseMs: Number(process.env.LEASE_MS ?? 1000),
    pollMs: 200,
    onError: (error, consumer) => console.error(`${consumer}: ${String(error)}`),
  })
  console.log('started')
}

if (process.env.CONSUMER_PROCESS === '1') {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
