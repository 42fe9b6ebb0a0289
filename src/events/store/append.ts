import type { RawRow, SqlClient } from '../../data/database.js'
import { EVENT_LOG_COLUMNS } from '../event-log-table.js'
import type { EventTable } from './event-table.js'

/** One event as the log stores it: every column's parameter as text, in {@link appendColumns} order. */
export interface StoredEvent {
  /** The app-made id (uuidv7 logs), else undefined: the database's identity makes it. */
  readonly id: string | undefined
  /** Null only in an event appended with its row whose key the database makes (see append-following.ts). */
  readonly recordId: string | null
  readonly resource: string
  readonly action: string
  readonly actionType: string
  readonly version: number
  /** JSON text of the payloads, metadata and encoders. */
  readonly data: string
  readonly changedAttributes: string
  readonly metadata: string
  readonly encoders: string
  /** Canonical timestamptz, or null for the database's clock at insert. */
  readonly occurredAt: string | null
  readonly tenant: string | null
  /** The actor columns, in the order of the log's actor keys. */
  readonly actors: readonly (string | null)[]
}

/** An advisory lock the insert takes first: one 64-bit key, or two 32-bit keys. */
export type AppendLock = readonly [bigint] | readonly [number, number] | undefined

/**
 * The INSERT statements of the log: without a lock, and taking the advisory lock in the same statement; each
 * also with `RETURNING` the stored row (for whoever must see the event as stored, in the action's transaction).
 */
export class AppendStatements {
  /** The columns an insert writes, in the order of its parameters. */
  readonly columns: readonly string[]
  /** Without a lock, with one 64-bit key, with two 32-bit keys. */
  readonly #texts: readonly [string, string, string]
  readonly #returning: readonly [string, string, string]
  readonly #uuidIds: boolean

  /** `returning`: the select list of a whole stored row (EventRows.selectList('all')). */
  constructor(table: EventTable, returning: string) {
    const config = table.config
    this.#uuidIds = config.idMode === 'uuidv7'
    // Every column but those the database fills: the position (identity), the transaction id, and the id
    // unless the app makes it (uuidv7 logs).
    const cols = [
      ...EVENT_LOG_COLUMNS.filter(
        (k) => k !== 'position' && k !== 'transactionId' && (k !== 'id' || this.#uuidIds),
      ),
      ...config.actorKeys,
    ]
    this.columns = cols
    let n = 0
    const exprs = cols.map((key) => {
      n++
      if (key === 'occurredAt') return `COALESCE($${n}::text::timestamptz, clock_timestamp())`
      return `$${n}::text::${table.codecs.get(key)!.castType}`
    })
    const head = `INSERT INTO ${table.name} (${cols.map((k) => table.col(k)).join(', ')})`
    this.#texts = [
      `${head} VALUES (${exprs.join(', ')})`,
      // The advisory lock is taken in the same statement, before the identity value of the position is drawn.
      `${head} SELECT ${exprs.join(', ')} FROM (SELECT pg_advisory_xact_lock($${n + 1}::text::int8)) AS l`,
      `${head} SELECT ${exprs.join(', ')} FROM (SELECT pg_advisory_xact_lock($${n + 1}::text::int4, $${n + 2}::text::int4)) AS l`,
    ]
    this.#returning = this.#texts.map((t) => `${t} RETURNING ${returning}`) as [string, string, string]
  }

  /** Inserts the event in the action's transaction (after the row write: the row lock orders it). */
  async append(client: SqlClient, event: StoredEvent, lock: AppendLock): Promise<void> {
    await this.#insert(client, event, lock, this.#texts)
  }

  /** The same insert, giving back the stored row (every column, as text). */
  async appendReturning(client: SqlClient, event: StoredEvent, lock: AppendLock): Promise<RawRow> {
    const rows = await this.#insert(client, event, lock, this.#returning)
    return rows[0]!
  }

  #insert(
    client: SqlClient,
    event: StoredEvent,
    lock: AppendLock,
    texts: readonly [string, string, string],
  ): Promise<RawRow[]> {
    const params: (string | null)[] = []
    if (this.#uuidIds) params.push(event.id ?? null)
    params.push(
      event.recordId,
      event.resource,
      event.action,
      event.actionType,
      String(event.version),
      event.data,
      event.changedAttributes,
      event.metadata,
      event.encoders,
      event.occurredAt,
      event.tenant,
      ...event.actors,
    )
    if (!lock) return client.queryText(texts[0], params)
    if (lock.length === 1) return client.queryText(texts[1], [...params, String(lock[0])])
    return client.queryText(texts[2], [...params, String(lock[0]), String(lock[1])])
  }
}
