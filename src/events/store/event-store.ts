import type { CastResult } from '../../columns/messages.js'
import type { Json } from '../../columns/values.js'
import type { RawRow, SqlClient } from '../../data/database.js'
import { RewindError } from '../../errors/rewind-error.js'
import type { AnyResource } from '../../resource/define-resource.js'
import type { FollowingWrite } from '../../rows/row-store.js'
import type { EventFilter, EventPage, ReplayedEvent, RewindEvent } from '../event.js'
import type { ResolvedEventLog } from '../event-log-config.js'
import { type AppendLock, AppendStatements, type StoredEvent } from './append.js'
import { type FollowingEvent, followingInsert, followingParameters, oldKeysRead } from './append-following.js'
import { type Activity, countActivity } from './count-activity.js'
import { countAfter, countByResource, countEvents, malformedCounts } from './count-events.js'
import { type EventColumns, EventRows } from './event-rows.js'
import { EventTable, type Reader } from './event-table.js'
import { positionOf } from './position-of.js'
import { readEnd, readSettledEnd } from './read-end.js'
import { readEventRows } from './read-events.js'
import { readNewestRows, readPositionRows, readResources } from './read-newest.js'
import { isLogSnapshot, type LogSnapshot, readSinceRows, readSnapshot } from './read-since.js'
import { type EventSelection, selectionOf } from './selection.js'

const MAX_PAGE = 10_000

/** The filters of a page newest first: those of {@link EventFilter} but the position bounds and the limit. */
export type NewestFilter = Omit<EventFilter, 'afterPosition' | 'untilPosition' | 'limit'>

/** Where a page newest first starts. */
export interface NewestPageOptions {
  /** Events older than this position (the next page down). */
  readonly before?: number
  /** Events newer than this position (the page up); the page is still newest first. */
  readonly after?: number
  /** Page size (default 100, at most 10,000). */
  readonly limit?: number
}

/** A page of events newest first, and whether there are more on either side. */
export interface NewestPage {
  readonly events: RewindEvent[]
  /** There are older events matching the filter (below the last one of the page). */
  readonly hasOlder: boolean
  /** There are newer events matching the filter (above the first one of the page). */
  readonly hasNewer: boolean
}

/** The events that became visible after a moment, and the moment they were read at. */
export interface EventsSince {
  /** In position order. */
  readonly events: RewindEvent[]
  /** Pass this to the next call. */
  readonly snapshot: LogSnapshot
  /** More events than the limit committed: `events` holds the first ones only; the rest are passed over. */
  readonly overflow: boolean
}

/** A page size: default 100, an integer from 1 to {@link MAX_PAGE}, else VALIDATION naming `limit`. */
function pageLimit(limit: number | undefined): number {
  const n = limit ?? 100
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    const message = `must be an integer from 1 to ${MAX_PAGE}, got ${String(n)}`
    throw new RewindError('VALIDATION', `events: limit ${message}`, {
      issues: [{ path: ['limit'], message }],
    })
  }
  return n
}

function invalid(field: string, message: string): RewindError {
  return new RewindError('VALIDATION', `events: ${field} ${message}`, {
    issues: [{ path: [field], message }],
  })
}

/**
 * Every statement that reads or writes the event log, in one place (one file per statement family beside
 * this one): append, pages, the position of an id, scans in position order, counts, the tail's batches, the
 * log's end and a reader's lag. Capture, replay, time travel, the consistency check, the CLI, the studio and
 * the consumers all go through it.
 */
export class EventStore {
  readonly table: EventTable
  readonly rows: EventRows
  readonly #append: AppendStatements

  constructor(config: ResolvedEventLog, resources: ReadonlyMap<string, AnyResource>) {
    this.table = new EventTable(config, resources)
    this.rows = new EventRows(this.table)
    this.#append = new AppendStatements(this.table, this.rows.selectList('all'))
  }

  /** Inserts one event in the action's transaction. */
  append(client: SqlClient, event: StoredEvent, lock: AppendLock): Promise<void> {
    return this.#append.append(client, event, lock)
  }

  /** Inserts one event and gives it back as stored (position, id, transaction id), in its public shape. */
  async appendReturning(client: SqlClient, event: StoredEvent, lock: AppendLock): Promise<RewindEvent> {
    return this.rows.decode(await this.#append.appendReturning(client, event, lock))
  }

  /** The event's insert, to follow its row write in the same statement (see append-following.ts). */
  following(event: FollowingEvent, lock: AppendLock): FollowingWrite {
    return {
      plan: (row, params) => followingInsert(this.table, this.#append.columns, event, lock, row, params),
      oldKeys: oldKeysRead(event),
    }
  }

  /** The parameters {@link following}'s insert adds, for a statement whose text is known. */
  followingParameters(event: FollowingEvent, lock: AppendLock, push: (v: string | null) => number): void {
    followingParameters(this.table, this.#append.columns, event, lock, push)
  }

  /** A page of events in position order, filtered (keyset paging with `afterPosition`). */
  async page(reader: Reader, filter: EventFilter = {}): Promise<EventPage> {
    const selection = selectionOf(this.table, filter)
    const limit = pageLimit(filter.limit)
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

  /** The highest position the reader sees (0 for an empty log). */
  end(reader: Reader): Promise<number> {
    return readEnd(reader, this.table)
  }

  /**
   * The highest position once every transaction that could still commit a lower one has finished: every event
   * up to it has settled ("start from now", "catch up to what was committed before this call").
   */
  settledEnd(reader: Reader): Promise<number> {
    return readSettledEnd(reader, this.table)
  }

  /** How far behind a reader at `afterPosition` is: the events after it, and the age in seconds of the oldest. */
  lag(reader: Reader, afterPosition: number): Promise<{ events: number; seconds: number }> {
    return countAfter(reader, this.table, afterPosition)
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

  // What a person browsing the log reads (the studio): pages newest first, events at positions, what committed
  // since a moment, activity counts. Each is served by the indexes on a large log (docs/performance.md).

  /**
   * A page of events newest first, filtered, keyset-paged by position. Each filter reads one index in position
   * order and stops after the page; an action or a record id without a resource reads each resource's
   * (resource, action, position) or (resource, record_id, position) index and merges them.
   */
  async newest(reader: Reader, filter: NewestFilter, options: NewestPageOptions = {}): Promise<NewestPage> {
    const limit = pageLimit(options.limit)
    const { before, after } = options
    if (before !== undefined && after !== undefined) throw invalid('before', 'cannot be combined with after')
    if (before !== undefined && !Number.isSafeInteger(before)) throw invalid('before', 'must be an integer')
    const base = selectionOf(this.table, {
      ...filter,
      ...(after !== undefined ? { afterPosition: after } : {}),
      ...(before !== undefined ? { untilPosition: before - 1 } : {}),
    })
    const selections =
      filter.resource === undefined && (filter.action !== undefined || filter.recordId !== undefined)
        ? (await readResources(reader, this.table)).map((resource) => ({ ...base, sources: [{ resource }] }))
        : [base]
    if (selections.length === 0) return { events: [], hasOlder: false, hasNewer: false }
    // Upwards (after) reads the oldest first, so that the page is the one just above the cursor.
    const order = after !== undefined ? 'ASC' : 'DESC'
    const rows = await readNewestRows(reader, this.rows, selections, order, limit + 1)
    const events = rows.slice(0, limit).map((row) => this.rows.decode(row))
    const more = rows.length > limit
    if (order === 'ASC') return { events: events.reverse(), hasOlder: true, hasNewer: more }
    return { events, hasOlder: more, hasNewer: before !== undefined }
  }

  /** The events at these positions, in position order. */
  async at(reader: Reader, positions: readonly number[]): Promise<RewindEvent[]> {
    const unique = [...new Set(positions)]
    if (!unique.every((p) => Number.isSafeInteger(p))) throw invalid('positions', 'must be integers')
    if (unique.length === 0) return []
    return (await readPositionRows(reader, this.rows, unique)).map((row) => this.rows.decode(row))
  }

  /** The resources that have events, in name order (one index probe per resource). */
  resources(reader: Reader): Promise<string[]> {
    return readResources(reader, this.table)
  }

  /** The log's current moment, to ask later for what committed after it ({@link since}). */
  snapshot(reader: Reader): Promise<LogSnapshot> {
    return readSnapshot(reader)
  }

  /**
   * The events (matching the filter) whose transactions committed after `since` and before now, in position
   * order: each event is handed out exactly once across calls that pass on the returned snapshot, whatever order
   * transactions commit in and whatever positions they drew.
   */
  async since(reader: Reader, filter: NewestFilter, since: LogSnapshot, limit = 500): Promise<EventsSince> {
    if (!isLogSnapshot(since)) throw invalid('snapshot', 'is malformed: expected xmin:xmax:xip,...')
    const rows = await readSinceRows(reader, this.rows, selectionOf(this.table, filter), since, limit + 1)
    const found = rows.filter((r) => r.position !== null && r.position !== undefined)
    return {
      events: found.slice(0, limit).map((row) => this.rows.decode(row)),
      snapshot: rows[0]!.__snapshot!,
      overflow: found.length > limit,
    }
  }

  /** Events per resource, action and hour: of the whole log, or of what committed after `since`. */
  activity(reader: Reader, since?: LogSnapshot): Promise<Activity> {
    if (since !== undefined && !isLogSnapshot(since)) throw invalid('snapshot', 'is malformed')
    return countActivity(reader, this.table, since)
  }
}
