import { Params } from '../../data/params.js'
import type { EventRows } from './event-rows.js'
import type { EventTable, Reader } from './event-table.js'
import { type EventSelection, whereOf } from './selection.js'

/** A moment of the log: PostgreSQL's snapshot (`xmin:xmax:xip,...`), as text. */
export type LogSnapshot = string

const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/

/** True when the text has the shape of a {@link LogSnapshot}. */
export function isLogSnapshot(text: string): boolean {
  return text.length <= 10_000 && SNAPSHOT.test(text)
}

/** The reader's current moment. */
export async function readSnapshot(reader: Reader): Promise<LogSnapshot> {
  const [row] = await reader.queryText('SELECT pg_current_snapshot()::text AS snapshot')
  return row!.snapshot!
}

/**
 * `transaction_id >= xmin(since) AND NOT pg_visible_in_snapshot(transaction_id, since)`: the events whose
 * transaction had not committed at `since` (and, read now, has). Such a transaction's id is at least `since`'s
 * xmin, so the (transaction_id) index bounds the read to recent transactions. Event rows carry the top-level
 * transaction id (`pg_current_xact_id()`), also when written in a savepoint.
 */
export function committedSince(table: EventTable, params: Params, since: LogSnapshot): string {
  const snapshot = params.raw(since, 'pg_snapshot')
  const xid = table.col('transactionId')
  return `${xid} >= pg_snapshot_xmin(${snapshot}) AND NOT pg_visible_in_snapshot(${xid}, ${snapshot})`
}

/**
 * Up to `limit` stored rows of the selected events committed after `since`, in position order, each with the
 * moment of the read (`__snapshot`; a row with only that when there are none).
 */
export async function readSinceRows(
  reader: Reader,
  rows: EventRows,
  selection: EventSelection,
  since: LogSnapshot,
  limit: number,
) {
  const table = rows.table
  const params = new Params()
  const where = whereOf(table, selection, params)
  const conds = [where, committedSince(table, params, since)].filter(Boolean).join(' AND ')
  return reader.queryText(
    `SELECT s.now AS "__snapshot", e.* FROM (SELECT pg_current_snapshot()::text AS now) AS s
     LEFT JOIN LATERAL (
       SELECT ${rows.selectList('all')} FROM ${table.name} WHERE ${conds} ORDER BY ${table.qualified('position')} ASC LIMIT ${limit}
     ) AS e ON true`,
    params.values,
  )
}
