import { type BackendName, countQueries, type Metric, openDb, openRewind, rawSql, serverCpu } from '../lib.js'
import {
  createTriggerSchema,
  emmettPath,
  floorPath,
  rawPath,
  statementPath,
  trackedPath,
  triggerDriverPath,
  triggerDrizzlePath,
  untrackedPath,
  type WritePath,
} from '../peers.js'

export const OPS = ['create', 'rename', 'deposit'] as const
export type Op = (typeof OPS)[number]

/**
 * One writer: N creates, N renames (which do not read the record) and N deposits (which do) through Rewind
 * (tracked) and each peer: an untracked resource, raw SQL on the same driver (the row and its event in one
 * transaction) through the ordinary query call and prepared, plain statements on tables with an audit
 * trigger, and Emmett with an inline Pongo projection (PostgreSQL). Rounds alternate the paths (the order
 * rotating) so machine noise falls on all alike, after an unmeasured round that warms each path up (JIT,
 * statement plans).
 */
export async function writeOne(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const n = quick ? 400 : 5000
  // Short turns (100 operations per path and round), so that a burst of load from elsewhere on the machine
  // falls on several paths' turns rather than on one path's.
  const rounds = quick ? 4 : 50
  const b = await openDb(backend, 2)
  const rewind = await openRewind(b.db)
  await createTriggerSchema(b)
  const paths: Record<string, WritePath> = {
    tracked: trackedPath(rewind),
    untracked: untrackedPath(rewind),
    raw: rawPath(rawSql(b)),
    rawPrepared: rawPath(rawSql(b, true)),
    trigger: triggerDriverPath(b),
    // The same path again, timed as another: how far two runs of the same code read apart in this run.
    triggerAgain: triggerDriverPath(b),
    triggerDrizzle: triggerDrizzlePath(b),
    statement: await statementPath(rewind),
    floor: await floorPath(rewind),
  }
  if (backend === 'postgres') paths.emmett = emmettPath(b.url!, 2)
  const names = Object.keys(paths)
  const totals = Object.fromEntries(names.map((p) => [p, { create: 0, rename: 0, deposit: 0 }]))
  // The process's CPU time over each path's creates and renames (all threads; on PGlite the database's work too,
  // which runs in this process).
  const cpu = Object.fromEntries(names.map((p) => [p, 0]))
  // The database server's CPU time over the same creates and renames, when the server is on this machine.
  const server = serverCpu(b)
  const serverSpent = Object.fromEntries(names.map((p) => [p, 0]))
  const accounts: Record<string, string[]> = {}
  for (const p of names) if (paths[p]!.openAccounts) accounts[p] = await paths[p]!.openAccounts!(16)
  let serial = 0
  const runPath = async (p: string, per: number, into?: Record<Op, number>) => {
    const path = paths[p]!
    const ids: string[] = []
    const serverAt = server?.() ?? 0
    const used = process.cpuUsage()
    const t = performance.now()
    for (let i = 0; i < per; i++) ids.push(await path.create(`${p}-${serial++}`))
    const created = performance.now()
    for (const id of ids) await path.rename(id, `${p}-${serial++}`)
    const renamed = performance.now()
    const spent = process.cpuUsage(used)
    const serverUsed = (server?.() ?? 0) - serverAt
    if (path.deposit) {
      const own = accounts[p]!
      for (let i = 0; i < per; i++) await path.deposit(own[i % own.length]!, 1 + (i % 7))
    }
    if (into) {
      cpu[p]! += spent.user + spent.system
      serverSpent[p]! += serverUsed
      into.create += created - t
      into.rename += renamed - created
      into.deposit += performance.now() - renamed
    }
  }
  const metrics: Metric[] = []
  try {
    // Unmeasured: every path's code is compiled by the JIT and its statements planned before timing starts. V8
    // optimises a function once it has run enough of its code: Rewind's pipeline, many small functions each run
    // once per action, keeps getting faster for its first 3,000 or so creates and renames (a short path such as
    // the trigger's settles within 2,000), so every path runs 4,000 of each first, in interleaved rounds.
    for (let k = 0; k < (quick ? 1 : 4); k++) for (const p of names) await runPath(p, quick ? 200 : 1000)
    if (backend === 'postgres') metrics.push(...(await roundTrips(paths, accounts)))
    const per = Math.floor(n / rounds)
    for (let r = 0; r < rounds; r++)
      for (let i = 0; i < names.length; i++) {
        const p = names[(i + r) % names.length]!
        await runPath(p, per, totals[p])
      }
    const ops = per * rounds
    const m = (name: string, value: number, unit: string, target: number | null = null): Metric => ({
      name,
      backend,
      value,
      unit,
      target,
      direction: 'min',
    })
    const cr = (p: string) => totals[p]!.create + totals[p]!.rename
    const all = (p: string) => cr(p) + totals[p]!.deposit
    metrics.push(
      m('write.1.tracked_per_s', (2 * ops * 1000) / cr('tracked'), 'actions/s'),
      m('write.1.untracked_per_s', (2 * ops * 1000) / cr('untracked'), 'actions/s'),
      m('write.1.raw_per_s', (2 * ops * 1000) / cr('raw'), 'writes/s'),
      m('write.1.raw_prepared_per_s', (2 * ops * 1000) / cr('rawPrepared'), 'writes/s'),
      m('write.1.trigger_per_s', (2 * ops * 1000) / cr('trigger'), 'writes/s'),
      m('write.1.trigger_drizzle_per_s', (2 * ops * 1000) / cr('triggerDrizzle'), 'writes/s'),
      m('write.1.deposit.tracked_per_s', (ops * 1000) / totals.tracked!.deposit, 'actions/s'),
      m('write.1.tracked_vs_raw', cr('raw') / cr('tracked'), 'ratio', 1),
      m('write.1.tracked_vs_raw_prepared', cr('rawPrepared') / cr('tracked'), 'ratio'),
      m('write.1.tracked_vs_untracked', cr('untracked') / cr('tracked'), 'ratio'),
      m('write.1.tracked_vs_trigger', cr('trigger') / cr('tracked'), 'ratio'),
      m('write.1.tracked_vs_trigger_drizzle', cr('triggerDrizzle') / cr('tracked'), 'ratio'),
    )
    // What each path costs the client: process CPU per create or rename, µs (the tracked action's pipeline is
    // tracked's minus statement's).
    for (const p of ['tracked', 'untracked', 'statement', 'floor', 'trigger', 'raw'])
      metrics.push(m(`write.1.client_cpu_us.${p}`, cpu[p]! / (2 * ops), 'µs/op'))
    if (server) metrics.push(...serverMetrics('write.1', backend, cpu, serverSpent, 2 * ops))
    // The bound: Rewind's statement alone against the trigger, and how much of it the tracked action keeps.
    for (const op of ['create', 'rename'] as const)
      metrics.push(
        m(`write.1.${op}.statement_vs_trigger`, totals.trigger![op] / totals.statement![op], 'ratio'),
        m(`write.1.${op}.tracked_vs_statement`, totals.statement![op] / totals.tracked![op], 'ratio'),
        m(`write.1.${op}.floor_vs_trigger`, totals.trigger![op] / totals.floor![op], 'ratio'),
        m(`write.1.${op}.tracked_vs_floor`, totals.floor![op] / totals.tracked![op], 'ratio'),
      )
    for (const op of OPS) {
      metrics.push(
        m(`write.1.${op}.trigger_vs_trigger`, totals.triggerAgain![op] / totals.trigger![op], 'ratio'),
        m(
          `write.1.${op}.tracked_vs_trigger`,
          totals.trigger![op] / totals.tracked![op],
          'ratio',
          op === 'deposit' ? 0.9 : 1,
        ),
        m(
          `write.1.${op}.tracked_vs_trigger_drizzle`,
          totals.triggerDrizzle![op] / totals.tracked![op],
          'ratio',
        ),
        m(`write.1.${op}.tracked_vs_raw`, totals.raw![op] / totals.tracked![op], 'ratio'),
        m(`write.1.${op}.tracked_vs_raw_prepared`, totals.rawPrepared![op] / totals.tracked![op], 'ratio'),
      )
      if (paths.emmett)
        metrics.push(m(`write.1.${op}.tracked_vs_emmett`, totals.emmett![op] / totals.tracked![op], 'ratio'))
    }
    if (paths.emmett) {
      metrics.push(
        m('write.1.emmett_per_s', (3 * ops * 1000) / all('emmett'), 'actions/s'),
        m('write.1.tracked_vs_emmett', all('emmett') / all('tracked'), 'ratio', 2.5),
      )
    }
    return metrics
  } finally {
    await paths.emmett?.close?.()
    await rewind.close()
    await b.close()
  }
}

/** The round trips one operation of each path sends, counted at the pg client (warm: statements prepared). */
async function roundTrips(
  paths: Record<string, WritePath>,
  accounts: Record<string, string[]>,
): Promise<Metric[]> {
  const out: Metric[] = []
  for (const [p, path] of Object.entries(paths)) {
    if (['untracked', 'rawPrepared', 'statement', 'floor', 'triggerAgain'].includes(p)) continue
    let id = ''
    const counts: Record<Op, number> = {
      create: await countQueries(async () => {
        id = await path.create(`${p}-count-${id.length}-${Math.random()}`)
      }),
      rename: await countQueries(() => path.rename(id, `${p}-counted-${Math.random()}`)),
      deposit: path.deposit ? await countQueries(() => path.deposit!(accounts[p]![0]!, 1)) : 0,
    }
    for (const op of OPS)
      out.push({
        name: `write.round_trips.${p}.${op}`,
        backend: 'postgres',
        value: counts[op],
        unit: 'round trips',
        target: null,
      })
  }
  return out
}

/**
 * What each path costs the database server (its processes' CPU per create or rename, µs) and the machine (the
 * client's and the server's together), and the machine's work of the trigger's path over the tracked action's
 * and the floor's: on a machine whose cores are all busy (eight writers on two cores), the most a path's speed
 * can be against another's is the inverse of their work.
 */
export function serverMetrics(
  prefix: string,
  backend: BackendName,
  client: Record<string, number>,
  server: Record<string, number>,
  ops: number,
): Metric[] {
  const m = (name: string, value: number, unit: string): Metric => ({
    name,
    backend,
    value,
    unit,
    target: null,
    direction: 'min',
  })
  const work = (p: string) => client[p]! + server[p]!
  return [
    ...['tracked', 'statement', 'floor', 'trigger', 'raw'].flatMap((p) => [
      m(`${prefix}.server_cpu_us.${p}`, server[p]! / ops, 'µs/op'),
      m(`${prefix}.cpu_us.${p}`, work(p) / ops, 'µs/op'),
    ]),
    m(`${prefix}.cpu.tracked_vs_trigger`, work('trigger') / work('tracked'), 'ratio'),
    m(`${prefix}.cpu.floor_vs_trigger`, work('trigger') / work('floor'), 'ratio'),
    m(`${prefix}.cpu.statement_vs_trigger`, work('trigger') / work('statement'), 'ratio'),
  ]
}
