/** The configuration `rewind relay` runs with in the relay CLI process test. env: DATABASE_URL, NATS_URL, STREAM. */
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { defineConfig } from '../../src/cli/index.js'
import { createRewind } from '../../src/index.js'
import { events, resources } from '../support/consumer-domain.js'
import { faultRelay } from './relay-process.js'

export default defineConfig({
  rewind: ({ databaseUrl }) =>
    createRewind({
      db: drizzle({ client: new pg.Pool({ connectionString: databaseUrl, max: 3 }) }),
      resources,
      eventLog: { table: events, actors: { systemActor: () => 'cli' } },
      consumers: [faultRelay(process.env.NATS_URL!, process.env.STREAM!)],
    }),
})
