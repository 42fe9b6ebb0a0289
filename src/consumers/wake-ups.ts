import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import { quoteIdent } from '../schema/names.js'

/** The channel a log's commits are announced on (NOTIFY), and the one consumer commands use. */
export function eventsChannel(table: PgTable): string {
  const { name, schema } = getTableConfig(table)
  // Plain lower-case identifiers: PGlite's listen() does not quote the channel.
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
interface PGliteListenLike {
  listen(channel: string, fn: (payload: string) => void): Promise<(tx?: unknown) => Promise<void>>
}

/**
 * Wake-ups without busy polling: LISTEN on the log's channel (see commit-notify.ts) and the control channel. On PostgreSQL a
 * connection of its own (made with the pool's settings, so it takes no place in the pool), reconnected after
 * a failure; on PGlite the instance's own `listen` (one process). Listeners hear every notification;
 * consumers also poll at an interval, so a lost connection only slows them down.
 */
export class WakeUps {
  readonly #listeners = new Set<() => void>()
  #stop: (() => Promise<void>) | undefined
  #closed = false
  #retry: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly client: unknown,
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
    const c = this.client as PoolLike & Partial<PGliteListenLike>
    if (typeof c.listen === 'function') {
      const stops = await Promise.all(this.channels.map((ch) => c.listen!(ch, this.#fire)))
      this.#stop = async () => {
        for (const s of stops) await s().catch(() => {})
      }
      return
    }
    if (typeof c.Client === 'function') await this.#connectPg(c)
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
