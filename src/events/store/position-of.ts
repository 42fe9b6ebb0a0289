import type { Json } from '../../columns/values.js'
import { Params } from '../../data/params.js'
import type { EventTable, Reader } from './event-table.js'

/** The position of the event with this (canonical) id, or undefined when the log has none. */
export async function positionOf(reader: Reader, table: EventTable, id: Json): Promise<number | undefined> {
  const params = new Params()
  const rows = await reader.queryText(
    `SELECT ${table.col('position')}::text AS position FROM ${table.name} WHERE ${table.col('id')} = ${params.add(table.codecs.get('id')!, id)}`,
    params.values,
  )
  const position = rows[0]?.position
  return position === undefined || position === null ? undefined : Number(position)
}
