import type { RawRow } from '../../data/database.js'
import { Params } from '../../data/params.js'
import type { EventColumns, EventRows } from './event-rows.js'
import type { Reader } from './event-table.js'
import { type EventSelection, whereOf } from './selection.js'

/** `SELECT <columns> FROM <log> WHERE <selection> ORDER BY position LIMIT n`: events in the log's order. */
export function readEventsStatement(
  rows: EventRows,
  selection: EventSelection,
  limit: number,
  columns: EventColumns,
  /** Also select the reader's snapshot (`__snapshot`) with every row: what the log tail needs. */
  withSnapshot = false,
): { text: string; params: (string | null)[] } {
  const table = rows.table
  const params = new Params()
  const where = whereOf(table, selection, params)
  const select = `${withSnapshot ? 'pg_current_snapshot()::text AS "__snapshot", ' : ''}${rows.selectList(columns)}`
  return {
    text: `SELECT ${select} FROM ${table.name}${where ? ` WHERE ${where}` : ''} ORDER BY ${table.qualified('position')} ASC LIMIT ${limit}`,
    params: params.values,
  }
}

/** Up to `limit` stored rows of the selected events, in position order. */
export async function readEventRows(
  reader: Reader,
  rows: EventRows,
  selection: EventSelection,
  limit: number,
  columns: EventColumns,
  withSnapshot = false,
): Promise<RawRow[]> {
  const q = readEventsStatement(rows, selection, limit, columns, withSnapshot)
  return reader.queryText(q.text, q.params)
}
