import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import type { Database } from '../data/database.js'
import { quoteIdent } from '../schema/names.js'

/** The channel a log's commits are announced on (NOTIFY), and the one consumer commands use. */
export function eventsChannel(table: PgTable): string {
  const { name, schema } = getTableConfig(table)
  // Plain lower-case identifiers, the same whoever quotes them.
  return `rewind_${schema ? `${schema}_` : ''}${name}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63)
}
export const CONTROL_CHANNEL = 'rewind_consumers'

interface PgClientLike {
  connect(): Promise<unknown>
  query(text: string): Promise<unknown>
  on(event: 'notification', fn: (msg: { channel: string }) => void): unknown
  on(event: 'error' | 'end', fn: (error?: Error) => void): unknown
  end(): Promise<void>
}
interface PoolLike {
  Client?: new (options: unknown) => PgClientLike
  options?: unknown
}
/** The driver's client under a Database: the pg Pool, or the PGlite instance. */
function clientOf(db: Database): object {
  return (db.drizzle as { $client: object }).$client
}

/** This process's listeners, per PGlite instance and channel. */
const inProcess = new WeakMap<object, Map<string, Set<() => void>>>()

/**
 * Announces on `channel`. On PostgreSQL a `NOTIFY` (sent on its own; every process that listens hears it). On
 * PGlite, which lives in one process, the listeners of the same instance are called at once instead: a NOTIFY
 * there would be a statement on the one connection every writer shares (measured: sequential writes took 2.5
 * times as long), and it would reach no one else.
 */
export async function announce(db: Database, channel: string): Promise<void> {
  if (db.kind === 'pglite') {
    for (const fn of inProcess.get(clientOf(db))?.get(channel) ?? []) fn()
    return
  }
  await db.query(`SELECT pg_notify($1, '')`, [channel])
}

/**
 * Wake-ups without busy polling, on the log's channel (see commit-notify.ts) and the control channel. On
 * PostgreSQL, LISTEN on a connection of its own (made with the pool's settings, so it takes no place in the
 * pool), reconnected after a failure; on PGlite, the announcements made in this process on the same instance
 * (see {@link announce}). Listeners hear every notification; consumers also poll at an interval, so a lost
 * connection only slows them down.
 */
export class WakeUps {
  readonly #listeners = new Set<() => void>()
  #stop: (() => Promise<void>) | undefined
  #closed = false
  #retry: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly db: Database,
    readonly channels: readonly string[],
  ) {}

  /** Calls `fn` on every notification until the returned function is called. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  #fire = () => {
    for (const fn of this.#listeners) fn()
  }

  async start(): Promise<void> {
    this.#closed = false
    const client = clientOf(this.db)
    if (this.db.kind === 'pglite') {
      let channels = inProcess.get(client)
      if (!channels) {
        channels = new Map()
        inProcess.set(client, channels)
      }
      for (const ch of this.channels) {
        const listeners = channels.get(ch) ?? new Set()
        listeners.add(this.#fire)
        channels.set(ch, listeners)
      }
      this.#stop = async () => {
        for (const ch of this.channels) channels.get(ch)?.delete(this.#fire)
      }
      return
    }
    const pool = client as PoolLike
    if (typeof pool.Client === 'function') await this.#connectPg(pool)
  }

  async #connectPg(pool: PoolLike): Promise<void> {
    if (this.#closed) return
    const client = new pool.Client!(pool.options)
    let ended = false
    const again = () => {
      if (ended) return
      ended = true
      client.end().catch(() => {})
      // Consumers poll meanwhile; wake them so they notice nothing was missed.
      this.#fire()
      if (!this.#closed) this.#retry = setTimeout(() => void this.#connectPg(pool), 1000)
    }
    client.on('error', again)
    client.on('end', again)
    client.on('notification', this.#fire)
    try {
      await client.connect()
      for (const ch of this.channels) await client.query(`LISTEN ${quoteIdent(ch)}`)
    } catch {
      again()
      return
    }
    this.#stop = async () => {
      ended = true
      await client.end().catch(() => {})
    }
    // Events committed while we were not listening: let consumers look.
    this.#fire()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#retry) clearTimeout(this.#retry)
    await this.#stop?.()
    this.#stop = undefined
  }
}
