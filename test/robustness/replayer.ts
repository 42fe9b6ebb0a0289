/** A process that replays the log slowly (small batches) and reports progress; the tests kill it mid-way. */
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { createRewind } from '../../src/index.js'
import { events, loggedResources } from '../support/logged-domain.js'
import { WORKER_KEY } from './shared.js'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 })
const rewind = await createRewind({
  db: drizzle({ client: pool }),
  resources: loggedResources,
  eventLog: {
    table: events,
    actors: { userId: () => undefined, systemActor: () => 'replayer' },
    encryption: { current: 'k', keys: { k: WORKER_KEY } },
  },
})
await rewind.replay({
  batchSize: 5,
  mode: 'naive',
  onProgress: (p) => process.stdout.write(`${JSON.stringify({ progress: p.done, total: p.total })}\n`),
})
process.stdout.write(`${JSON.stringify({ finished: true })}\n`)
await pool.end()
