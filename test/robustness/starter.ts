/**
 * An application process that only starts: it waits for the parent's go (a shared advisory lock the parent
 * holds exclusively until every starter is waiting), then creates the tables as an app starting up does,
 * and prints "ok" or the error's code. env: DATABASE_URL.
 */
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { createRewind, isRewindError } from '../../src/index.js'
import { events, loggedResources } from '../support/logged-domain.js'
import { STARTERS_GO, WORKER_KEY } from './shared.js'

async function main() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 })
  const gate = await pool.connect()
  await gate.query(`SELECT pg_advisory_lock_shared(${STARTERS_GO})`)
  try {
    const rewind = await createRewind({
      db: drizzle({ client: pool }),
      resources: loggedResources,
      createTables: true,
      eventLog: {
        table: events,
        actors: { userId: () => undefined, systemActor: () => 'starter' },
        encryption: { current: 'k', keys: { k: WORKER_KEY } },
      },
    })
    await rewind.close()
    console.log('ok')
  } catch (error) {
    console.log(
      isRewindError(error) ? `${error.code} ${error.sqlState ?? ''} ${error.message}` : String(error),
    )
  } finally {
    gate.release()
    await pool.end()
  }
}

await main()
