import type { PgDatabase } from 'drizzle-orm/pg-core'
import { databaseFromDrizzle, type RawRow } from '../data/database.js'
import { definitionError } from '../errors/rewind-error.js'

/* Idempotency for consumeRewindEvents: the inbox of the event ids a consumer has processed. */

/**
 * Remembers which events a consumer has processed, so a redelivered or republished event is processed once.
 * `X` is what the handler gets from the inbox besides the delivery (a transaction, for {@link databaseInbox}).
 */
export interface Inbox<X extends object = {}> {
  /**
   * Runs `handle` unless `consumer` has processed `eventId` before, and remembers `eventId` once `handle`
   * succeeded (if it throws, nothing is remembered). Resolves to whether `handle` ran.
   */
  once(consumer: string, eventId: string, handle: (ctx: X) => Promise<void>): Promise<boolean>
}

/** A store of processed ids to build an {@link Inbox} on (Redis, a key-value bucket, ...). */
export interface ProcessedIds {
  seen(consumer: string, eventId: string): Promise<boolean> | boolean
  remember(consumer: string, eventId: string): Promise<void> | void
}

/**
 * An inbox over any store of processed ids. Check and record are two steps, so the handler's effect and the
 * record are not atomic: a crash between them processes that event again (use {@link databaseInbox} when the
 * effect is a database write).
 */
export function processedIdsInbox(store: ProcessedIds): Inbox {
  if (typeof store?.seen !== 'function' || typeof store.remember !== 'function') {
    throw definitionError('processedIdsInbox: expected { seen(consumer, id), remember(consumer, id) }')
  }
  return {
    async once(consumer, eventId, handle) {
      if (await store.seen(consumer, eventId)) return false
      await handle({})
      await store.remember(consumer, eventId)
      return true
    },
  }
}

/**
 * The default inbox: the last `size` processed ids (default 10,000) of this process, in memory. It catches
 * redeliveries and duplicates that arrive while the process runs; after a restart only the durable consumer's
 * acknowledgements protect from a second delivery (see {@link databaseInbox}).
 */
export function memoryInbox(options: { readonly size?: number } = {}): Inbox {
  const size = options.size ?? 10_000
  if (!Number.isSafeInteger(size) || size < 1) {
    throw definitionError(`memoryInbox: size must be a positive integer, got ${size}`)
  }
  const ids = new Map<string, true>()
  return processedIdsInbox({
    seen: (consumer, id) => ids.has(`${consumer}\u0000${id}`),
    remember(consumer, id) {
      const key = `${consumer}\u0000${id}`
      ids.delete(key)
      ids.set(key, true)
      // A Map iterates in insertion order: the first key is the least recently remembered.
      if (ids.size > size) ids.delete(ids.keys().next().value!)
    },
  })
}

/** What a handler gets from {@link databaseInbox}: the transaction in which the event's id is recorded. */
export interface InboxTransaction {
  /** A Drizzle database bound to the transaction: write with it, and the writes commit with the inbox row. */
  readonly db: PgDatabase<any, any, any>
  /** Raw SQL in the same transaction; parameters are text, cast them in SQL (`$1::int`). */
  sql(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
}

/** What {@link databaseInbox} takes. */
export interface DatabaseInboxConfig {
  /** The service's Drizzle database, over PGlite (`drizzle-orm/pglite`) or a pg Pool (`drizzle-orm/node-postgres`). */
  readonly db: unknown
  /** The inbox table (default `rewind_inbox`; may be schema-qualified). */
  readonly table?: string
  /** Create the table if it does not exist, on first use (default true; see {@link inboxTableStatement}). */
  readonly createTable?: boolean
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/

/** The DDL of the inbox table, for a migration of your own. */
export function inboxTableStatement(table = 'rewind_inbox'): string {
  if (!IDENTIFIER.test(table)) {
    throw definitionError(
      `databaseInbox: the table name ${JSON.stringify(table)} is not valid; use letters, digits and _ (optionally schema.table)`,
    )
  }
  return `CREATE TABLE IF NOT EXISTS ${table} (
  consumer text NOT NULL,
  event_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
)`
}

/**
 * An inbox in the service's own database (PostgreSQL or PGlite): the event's id is inserted in a transaction,
 * the handler runs in that same transaction (`ctx.db`, `ctx.sql`), and both commit together. A handler whose
 * writes go through `ctx` therefore takes effect exactly once, whatever the redeliveries: a duplicate finds the
 * row and is skipped; a failure rolls back the row with the writes. A second consumer process inserting the
 * same id waits for the first one's commit, then skips.
 *
 * ```ts
 * const inbox = databaseInbox({ db: drizzle(pool) })
 * on(User, 'create', (e, { db }) => db.insert(welcome).values({ userId: e.recordId }))
 * ```
 */
export function databaseInbox(config: DatabaseInboxConfig): Inbox<InboxTransaction> {
  const table = config.table ?? 'rewind_inbox'
  const ddl = inboxTableStatement(table)
  const database = databaseFromDrizzle(config.db)
  let ready: Promise<unknown> | undefined
  const insert = `INSERT INTO ${table} (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS inserted`
  return {
    async once(consumer, eventId, handle) {
      if (config.createTable !== false) {
        ready ??= database.query(ddl).catch((error) => {
          ready = undefined
          throw error
        })
        await ready
      }
      return database.transaction(async (client) => {
        const rows = await client.query(insert, [consumer, eventId])
        if (rows.length === 0) return false
        await handle({
          db: (await database.drizzleFor(client)) as InboxTransaction['db'],
          sql: (text, params) => client.query(text, params ?? []),
        })
        return true
      })
    },
  }
}
