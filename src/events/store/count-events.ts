import { Params } from '../../data/params.js'
import type { EventTable, Reader } from './event-table.js'
import { type EventSelection, whereOf } from './selection.js'

/** How many events the selection takes. */
export async function countEvents(
  reader: Reader,
  table: EventTable,
  selection: EventSelection,
): Promise<number> {
  const params = new Params()
  const where = whereOf(table, selection, params)
  const rows = await reader.queryText(
    `SELECT count(*)::text AS n FROM ${table.name}${where ? ` WHERE ${where}` : ''}`,
    params.values,
  )
  return Number(rows[0]?.n ?? 0)
}

/** How many events each resource name has. */
export async function countByResource(reader: Reader, table: EventTable): Promise<Map<string, number>> {
  const rows = await reader.queryText(
    `SELECT ${table.col('resource')} AS r, count(*)::text AS n FROM ${table.name} GROUP BY 1`,
  )
  return new Map(rows.map((row) => [row.r!, Number(row.n)]))
}

/** Events with a missing or non-positive position, duplicate positions, and bad transaction ids. */
export async function malformedCounts(
  reader: Reader,
  table: EventTable,
): Promise<{ badPositions: number; duplicatePositions: number; badTransactionIds: number }> {
  const position = table.col('position')
  const xid = table.col('transactionId')
  const [row] = await reader.queryText(
    `SELECT count(*) FILTER (WHERE ${position} IS NULL OR ${position} <= 0)::text AS bad,
            (count(*) - count(DISTINCT ${position}))::text AS dup,
            count(*) FILTER (WHERE ${xid} IS NULL OR ${xid} > pg_current_xact_id())::text AS badxid
     FROM ${table.name}`,
  )
  return {
    badPositions: Number(row?.bad ?? 0),
    duplicatePositions: Number(row?.dup ?? 0),
    badTransactionIds: Number(row?.badxid ?? 0),
  }
}
