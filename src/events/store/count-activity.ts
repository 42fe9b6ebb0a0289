import { Params } from '../../data/params.js'
import type { EventTable, Reader } from './event-table.js'
import { committedSince, type LogSnapshot } from './read-since.js'

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
 * events committed after that moment (through the transaction-id index). Counts kept from one call and the
 * deltas of the next ones are exact: nothing counted twice, nothing missed.
 */
export async function countActivity(
  reader: Reader,
  table: EventTable,
  since?: LogSnapshot,
): Promise<Activity> {
  const params = new Params()
  const where = since === undefined ? '' : ` WHERE ${committedSince(table, params, since)}`
  const at = table.col('occurredAt')
  const rows = await reader.queryText(
    `SELECT s.now AS snapshot, g.resource, g.action, g.hour::text AS hour, g.n::text AS n, g.last::text AS last
     FROM (SELECT pg_current_snapshot()::text AS now) AS s
     LEFT JOIN LATERAL (
       SELECT ${table.col('resource')} AS resource, ${table.col('action')} AS action,
              floor(extract(epoch FROM ${at}) / 3600)::int8 AS hour, count(*) AS n, max(${at}) AS last
       FROM ${table.name}${where}
       GROUP BY 1, 2, 3
     ) AS g ON true`,
    params.values,
  )
  const occurredAt = table.codecs.get('occurredAt')!
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
