import { Params } from '../../data/params.js'
import type { EventRows } from './event-rows.js'
import type { EventTable, Reader } from './event-table.js'
import { type EventSelection, whereOf } from './selection.js'

/**
 * The distinct resources that have events, in name order: a loose index scan of (resource, position), one
 * probe per resource, not a scan of the log.
 */
export async function readResources(reader: Reader, table: EventTable): Promise<string[]> {
  const resource = table.col('resource')
  const rows = await reader.queryText(
    `WITH RECURSIVE r AS (
       (SELECT ${resource} AS name FROM ${table.name} ORDER BY ${resource} LIMIT 1)
       UNION ALL
       SELECT (SELECT ${resource} FROM ${table.name} WHERE ${resource} > r.name ORDER BY ${resource} LIMIT 1)
       FROM r WHERE r.name IS NOT NULL
     ) SELECT name FROM r WHERE name IS NOT NULL`,
  )
  return rows.map((r) => r.name!)
}

/**
 * Up to `limit` stored rows of the selected events, newest first (`DESC`) or oldest first (`ASC`): one SELECT
 * per selection (each ordered and limited, so each reads one index in position order and stops), merged by
 * position when there are several.
 */
export async function readNewestRows(
  reader: Reader,
  rows: EventRows,
  selections: readonly EventSelection[],
  order: 'ASC' | 'DESC',
  limit: number,
) {
  const table = rows.table
  const params = new Params()
  const position = table.qualified('position')
  const select = (selection: EventSelection) => {
    const where = whereOf(table, selection, params)
    return `SELECT ${rows.selectList('all')}, ${position} AS "__position" FROM ${table.name}${where ? ` WHERE ${where}` : ''} ORDER BY ${position} ${order} LIMIT ${limit}`
  }
  const text =
    selections.length === 1
      ? select(selections[0]!)
      : `SELECT * FROM (${selections.map((s) => `(${select(s)})`).join(' UNION ALL ')}) AS merged ORDER BY "__position" ${order} LIMIT ${limit}`
  return reader.queryText(text, params.values)
}

/** The stored rows of the events at these positions, in position order: one probe of the position index each. */
export async function readPositionRows(reader: Reader, rows: EventRows, positions: readonly number[]) {
  const table = rows.table
  return reader.queryText(
    `SELECT ${rows.selectList('all')} FROM ${table.name} WHERE ${table.col('position')} = ANY($1::int8[]) ORDER BY ${table.qualified('position')} ASC LIMIT ${positions.length}`,
    [`{${positions.join(',')}}`],
  )
}
