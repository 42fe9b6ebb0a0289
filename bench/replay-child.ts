/**
 * Replays a generated log in a fresh process, as an application would after a restart, so that the process's
 * peak memory is the replay's own (plus the embedded database for PGlite), not what earlier scenarios left.
 *
 * node --import tsx bench/replay-child.ts <pglite|postgres> <data directory | connection string> <batch size>
 *   <batched|naive> [until event id]
 * Prints one JSON line: { eventsApplied, durationMs, bulk, oneByOne, items, maxRssMb, rssAtOpenMb }.
 */
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { openRewind } from './lib.js'

const [backend, where, batch, mode, until] = process.argv.slice(2)
let db: unknown
let close: () => Promise<void>
if (backend === 'pglite') {
  const client = new PGlite(where)
  db = drizzlePglite({ client })
  close = () => client.close()
} else {
  const pool = new pg.Pool({ connectionString: where, max: 2 })
  pool.on('error', () => {})
  db = drizzlePg({ client: pool })
  close = () => pool.end()
}
const rewind = await openRewind(db)
const rssAtOpenMb = process.memoryUsage.rss() / 1024 / 1024
const result = await rewind.replay({
  batchSize: Number(batch),
  mode: mode === 'naive' ? 'naive' : 'batched',
  ...(until ? { untilEventId: Number(until) } : {}),
})
const maxRssMb = process.resourceUsage().maxRSS / 1024
const items = Number((await rewind.database.query('SELECT count(*) AS n FROM items'))[0]!.n)
await close()
console.log(
  JSON.stringify({
    eventsApplied: result.eventsApplied,
    durationMs: result.durationMs,
    bulk: result.batches.bulk,
    oneByOne: result.batches.oneByOne,
    items,
    maxRssMb,
    rssAtOpenMb,
  }),
)
