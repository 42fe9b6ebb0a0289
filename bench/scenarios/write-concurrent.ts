import { type BackendName, type Metric, openDb, openRewind, rawSql, serverCpu } from '../lib.js'
import {
  createTriggerSchema,
  emmettPath,
  floorPath,
  rawPath,
  statementPath,
  trackedPath,
  triggerDriverPath,
  triggerDrizzlePath,
  type WritePath,
} from '../peers.js'
import { OPS, type Op, serverMetrics } from './write-one.js'

/**
 * Eight concurrent writers: on PostgreSQL a pool of 8 connections, on PGlite 8 async writers sharing its one
 * connection. Each round of a path has three phases, each timed: every writer creates K records, then renames
 * K of 64 shared records, then deposits into K of 64 shared accounts (rows that the writers contend for).
 * Paths: Rewind's default mode (no global lock), its advisory-lock mode (AshEvents' design, PostgreSQL), raw
 * SQL (the row and its event in one transaction), plain statements on tables with an audit trigger, and
 * Emmett with an inline Pongo projection (PostgreSQL). Paths alternate round by round, the order rotating,
 * after an unmeasured round of each.
 */
export async function writeConcurrent(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const writers = 8
  const b = await openDb(backend, writers)
  const tracked = await openRewind(b.db)
  const advisory = backend === 'postgres' ? await openRewind(b.db, { advisoryLock: 'global' }) : undefined
  await createTriggerSchema(b)
  const paths: Record<string, WritePath> = {
    tracked: trackedPath(tracked),
    raw: rawPath(rawSql(b)),
    trigger: triggerDriverPath(b),
    // The same path again, timed as another: how far two runs of the same code read apart in this run.
    triggerAgain: triggerDriverPath(b),
    triggerDrizzle: triggerDrizzlePath(b),
    statement: await statementPath(tracked),
    floor: await floorPath(tracked),
  }
  if (advisory) paths.advisory = trackedPath(advisory)
  if (backend === 'postgres') paths.emmett = emmettPath(b.url!, writers)
  const names = Object.keys(paths)
  // Short turns (K = 25 per writer and phase), so that a burst of load from elsewhere on the machine falls on
  // several paths' turns rather than on one path's.
  const perWriter = quick ? 10 : 25
  const rounds = quick ? 6 : 36
  const totals = Object.fromEntries(names.map((p) => [p, { create: 0, rename: 0, deposit: 0 }]))
  // The process's CPU time over each path's creates and renames (all threads; on PGlite the database's work too,
  // which runs in this process).
  const cpu = Object.fromEntries(names.map((p) => [p, 0]))
  // The database server's CPU time over the same creates and renames, when the server is on this machine.
  const server = serverCpu(b)
  const serverSpent = Object.fromEntries(names.map((p) => [p, 0]))
  const shared: Record<string, { items: string[]; accounts: string[] }> = {}
  let serial = 0
  for (const p of names) {
    const path = paths[p]!
    const items: string[] = []
    for (let i = 0; i < 64; i++) items.push(await path.create(`${p}-shared-${serial++}`))
    shared[p] = { items, accounts: path.openAccounts ? await path.openAccounts(64) : [] }
  }
  const phase = async (fn: (w: number) => Promise<void>) => {
    const t = performance.now()
    await Promise.all(Array.from({ length: writers }, (_, w) => fn(w)))
    return performance.now() - t
  }
  const runPath = async (p: string, into?: Record<Op, number>) => {
    const path = paths[p]!
    const { items, accounts } = shared[p]!
    const start = serial
    const serverAt = server?.() ?? 0
    const used = process.cpuUsage()
    const create = await phase(async (w) => {
      for (let i = 0; i < perWriter; i++) await path.create(`${p}-${w}-${serial++}`)
    })
    const rename = await phase(async (w) => {
      for (let i = 0; i < perWriter; i++)
        await path.rename(items[(w * 13 + i * 7 + start) % items.length]!, `${p}-${w}-${serial++}`)
    })
    const spent = process.cpuUsage(used)
    const serverUsed = (server?.() ?? 0) - serverAt
    const deposit = !path.deposit
      ? 0
      : await phase(async (w) => {
          for (let i = 0; i < perWriter; i++)
            await path.deposit!(accounts[(w * 13 + i * 7 + start) % accounts.length]!, 1 + (i % 7))
        })
    if (into) {
      cpu[p]! += spent.user + spent.system
      serverSpent[p]! += serverUsed
      into.create += create
      into.rename += rename
      into.deposit += deposit
    }
  }
  try {
    // Unmeasured: every path's code is compiled by the JIT and its statements planned before timing starts (as in
    // write-one.ts: 3,200 creates, renames and deposits of each path, in interleaved rounds).
    for (let k = 0; k < (quick ? 2 : 16); k++) for (const p of names) await runPath(p)
    for (let r = 0; r < rounds; r++)
      for (let i = 0; i < names.length; i++) {
        const p = names[(i + r) % names.length]!
        await runPath(p, totals[p])
      }
    const ops = writers * perWriter * rounds
    const pg = backend === 'postgres'
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
    const w = `write.${writers}`
    const metrics: Metric[] = [
      m(`${w}.tracked_per_s`, (2 * ops * 1000) / cr('tracked'), 'actions/s'),
      m(`${w}.raw_per_s`, (2 * ops * 1000) / cr('raw'), 'writes/s'),
      m(`${w}.trigger_per_s`, (2 * ops * 1000) / cr('trigger'), 'writes/s'),
      m(`${w}.deposit.tracked_per_s`, (ops * 1000) / totals.tracked!.deposit, 'actions/s'),
      m(`${w}.tracked_vs_raw`, cr('raw') / cr('tracked'), 'ratio', pg ? 1 : null),
      m(`${w}.tracked_vs_trigger`, cr('trigger') / cr('tracked'), 'ratio'),
      m(`${w}.tracked_vs_trigger_drizzle`, cr('triggerDrizzle') / cr('tracked'), 'ratio'),
    ]
    // What each path costs the client: process CPU per create or rename, µs. With eight writers the machine's
    // cores are shared by the client and the backends: what the client spends, the server does not get.
    for (const p of ['tracked', 'statement', 'floor', 'trigger', 'raw'])
      metrics.push(m(`${w}.client_cpu_us.${p}`, cpu[p]! / (2 * ops), 'µs/op'))
    if (server) metrics.push(...serverMetrics(w, backend, cpu, serverSpent, 2 * ops))
    for (const op of ['create', 'rename'] as const)
      metrics.push(
        m(`${w}.${op}.statement_vs_trigger`, totals.trigger![op] / totals.statement![op], 'ratio'),
        m(`${w}.${op}.tracked_vs_statement`, totals.statement![op] / totals.tracked![op], 'ratio'),
        m(`${w}.${op}.floor_vs_trigger`, totals.trigger![op] / totals.floor![op], 'ratio'),
        m(`${w}.${op}.tracked_vs_floor`, totals.floor![op] / totals.tracked![op], 'ratio'),
      )
    for (const op of OPS) {
      metrics.push(
        m(`${w}.${op}.trigger_vs_trigger`, totals.triggerAgain![op] / totals.trigger![op], 'ratio'),
        m(
          `${w}.${op}.tracked_vs_trigger`,
          totals.trigger![op] / totals.tracked![op],
          'ratio',
          !pg ? null : op === 'deposit' ? 0.9 : 1,
        ),
        m(`${w}.${op}.tracked_vs_trigger_drizzle`, totals.triggerDrizzle![op] / totals.tracked![op], 'ratio'),
        m(`${w}.${op}.tracked_vs_raw`, totals.raw![op] / totals.tracked![op], 'ratio'),
      )
      if (paths.emmett)
        metrics.push(m(`${w}.${op}.tracked_vs_emmett`, totals.emmett![op] / totals.tracked![op], 'ratio'))
    }
    if (paths.emmett)
      metrics.push(
        m(`${w}.emmett_per_s`, (3 * ops * 1000) / all('emmett'), 'actions/s'),
        m(`${w}.tracked_vs_emmett`, all('emmett') / all('tracked'), 'ratio', 2.5),
      )
    if (paths.advisory) {
      // Raw SQL does strictly less than a tracked action, so raw_vs_advisory bounds tracked_vs_advisory on
      // this machine; advisory_share is how much of that bound Rewind reaches.
      const trackedVsAdvisory = cr('advisory') / cr('tracked')
      const rawVsAdvisory = cr('advisory') / cr('raw')
      metrics.push(
        m(`${w}.advisory_per_s`, (2 * ops * 1000) / cr('advisory'), 'actions/s'),
        m(`${w}.tracked_vs_advisory`, trackedVsAdvisory, 'ratio'),
        m(`${w}.raw_vs_advisory`, rawVsAdvisory, 'ratio'),
        m(`${w}.advisory_share`, trackedVsAdvisory / rawVsAdvisory, 'ratio', 0.95),
      )
    }
    return metrics
  } finally {
    await paths.emmett?.close?.()
    await tracked.close()
    await advisory?.close()
    await b.close()
  }
}
