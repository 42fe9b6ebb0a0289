import type { RawRow } from '../data/database.js'
import { Params } from '../data/statements.js'
import { RewindError } from '../errors/rewind-error.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import { type EventFilter, type EventLog, pageLimit, type RewindEvent } from './event-log.js'

/**
 * The reads of the log that a person browsing it needs (the studio), beside {@link EventLog.list}'s position
 * order: pages newest first, the events committed since a moment, and activity counts. Every query here is
 * served by the event table's indexes on a large log (see docs/performance.md for the plans).
 */

type Query = (text: string, params: (string | null)[]) => Promise<RawRow[]>

/** The filters of a newest-first page: those of {@link EventFilter} but the position bounds and the limit. */
export type LogFilter = Omit<EventFilter, 'afterPosition' | 'untilPosition' | 'limit'>

/** Where a newest-first page starts. */
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

/** A moment of the log: PostgreSQL's snapshot (`xmin:xmax:xip,...`), as text. */
export type LogSnapshot = string

const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/

/** True when the text has the shape of a {@link LogSnapshot}. */
export function isLogSnapshot(text: string): boolean {
  return text.length <= 10_000 && SNAPSHOT.test(text)
}

/**
 * The distinct resources that have events, in name order: a loose index scan (one index probe per resource),
 * not a scan of the log.
 */
export async function logResources(log: EventLog, query: Query): Promise<string[]> {
  const table = qualifiedName(log.config.table)
  const resource = quoteIdent(log.codecs.get('resource')!.name)
  const rows = await query(
    `WITH RECURSIVE r AS (
       (SELECT ${resource} AS name FROM ${table} ORDER BY ${resource} LIMIT 1)
       UNION ALL
       SELECT (SELECT ${resource} FROM ${table} WHERE ${resource} > r.name ORDER BY ${resource} LIMIT 1)
       FROM r WHERE r.name IS NOT NULL
     ) SELECT name FROM r WHERE name IS NOT NULL`,
    [],
  )
  return rows.map((r) => r.name!)
}

/**
 * A page of events, newest first, filtered, keyset-paged by position (`before` for older, `after` for newer).
 *
 * Each filter combination reads an index in position order and stops after the page: position alone, or
 * (resource, position), (resource, action, position), (resource, record_id, position), (tenant, position),
 * (actor, position). An action or a record id without a resource reads each resource's index and merges them
 * (a UNION ALL of one short index scan per resource), since those indexes lead with the resource.
 */
export async function newestEvents(
  log: EventLog,
  query: Query,
  filter: LogFilter,
  options: NewestPageOptions = {},
): Promise<NewestPage> {
  const limit = pageLimit(options.limit)
  if (options.before !== undefined && options.after !== undefined) {
    throw new RewindError('VALIDATION', 'events: pass before or after, not both', {
      issues: [{ path: ['before'], message: 'cannot be combined with after' }],
    })
  }
  const params = new Params()
  const conds = log.conditions(params, {
    ...filter,
    ...(options.after !== undefined ? { afterPosition: options.after } : {}),
  })
  if (options.before !== undefined) {
    if (!Number.isSafeInteger(options.before)) {
      throw new RewindError('VALIDATION', `events: before must be an integer, got ${options.before}`, {
        issues: [{ path: ['before'], message: 'must be an integer' }],
      })
    }
    conds.push(`${col(log, 'position')} < ${params.raw(String(options.before), 'int8')}`)
  }
  // Upwards (after) reads the oldest first, so that the page is the one just above the cursor.
  const order = options.after !== undefined ? 'ASC' : 'DESC'
  const branches =
    filter.resource === undefined && (filter.action !== undefined || filter.recordId !== undefined)
      ? (await logResources(log, query)).map((name) => [
          `${col(log, 'resource')} = ${params.raw(name)}`,
          ...conds,
        ])
      : [conds]
  if (branches.length === 0) return { events: [], hasOlder: false, hasNewer: false }
  const rows = await query(pageSql(log, branches, order, limit + 1), params.values)
  const events = rows.slice(0, limit).map((row) => log.decode(row))
  const more = rows.length > limit
  if (order === 'ASC') {
    events.reverse()
    return { events, hasOlder: true, hasNewer: more }
  }
  return { events, hasOlder: more, hasNewer: options.before !== undefined }
}

/** One SELECT per branch (conditions ANDed), each ordered and limited, merged by position. */
function pageSql(log: EventLog, branches: string[][], order: 'ASC' | 'DESC', limit: number): string {
  const table = qualifiedName(log.config.table)
  const position = `${table}.${col(log, 'position')}`
  const select = (conds: string[]) =>
    `SELECT ${log.selectList()}, ${position} AS "__position" FROM ${table}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${position} ${order} LIMIT ${limit}`
  if (branches.length === 1) return select(branches[0]!)
  return `SELECT * FROM (${branches.map((b) => `(${select(b)})`).join(' UNION ALL ')}) AS merged ORDER BY "__position" ${order} LIMIT ${limit}`
}

/** The events at these positions, in position order: one probe of the position index each. */
export async function eventsAt(
  log: EventLog,
  query: Query,
  positions: readonly number[],
): Promise<RewindEvent[]> {
  const unique = [...new Set(positions)]
  if (unique.length === 0) return []
  if (!unique.every((p) => Number.isSafeInteger(p)))
    throw new RewindError('VALIDATION', 'events: positions must be integers')
  const rows = await query(log.selectSql(`${col(log, 'position')} = ANY($1::int8[])`, unique.length), [
    `{${unique.join(',')}}`,
  ])
  return rows.map((row) => log.decode(row))
}

/** The log's current moment, to ask later for what committed after it ({@link eventsSince}). */
export async function logSnapshot(query: Query): Promise<LogSnapshot> {
  const [row] = await query('SELECT pg_current_snapshot()::text AS snapshot', [])
  return row!.snapshot!
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

/**
 * The events (matching the filter) whose transactions committed after `since` and before now: each event is
 * handed out exactly once across calls that pass on the returned snapshot, whatever order transactions commit
 * in and whatever positions they drew. An event belongs to the answer when its transaction was not visible in
 * `since` (`pg_visible_in_snapshot`) and is visible now; such a transaction's id is at least `since`'s xmin,
 * so the (transaction_id) index bounds the read to recent transactions. (Event rows carry the top-level
 * transaction id, also when written in a savepoint.)
 */
export async function eventsSince(
  log: EventLog,
  query: Query,
  filter: LogFilter,
  since: LogSnapshot,
  limit = 500,
): Promise<EventsSince> {
  if (!isLogSnapshot(since)) {
    throw new RewindError('VALIDATION', 'events: snapshot is malformed: expected xmin:xmax:xip,...', {
      issues: [{ path: ['snapshot'], message: 'is malformed' }],
    })
  }
  const params = new Params()
  const conds = log.conditions(params, filter)
  const snap = params.raw(since, 'pg_snapshot')
  const xid = col(log, 'transactionId')
  conds.push(`${xid} >= pg_snapshot_xmin(${snap})`, `NOT pg_visible_in_snapshot(${xid}, ${snap})`)
  const table = qualifiedName(log.config.table)
  const position = `${table}.${col(log, 'position')}`
  const rows = await query(
    `SELECT s.now AS "__snapshot", e.* FROM (SELECT pg_current_snapshot()::text AS now) AS s
     LEFT JOIN LATERAL (
       SELECT ${log.selectList()} FROM ${table} WHERE ${conds.join(' AND ')} ORDER BY ${position} ASC LIMIT ${limit + 1}
     ) AS e ON true`,
    params.values,
  )
  const snapshot = rows[0]!.__snapshot!
  const found = rows.filter((r) => r.position !== null && r.position !== undefined)
  return {
    events: found.slice(0, limit).map((row) => log.decode(row)),
    snapshot,
    overflow: found.length > limit,
  }
}

/** How many events of one resource and action occurred in one hour (UTC). */
export interface ActivityCount {
  readonly resource: string
  readonly action: string
  /** Hours since 1970-01-01T00:00Z. */
  readonly hour: number
  readonly count: number
  /** The latest `occurredAt` among them. */
  readonly lastAt: string
}

/** Activity counts and the moment they were counted at. */
export interface Activity {
  readonly counts: ActivityCount[]
  readonly snapshot: LogSnapshot
}

/**
 * Events per resource, action and hour: of the whole log (one scan, grouped), or with `since` of only the
 * events committed after that moment (as {@link eventsSince}, through the transaction id index). Counts
 * kept from one call and the deltas of the next ones are exact: nothing counted twice, nothing missed.
 */
export async function logActivity(log: EventLog, query: Query, since?: LogSnapshot): Promise<Activity> {
  const params = new Params()
  const conds: string[] = []
  if (since !== undefined) {
    if (!isLogSnapshot(since)) throw new RewindError('VALIDATION', 'activity: snapshot is malformed')
    const snap = params.raw(since, 'pg_snapshot')
    const xid = col(log, 'transactionId')
    conds.push(`${xid} >= pg_snapshot_xmin(${snap})`, `NOT pg_visible_in_snapshot(${xid}, ${snap})`)
  }
  const at = col(log, 'occurredAt')
  const rows = await query(
    `SELECT s.now AS snapshot, g.resource, g.action, g.hour::text AS hour, g.n::text AS n, g.last::text AS last
     FROM (SELECT pg_current_snapshot()::text AS now) AS s
     LEFT JOIN LATERAL (
       SELECT ${col(log, 'resource')} AS resource, ${col(log, 'action')} AS action,
              floor(extract(epoch FROM ${at}) / 3600)::int8 AS hour, count(*) AS n, max(${at}) AS last
       FROM ${qualifiedName(log.config.table)}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}
       GROUP BY 1, 2, 3
     ) AS g ON true`,
    params.values,
  )
  const occurredAt = log.codecs.get('occurredAt')!
  return {
    snapshot: rows[0]!.snapshot!,
    counts: rows
      .filter((r) => r.resource !== null && r.resource !== undefined)
      .map((r) => ({
        resource: r.resource!,
        action: r.action!,
        hour: Number(r.hour),
        count: Number(r.n),
        lastAt: occurredAt.fromText(r.last!) as string,
      })),
  }
}

function col(log: EventLog, key: string): string {
  return quoteIdent(log.codecs.get(key)!.name)
}
