/**
 * Replays a generated log in a fresh process, as an application would after a restart, so that the process's
 * peak memory is the replay's own (plus the embedded database for PGlite), not what earlier scenarios left.
 *
 * node bench/.build/bench/replay-child.js (or node --import tsx bench/replay-child.ts) <pglite|postgres>
 *   <data directory | connection string> <batch size | default>
 *   <batched|naive> [until event id] [warm-up events]
 * Prints one JSON line: { eventsApplied, durationMs, steadyEvents, steadyMs, bulk, oneByOne, items, maxRssMb,
 * rssAtOpenMb }. steadyEvents and steadyMs count from the first progress report at or past the warm-up events
 * (JIT compilation and the first statement plans are behind by then) to the last.
 */
import { type BackendName, connectDb, openRewind } from './lib.js'

const [backend, where, batch, mode, until, warm] = process.argv.slice(2)
const b = connectDb(backend as BackendName, where, 2)
const rewind = await openRewind(b.db)
let warmMark: { done: number; elapsedMs: number } | undefined
let lastMark: { done: number; elapsedMs: number } | undefined
const rssAtOpenMb = process.memoryUsage.rss() / 1024 / 1024
const result = await rewind.replay({
  ...(batch === 'default' ? {} : { batchSize: Number(batch) }),
  mode: mode === 'naive' ? 'naive' : 'batched',
  ...(until && until !== 'all' ? { untilEventId: Number(until) } : {}),
  onProgress: (p) => {
    if (!warmMark && p.done >= Number(warm ?? 0)) warmMark = p
    lastMark = p
  },
})
const maxRssMb = process.resourceUsage().maxRSS / 1024
const items = Number((await rewind.database.query('SELECT count(*) AS n FROM items'))[0]!.n)
await b.close()
console.log(
  JSON.stringify({
    eventsApplied: result.eventsApplied,
    durationMs: result.durationMs,
    steadyEvents: (lastMark?.done ?? 0) - (warmMark?.done ?? 0),
    steadyMs: (lastMark?.elapsedMs ?? 0) - (warmMark?.elapsedMs ?? 0),
    bulk: result.batches.bulk,
    oneByOne: result.batches.oneByOne,
    items,
    maxRssMb,
    rssAtOpenMb,
  }),
)
