import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { wireQuery } from '../src/data/pglite-wire.js'
import { createRewind, type Ordering, type Rewind } from '../src/index.js'
import { events, Item, resources } from './domain.js'

export type BackendName = 'pglite' | 'postgres'

/**
 * `npm run bench` compiles src and bench with tsc and runs plain JavaScript, as an application runs in
 * production. Run through tsx instead (npx tsx bench/run.ts), the loader adds ~80 MB to every process and
 * wraps each function it creates (keepNames), which slows Rewind's closures but not the raw baselines.
 */
export const COMPILED = import.meta.url.endsWith('.js')
/** bench/, wherever this module runs from (bench/ under tsx, bench/.build/bench/ compiled). */
export const BENCH_DIR = new URL(COMPILED ? '../../' : './', import.meta.url)

export interface Metric {
  readonly name: string
  readonly backend: BackendName
  readonly value: number
  readonly unit: string
  readonly target: number | null
  /** 'min' when the value must be at least the target, 'max' when at most. */
  readonly direction?: 'min' | 'max'
}

export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A fresh database on one backend: a Drizzle db, raw SQL for baselines, and how to drop it. */
export interface BenchDb {
  readonly backend: BackendName
  readonly url?: string
  readonly db: unknown
  readonly pool?: pg.Pool
  readonly pglite?: PGlite
  close(): Promise<void>
}

export async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 })
  try {
    await c.connect()
    await c.end()
    return true
  } catch {
    return false
  }
}

/**
 * Opens an existing database: a PGlite data directory (in memory when `where` is undefined), or a PostgreSQL
 * connection string.
 */
export function connectDb(backend: BackendName, where: string | undefined, poolSize = 4): BenchDb {
  if (backend === 'pglite') {
    const client = new PGlite(where)
    return { backend, db: drizzlePglite({ client }), pglite: client, close: () => client.close() }
  }
  if (!where) throw new Error('connectDb: PostgreSQL needs a connection string')
  const pool = new pg.Pool({ connectionString: where, max: poolSize })
  // An idle connection ended by the server (database dropped at the end) must not crash the run.
  pool.on('error', () => {})
  return { backend, url: where, db: drizzlePg({ client: pool }), pool, close: () => pool.end() }
}

/**
 * A fresh database. PGlite is in memory unless `pgliteDir` is given (a data directory, which another process
 * can open once this one has closed it); on PostgreSQL, a new database that `close` drops.
 */
export async function openDb(backend: BackendName, poolSize = 4, pgliteDir?: string): Promise<BenchDb> {
  if (backend === 'pglite') return connectDb(backend, pgliteDir)
  const name = `rewind_bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  const connected = connectDb(backend, u.toString(), poolSize)
  return {
    ...connected,
    async close() {
      await connected.close()
      const a = new pg.Client({ connectionString: ADMIN_URL })
      await a.connect()
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await a.end()
    },
  }
}

export function openRewind(db: unknown, ordering: Ordering = 'rowLocks'): Promise<Rewind<typeof resources>> {
  return createRewind({
    db,
    resources,
    createTables: true,
    eventLog: {
      table: events,
      actors: { userId: () => undefined, systemActor: (a) => (a as { system?: string } | undefined)?.system },
      ordering,
      replayOverrides: [
        { resource: 'Item', action: 'create', versions: [1], routeTo: [[Item, 'legacyCreate']] },
      ],
    },
  })
}

/** A Rewind instance of the bench's domain that runs these consumers (projections, subscriptions, relays). */
export function openWithConsumers(
  db: unknown,
  consumers: Parameters<typeof createRewind>[0]['consumers'] = [],
  notifyCommits = true,
) {
  return createRewind({
    db,
    notifyCommits,
    resources,
    createTables: true,
    consumers,
    eventLog: {
      table: events,
      actors: { userId: () => undefined, systemActor: () => 'bench' },
      replayOverrides: [
        { resource: 'Item', action: 'create', versions: [1], routeTo: [[Item, 'legacyCreate']] },
      ],
    },
  })
}

/** Raw SQL on the same driver: the minimum work (the row and its event in one transaction). */
export interface RawSql {
  transaction<T>(fn: (q: (text: string, params: unknown[]) => Promise<unknown>) => Promise<T>): Promise<T>
}

/**
 * `prepared`: each statement text is parsed once per session and then only bound and executed, as Rewind does
 * (named statements on pg; the wire protocol on PGlite). The stricter baseline: what raw SQL can reach.
 */
export function rawSql(b: BenchDb, prepared = false): RawSql {
  const names = new Map<string, string>()
  const nameOf = (text: string) => {
    let name = names.get(text)
    if (!name) {
      name = `raw_${names.size + 1}`
      names.set(text, name)
    }
    return name
  }
  if (b.pool) {
    const pool = b.pool
    return {
      async transaction(fn) {
        const c = await pool.connect()
        try {
          await c.query('BEGIN')
          const out = await fn((text, params) =>
            prepared ? c.query({ name: nameOf(text), text, values: params }) : c.query(text, params),
          )
          await c.query('COMMIT')
          return out
        } catch (e) {
          await c.query('ROLLBACK')
          throw e
        } finally {
          c.release()
        }
      },
    }
  }
  const client = b.pglite!
  return {
    transaction: (fn) =>
      client.transaction((tx) =>
        fn((text, params) =>
          prepared
            ? wireQuery(
                client,
                text,
                params.map((v) => (v === null || v === undefined ? null : String(v))),
              )
            : tx.query(text, params),
        ),
      ),
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
let ticksPerSecond: number | undefined

/**
 * A reader of the CPU time (µs, user and system) the PostgreSQL server's processes on this machine have used so
 * far: every backend, the WAL writer, the checkpointer, and (through the postmaster's children's times) the
 * backends that have exited. Undefined when they cannot be seen: PGlite (its work is the client's), a server on
 * another host, no /proc. /proc counts in clock ticks (10 ms): summed over a run's rounds, a path's figure is
 * good to a few percent.
 */
export function serverCpu(b: BenchDb): (() => number) | undefined {
  if (!b.url) return undefined
  const host = new URL(b.url).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') return undefined
  const read = (): number | undefined => {
    let ticks = 0
    let seen = false
    let entries: string[]
    try {
      entries = readdirSync('/proc')
    } catch {
      return undefined
    }
    for (const pid of entries) {
      if (!/^\d+$/.test(pid)) continue
      let stat: string
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      } catch {
        continue
      }
      const close = stat.lastIndexOf(')')
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue
      // After the command: state (0), ..., utime (11), stime (12), cutime (13), cstime (14).
      const f = stat.slice(close + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
      seen = true
    }
    return seen ? ticks : undefined
  }
  if (read() === undefined) return undefined
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  const micros = 1e6 / ticksPerSecond
  return () => (read() ?? 0) * micros
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

/**
 * Runs `fn` and returns how many queries every pg client in this process sent meanwhile: on pg each query
 * call is one round trip (a named statement's parse goes in the same flight as its execution).
 */
export async function countQueries(fn: () => Promise<unknown>): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
  const original = proto.query
  let n = 0
  proto.query = function (this: unknown, ...args: unknown[]) {
    n++
    return original.apply(this, args)
  }
  try {
    await fn()
  } finally {
    proto.query = original
  }
  return n
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}
