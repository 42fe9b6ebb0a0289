/**
 * Replays a generated log in a fresh process, as an application would after a restart, so that the process's
 * peak memory is the replay's own (plus the embedded database for PGlite), not what earlier scenarios left.
 *
 * node bench/.build/bench/replay-child.js (or node --import tsx bench/replay-child.ts) <pglite|postgres>
 *   <data directory | connection string> <batch size | default>
 *   <batched|naive> [until event id]
 * Prints one JSON line: { eventsApplied, durationMs, bulk, oneByOne, items, maxRssMb, rssAtOpenMb }.
 */
import { type BackendName, connectDb, openRewind } from './lib.js'

const [backend, where, batch, mode, until] = process.argv.slice(2)
const b = connectDb(backend as BackendName, where, 2)
const rewind = await openRewind(b.db)
const rssAtOpenMb = process.memoryUsage.rss() / 1024 / 1024
const result = await rewind.replay({
  ...(batch === 'default' ? {} : { batchSize: Number(batch) }),
  mode: mode === 'naive' ? 'naive' : 'batched',
  ...(until ? { untilEventId: Number(until) } : {}),
})
const maxRssMb = process.resourceUsage().maxRSS / 1024
const items = Number((await rewind.database.query('SELECT count(*) AS n FROM items'))[0]!.n)
await b.close()
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
