import type { CastResult } from '../../columns/messages.js'
import type { Json } from '../../columns/values.js'
import type { RawRow, SqlClient } from '../../data/database.js'
import { RewindError } from '../../errors/rewind-error.js'
import type { AnyResource } from '../../resource/define-resource.js'
import type { EventFilter, EventPage, ReplayedEvent, RewindEvent } from '../event.js'
import type { ResolvedEventLog } from '../event-log-config.js'
import { type AppendLock, AppendStatements, type StoredEvent } from './append.js'
import { countByResource, countEvents, malformedCounts } from './count-events.js'
import { type EventColumns, EventRows } from './event-rows.js'
import { EventTable, type Reader } from './event-table.js'
import { positionOf } from './position-of.js'
import { readEventRows } from './read-events.js'
import { type EventSelection, selectionOf } from './selection.js'

const MAX_PAGE = 10_000

/**
 * Every statement that reads or writes the event log, in one place (one file per statement family beside
 * this one): append, pages, the position of an id, scans in position order, counts, the tail's batches. Capture,
 * replay, time travel, the consistency check, the CLI and consumers all go through it.
 */
export class EventStore {
  readonly table: EventTable
  readonly rows: EventRows
  readonly #append: AppendStatements

  constructor(config: ResolvedEventLog, resources: ReadonlyMap<string, AnyResource>) {
    this.table = new EventTable(config, resources)
    this.rows = new EventRows(this.table)
    this.#append = new AppendStatements(this.table)
  }

  /** Inserts one event in the action's transaction. */
  append(client: SqlClient, event: StoredEvent, lock: AppendLock): Promise<void> {
    return this.#append.append(client, event, lock)
  }

  /** A page of events in position order, filtered (keyset paging with `afterPosition`). */
  async page(reader: Reader, filter: EventFilter = {}): Promise<EventPage> {
    const selection = selectionOf(this.table, filter)
    const limit = filter.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      const message = `must be an integer from 1 to ${MAX_PAGE}, got ${String(limit)}`
      throw new RewindError('VALIDATION', `events: limit ${message}`, {
        issues: [{ path: ['limit'], message }],
      })
    }
    const rows = await readEventRows(reader, this.rows, selection, limit + 1, 'all')
    const events = rows.slice(0, limit).map((row) => this.rows.decode(row))
    return {
      events,
      nextAfterPosition: rows.length > limit ? events[events.length - 1]!.position : undefined,
    }
  }

  /** Up to `limit` selected events in position order: whole, or only what replay uses. */
  async scan(reader: Reader, selection: EventSelection, limit: number, columns: 'all'): Promise<RewindEvent[]>
  async scan(
    reader: Reader,
    selection: EventSelection,
    limit: number,
    columns: 'replayed',
  ): Promise<ReplayedEvent[]>
  async scan(reader: Reader, selection: EventSelection, limit: number, columns: EventColumns) {
    const rows = await readEventRows(reader, this.rows, selection, limit, columns)
    return columns === 'all'
      ? rows.map((r) => this.rows.decode(r))
      : rows.map((r) => this.rows.decodeReplayed(r))
  }

  /** The next rows after `afterPosition`, each with the reader's snapshot (see LogTail). */
  tailRows(reader: Reader, afterPosition: number, limit: number): Promise<RawRow[]> {
    return readEventRows(reader, this.rows, { afterPosition }, limit, 'all', true)
  }

  /** A transaction id newer than every transaction running now (see LogTail). */
  async currentTransactionId(reader: Reader): Promise<bigint> {
    const [row] = await reader.queryText('SELECT pg_current_xact_id()::text AS x')
    return BigInt(row?.x ?? '0')
  }

  /** How many events the selection takes. */
  count(reader: Reader, selection: EventSelection): Promise<number> {
    return countEvents(reader, this.table, selection)
  }

  /** How many events each resource name has. */
  countByResource(reader: Reader): Promise<Map<string, number>> {
    return countByResource(reader, this.table)
  }

  /** Malformed positions and transaction ids (the consistency check). */
  malformedCounts(reader: Reader) {
    return malformedCounts(reader, this.table)
  }

  /** An event id as a caller gives it (a number, or its digits as text, for the default ids; a UUID for uuidv7). */
  eventId(id: unknown): CastResult {
    const codec = this.table.codecs.get('id')!
    if (this.table.config.idMode === 'bigint' && typeof id === 'string' && /^\d{1,19}$/.test(id)) {
      return BigInt(id) <= BigInt(Number.MAX_SAFE_INTEGER) ? codec.fromApp(Number(id)) : codec.fromApp(id)
    }
    if (this.table.config.idMode === 'bigint' && typeof id === 'bigint') return codec.fromApp(Number(id))
    return codec.fromApp(id)
  }

  /**
   * The position of the event with this id, or undefined when there is none. Fails with VALIDATION when the id
   * is malformed (`what` names the option in the message).
   */
  async positionOf(reader: Reader, id: unknown, what: string): Promise<number | undefined> {
    const cast = this.eventId(id)
    if (!cast.ok) {
      throw new RewindError('VALIDATION', `${what}: ${cast.message}`, {
        issues: [{ path: [what], message: cast.message }],
      })
    }
    return positionOf(reader, this.table, cast.value as Json)
  }

  /** The event with this id, or undefined. */
  async event(reader: Reader, id: unknown, what = 'eventId'): Promise<RewindEvent | undefined> {
    const position = await this.positionOf(reader, id, what)
    if (position === undefined) return undefined
    const [event] = await this.scan(
      reader,
      { afterPosition: position - 1, untilPosition: position },
      1,
      'all',
    )
    return event
  }
}
