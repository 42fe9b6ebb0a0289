import { randomUUID } from 'node:crypto'
import { Item, PlainItem } from '../domain.js'
import { type BackendName, type Metric, openDb, openRewind, type RawSql, rawSql } from '../lib.js'

/**
 * One writer: N creates then N updates through Rewind (tracked), through an untracked resource, and as raw
 * SQL on the same driver (the row and the event in one transaction). Rounds alternate the paths so machine
 * noise falls on all alike, after an unmeasured round that warms each path up (JIT, statement plans).
 */
export async function writeOne(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const n = quick ? 400 : 3000
  const rounds = quick ? 4 : 6
  const b = await openDb(backend, 2)
  const rewind = await openRewind(b.db)
  const raw = rawSql(b)
  const rawPrepared = rawSql(b, true)
  const totals = { tracked: 0, untracked: 0, raw: 0, rawPrepared: 0 }
  let serial = 0
  const round = async (per: number) => {
    const took = { tracked: 0, untracked: 0, raw: 0, rawPrepared: 0 }
    let t = performance.now()
    const ids: string[] = []
    for (let i = 0; i < per; i++) ids.push((await rewind.run(Item, 'create', { name: `t${serial++}` })).id)
    for (const id of ids) await rewind.run(Item, 'rename', { name: `t${serial++}` }, { id })
    took.tracked = performance.now() - t

    t = performance.now()
    const pids: string[] = []
    for (let i = 0; i < per; i++)
      pids.push((await rewind.run(PlainItem, 'create', { name: `p${serial++}` })).id)
    for (const id of pids) await rewind.run(PlainItem, 'rename', { name: `p${serial++}` }, { id })
    took.untracked = performance.now() - t

    took.raw = await rawRound(raw, per, () => `r${serial++}`)
    took.rawPrepared = await rawRound(rawPrepared, per, () => `q${serial++}`)
    return took
  }
  try {
    // Unmeasured: every path's code is compiled by the JIT and its statements planned before timing starts.
    await round(quick ? 200 : 1000)
    for (let r = 0; r < rounds; r++) {
      const took = await round(Math.floor(n / rounds))
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += took[k]
    }
    const ops = 2 * Math.floor(n / rounds) * rounds
    const perS = (ms: number) => (ops * 1000) / ms
    return [
      {
        name: 'write.1.tracked_per_s',
        backend,
        value: perS(totals.tracked),
        unit: 'actions/s',
        target: null,
      },
      {
        name: 'write.1.untracked_per_s',
        backend,
        value: perS(totals.untracked),
        unit: 'actions/s',
        target: null,
      },
      { name: 'write.1.raw_per_s', backend, value: perS(totals.raw), unit: 'writes/s', target: null },
      {
        name: 'write.1.raw_prepared_per_s',
        backend,
        value: perS(totals.rawPrepared),
        unit: 'writes/s',
        target: null,
      },
      {
        name: 'write.1.tracked_vs_raw',
        backend,
        value: totals.raw / totals.tracked,
        unit: 'ratio',
        target: 0.8,
        direction: 'min',
      },
      {
        name: 'write.1.tracked_vs_raw_prepared',
        backend,
        value: totals.rawPrepared / totals.tracked,
        unit: 'ratio',
        target: null,
      },
      {
        name: 'write.1.tracked_vs_untracked',
        backend,
        value: totals.untracked / totals.tracked,
        unit: 'ratio',
        target: null,
      },
    ]
  } finally {
    await rewind.close()
    await b.close()
  }
}

/** `per` creates then `per` updates as raw SQL, each with its event in one transaction; returns the ms taken. */
async function rawRound(raw: RawSql, per: number, nextName: () => string): Promise<number> {
  const t = performance.now()
  const ids = Array.from({ length: per }, () => randomUUID())
  for (const id of ids) await rawWrite(raw, 'create', id, nextName())
  for (const id of ids) await rawWrite(raw, 'rename', id, nextName())
  return performance.now() - t
}

const EVENT_COLUMNS =
  'record_id, resource, action, action_type, version, data, changed_attributes, occurred_at'
/** The event inserts, with the constant parts as literals: the least the database can be asked to do. */
const EVENT_SQL = {
  create: `INSERT INTO events (${EVENT_COLUMNS}) VALUES ($1, 'Item', 'create', 'create', 2, $2, $3, $4)`,
  rename: `INSERT INTO events (${EVENT_COLUMNS}) VALUES ($1, 'Item', 'rename', 'update', 1, $2, $3, $4)`,
}

/** One write and its event, the minimum a tracked create or rename must do. */
async function rawWrite(raw: RawSql, action: 'create' | 'rename', id: string, name: string): Promise<void> {
  const at = new Date().toISOString()
  const create = action === 'create'
  await raw.transaction(async (q) => {
    if (create)
      await q('INSERT INTO items (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)', [id, name, at])
    else await q('UPDATE items SET name = $2, updated_at = $3 WHERE id = $1', [id, name, at])
    await q(EVENT_SQL[action], [
      id,
      JSON.stringify({ name }),
      JSON.stringify(create ? { id, createdAt: at, updatedAt: at } : { updatedAt: at }),
      at,
    ])
  })
}
