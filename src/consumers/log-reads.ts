import type { Database } from '../data/database.js'
import type { EventLog, RewindEvent } from '../events/event-log.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import type { Run } from './checkpoint-store.js'

/**
 * The reads of the log the consumers make besides the tail (`rewind.tail()`, which they follow): kept in
 * one file so they can move into the event store with the rest of the log's SQL.
 */
export function logReads(log: EventLog) {
  const table = qualifiedName(log.config.table)
  const position = quoteIdent(log.codecs.get('position')!.name)
  const occurredAt = quoteIdent(log.codecs.get('occurredAt')!.name)
  return {
    /**
     * A position before which every event has settled (committed or rolled back): the highest committed
     * position, once every transaction that could still commit a lower one has finished (the tail's rule:
     * a fresh transaction id as a bound, then wait until the snapshot's xmin passes it). "Start from now".
     */
    async settledEnd(db: Database): Promise<number> {
      const [r] = await db.queryText(
        `SELECT coalesce(max(${position}), 0)::text AS p, pg_current_xact_id()::text AS x FROM ${table}`,
      )
      const bound = BigInt(r?.x ?? '0')
      for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
        const [s] = await db.queryText(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`)
        if (BigInt(s?.xmin ?? '0') > bound) return Number(r?.p ?? 0)
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    },

    /** The highest committed position (0 for an empty log). */
    async end(run: Run): Promise<number> {
      const [r] = await run(`SELECT coalesce(max(${position}), 0)::text AS p FROM ${table}`)
      return Number(r?.p ?? 0)
    },

    /** One event by position. */
    async at(run: Run, at: number): Promise<RewindEvent | undefined> {
      const rows = await run(log.selectSql(`${position} = $1::text::int8`, 1), [String(at)])
      return rows[0] ? log.decode(rows[0]) : undefined
    },

    /** Events in (after, until], position order, a page at a time. */
    async page(run: Run, after: number, until: number, limit: number): Promise<RewindEvent[]> {
      const rows = await run(
        log.selectSql(`${position} > $1::text::int8 AND ${position} <= $2::text::int8`, limit),
        [String(after), String(until)],
      )
      return rows.map((row) => log.decode(row))
    },

    /** How far behind a checkpoint is: events after it, and the age in seconds of the oldest of them. */
    async lag(run: Run, after: number): Promise<{ events: number; seconds: number }> {
      const [r] = await run(
        `SELECT count(*)::text AS n,
           coalesce(extract(epoch FROM clock_timestamp() - min(${occurredAt})), 0)::text AS s
         FROM ${table} WHERE ${position} > $1::text::int8`,
        [String(after)],
      )
      return { events: Number(r?.n ?? 0), seconds: Math.max(0, Number(r?.s ?? 0)) }
    },
  }
}

export type LogReads = ReturnType<typeof logReads>
