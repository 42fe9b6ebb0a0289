import { Item } from '../domain.js'
import { type BackendName, type Metric, median, openDb, openRewind, timeIt } from '../lib.js'
import { appendGroups, appendHotRecord } from './log.js'

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
  const b = await openDb(backend, 2)
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
    await rewind.database.query('ANALYZE events')
    const at = { at: '2100-01-01T00:00:00Z' }
    const stateSmall = await p50(15, () => rewind.stateAt(Item, hotId, at))
    const historySmall = await p50(9, () => rewind.history(Item, hotId))
    const generated = performance.now()
    await appendGroups(rewind, 901, 901 + (large - 10_000) / 10)
    await rewind.database.query('ANALYZE events')
    m('log.generate_s', (performance.now() - generated) / 1000, 's')
    const stateLarge = await p50(15, () => rewind.stateAt(Item, hotId, at))
    const historyLarge = await p50(9, () => rewind.history(Item, hotId))
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

    // Replay: naive on a prefix (one action per event; its rate is steady), batched on the whole log.
    const prefix = quick ? 5_000 : 20_000
    const cut = (
      await rewind.database.query('SELECT id FROM events WHERE position = $1::int8', [String(prefix)])
    )[0]!.id!
    const naive = await rewind.replay({ mode: 'naive', untilEventId: Number(cut) })
    const naiveRate = (naive.eventsApplied * 1000) / naive.durationMs
    global.gc?.()
    const baseline = process.memoryUsage.rss()
    let peak = baseline
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss())
    }, 50)
    const batched = await rewind.replay({ batchSize: 2000 })
    clearInterval(sampler)
    const rate = (batched.eventsApplied * 1000) / batched.durationMs
    const items = Number((await rewind.database.query('SELECT count(*) AS n FROM items'))[0]!.n)
    const groups = (large - 1000) / 10
    if (batched.eventsApplied !== large || items !== Math.floor(groups) + 1) {
      throw new Error(
        `replay gave ${batched.eventsApplied} events and ${items} items, expected ${large} and ${Math.floor(groups) + 1}`,
      )
    }
    m('replay.events', batched.eventsApplied, 'events')
    m('replay.events_per_s', rate, 'events/s', backend === 'postgres' ? 30_000 : null, 'min')
    m('replay.naive_events_per_s', naiveRate, 'events/s')
    m('replay.vs_naive', rate / naiveRate, 'ratio', 10, 'min')
    m(
      'replay.bulk_batches_share',
      batched.batches.bulk / Math.max(1, batched.batches.bulk + batched.batches.oneByOne),
      'ratio',
    )
    m('replay.peak_rss_mb', peak / 1024 / 1024, 'MB', quick ? null : 512, 'max')
    // What the replay itself adds (the process may also hold embedded databases of earlier scenarios).
    m('replay.rss_growth_mb', (peak - baseline) / 1024 / 1024, 'MB')
    return metrics
  } finally {
    await rewind.close()
    await b.close()
  }
}
