import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Item } from '../domain.js'
import { type BackendName, COMPILED, type Metric, median, openDb, openRewind, timeIt } from '../lib.js'
import { appendGroups, appendHotRecord } from './log.js'

interface ChildReplay {
  eventsApplied: number
  durationMs: number
  steadyEvents: number
  steadyMs: number
  bulk: number
  oneByOne: number
  items: number
  maxRssMb: number
  rssAtOpenMb: number
}

const run = promisify(execFile)
const CHILD = fileURLToPath(new URL(`../replay-child.${COMPILED ? 'js' : 'ts'}`, import.meta.url))

async function replayInChild(
  backend: BackendName,
  where: string,
  mode: 'batched' | 'naive',
  until = 'all',
  warm = 0,
): Promise<ChildReplay> {
  const args = [
    ...(COMPILED ? [] : ['--import', 'tsx']),
    CHILD,
    backend,
    where,
    'default',
    mode,
    until,
    String(warm),
  ]
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildReplay
}

/**
 * After a bulk load, before measuring: analyze and vacuum as autovacuum would, then (PostgreSQL) write the dirty
 * pages out, so that neither autovacuum nor a checkpoint runs during the measurement.
 */
export async function settle(rewind: { database: { kind: string; query(text: string): Promise<unknown> } }) {
  await rewind.database.query('VACUUM ANALYZE events')
  if (rewind.database.kind === 'postgres') await rewind.database.query('CHECKPOINT')
}

const p50 = async (runs: number, fn: () => Promise<unknown>) => {
  const times: number[] = []
  await fn() // warm up
  for (let i = 0; i < runs; i++) times.push(await timeIt(fn))
  return median(times)
}

/**
 * On one log that grows from 10,000 events to the large size: time travel on a record with 1,000 events
 * (small log, then large log), reads of a filtered page, and replay, batched against naive.
 */
export async function logScale(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const large = quick ? 100_000 : 1_000_000
  const pgliteDir = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'rewind-bench-')) : undefined
  const b = await openDb(backend, 2, pgliteDir)
  let closed = false
  const rewind = await openRewind(b.db)
  const metrics: Metric[] = []
  const m = (
    name: string,
    value: number,
    unit: string,
    target: number | null = null,
    direction?: 'min' | 'max',
  ) => metrics.push({ name, backend, value, unit, target, ...(direction ? { direction } : {}) })
  try {
    const hotId = (await rewind.database.query("SELECT md5('hot')::uuid::text AS id"))[0]!.id!
    await appendHotRecord(rewind, 1000)
    await appendGroups(rewind, 1, 901) // 9,000 more: a 10,000-event log
    await settle(rewind)
    const at = { at: '2100-01-01T00:00:00Z' }
    const stateSmall = await p50(31, () => rewind.stateAt(Item, hotId, at))
    const historySmall = await p50(15, () => rewind.history(Item, hotId))
    const generated = performance.now()
    await appendGroups(rewind, 901, 901 + (large - 10_000) / 10)
    await settle(rewind)
    m('log.generate_s', (performance.now() - generated) / 1000, 's')
    const stateLarge = await p50(31, () => rewind.stateAt(Item, hotId, at))
    const historyLarge = await p50(15, () => rewind.history(Item, hotId))
    const state = await rewind.stateAt(Item, hotId, at)
    if (state?.seq !== 999) throw new Error(`stateAt gave seq ${state?.seq}, expected 999`)
    m('stateAt.ms_p50', stateLarge, 'ms')
    m('stateAt.log_growth_ratio', stateLarge / stateSmall, 'ratio', 1.5, 'max')
    m('history.ms_p50', historyLarge, 'ms')
    m('history.log_growth_ratio', historyLarge / historySmall, 'ratio')

    const mid = Math.floor(large / 20)
    const midItem = (
      await rewind.database.query(`SELECT md5('i' || $1::int)::uuid::text AS id`, [String(mid)])
    )[0]!.id!
    const from = '2026-01-01T00:00:30Z'
    const to = '2026-01-01T00:00:31Z'
    m(
      'events.page_ms_p50.resource',
      await p50(15, () => rewind.events({ resource: 'Note', limit: 100, afterPosition: large / 2 })),
      'ms',
    )
    m(
      'events.page_ms_p50.record',
      await p50(15, () => rewind.events({ resource: 'Item', recordId: midItem, limit: 100 })),
      'ms',
    )
    m(
      'events.page_ms_p50.actor',
      await p50(15, () =>
        rewind.events({ actor: { systemActor: 'ops' }, limit: 100, afterPosition: large / 2 }),
      ),
      'ms',
    )
    m('events.page_ms_p50.time', await p50(15, () => rewind.events({ from, to, limit: 100 })), 'ms')

    // Replay, each run in a fresh process (as after a restart), so that its peak memory is its own. Naive (one
    // action and one round trip per event) against batched on the same events: a prefix of the log, each rate
    // taken past its first events (JIT compilation, first plans); then batched on the whole log, timed whole.
    const prefix = quick ? 20_000 : 50_000
    const warm = quick ? 5_000 : 10_000
    const cut = (
      await rewind.database.query('SELECT id FROM events WHERE position = $1::int8', [String(prefix)])
    )[0]!.id!
    // A PGlite data directory is opened by one process at a time: the child opens it once this one closes it.
    if (backend === 'pglite') {
      await b.close()
      closed = true
    }
    const where = backend === 'pglite' ? pgliteDir! : b.url!
    const steadyRate = (r: ChildReplay) => (r.steadyEvents * 1000) / r.steadyMs
    // Pairs run back to back, so the ratio of each pair sees the same machine; the median pair is reported.
    const pairs: { naive: number; batched: number }[] = []
    for (let i = 0; i < (quick ? 2 : 3); i++) {
      const naive = await replayInChild(backend, where, 'naive', cut, warm)
      const batched = await replayInChild(backend, where, 'batched', cut, warm)
      if (naive.eventsApplied !== prefix || batched.eventsApplied !== prefix) {
        throw new Error(
          `replay of the prefix applied ${naive.eventsApplied} (naive) and ${batched.eventsApplied} (batched) events, expected ${prefix}`,
        )
      }
      pairs.push({ naive: steadyRate(naive), batched: steadyRate(batched) })
    }
    pairs.sort((a, b) => a.batched / a.naive - b.batched / b.naive)
    const pair = pairs[Math.floor(pairs.length / 2)]!
    const batched = await replayInChild(backend, where, 'batched')
    const rate = (batched.eventsApplied * 1000) / batched.durationMs
    const groups = (large - 1000) / 10
    if (batched.eventsApplied !== large || batched.items !== Math.floor(groups) + 1) {
      throw new Error(
        `replay gave ${batched.eventsApplied} events and ${batched.items} items, expected ${large} and ${Math.floor(groups) + 1}`,
      )
    }
    m('replay.events', batched.eventsApplied, 'events')
    m('replay.events_per_s', rate, 'events/s', backend === 'postgres' ? 30_000 : null, 'min')
    m('replay.prefix_events', prefix, 'events')
    m('replay.prefix_naive_events_per_s', pair.naive, 'events/s')
    m('replay.prefix_batched_events_per_s', pair.batched, 'events/s')
    m('replay.vs_naive', pair.batched / pair.naive, 'ratio', 10, 'min')
    m('replay.bulk_batches_share', batched.bulk / Math.max(1, batched.bulk + batched.oneByOne), 'ratio')
    // The whole replaying process at its peak: Node, Rewind, the batch in flight, and for PGlite the database.
    m('replay.peak_rss_mb', batched.maxRssMb, 'MB', quick ? null : 512, 'max')
    m('replay.rss_at_open_mb', batched.rssAtOpenMb, 'MB')
    m('replay.rss_growth_mb', batched.maxRssMb - batched.rssAtOpenMb, 'MB')
    return metrics
  } finally {
    await rewind.close()
    if (!closed) await b.close()
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true })
  }
}
