import type { EventTable, Reader } from './event-table.js'

/** The highest position the reader sees (0 for an empty log). */
export async function readEnd(reader: Reader, table: EventTable): Promise<number> {
  const [row] = await reader.queryText(
    `SELECT coalesce(max(${table.col('position')}), 0)::text AS p FROM ${table.name}`,
  )
  return Number(row?.p ?? 0)
}

/**
 * A position before which every event has settled (committed or rolled back): the highest position the
 * reader sees, once every transaction that could still commit a lower one has finished. The log tail's rule:
 * a fresh transaction id, taken in the same statement, bounds every transaction that drew a position before
 * it; wait until a snapshot's xmin passes it.
 */
export async function readSettledEnd(reader: Reader, table: EventTable): Promise<number> {
  const [row] = await reader.queryText(
    `SELECT coalesce(max(${table.col('position')}), 0)::text AS p, pg_current_xact_id()::text AS x FROM ${table.name}`,
  )
  const bound = BigInt(row?.x ?? '0')
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    const [s] = await reader.queryText('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin')
    if (BigInt(s?.xmin ?? '0') > bound) return Number(row?.p ?? 0)
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}
