import type { RawRow } from '../data/database.js'
import type { RewindEvent } from '../events/event.js'
import { qualifiedName } from '../schema/names.js'
import type { Run } from './checkpoint-store.js'
import { recordKey } from './definitions.js'
import { rewindDeadLetters } from './tables.js'

const T = qualifiedName(rewindDeadLetters)

/** One event on a consumer's dead-letter list. */
export interface DeadLetter {
  readonly consumer: string
  readonly partition: number
  readonly position: number
  readonly eventId: string
  /** `resource/record id`: a record's later events wait behind its first parked one. */
  readonly recordKey: string
  /** `parked` (the consumer went on), `stopped` (the consumer stopped on it), `retry` (asked for), `skipped`. */
  readonly status: 'parked' | 'stopped' | 'retry' | 'skipped'
  readonly attempts: number
  readonly error: string | null
  /** The position of the parked event of the same record this one waits behind, if any. */
  readonly behind: number | null
  readonly firstFailedAt: string
  readonly lastFailedAt: string
}

function letter(r: RawRow): DeadLetter {
  return {
    consumer: r.consumer!,
    partition: Number(r.partition),
    position: Number(r.position),
    eventId: r.event_id!,
    recordKey: r.record_key!,
    status: r.status as DeadLetter['status'],
    attempts: Number(r.attempts),
    error: r.error ?? null,
    behind: r.behind === null || r.behind === undefined ? null : Number(r.behind),
    firstFailedAt: r.first_failed_at!,
    lastFailedAt: r.last_failed_at!,
  }
}

const COLUMNS = `consumer, partition::text, position::text, event_id, record_key, status, attempts::text, error,
  behind::text, first_failed_at::text, last_failed_at::text`

/** Statuses that hold a record back: its later events are parked behind. */
const OPEN = `status IN ('parked', 'stopped', 'retry')`

/** The SQL of the dead-letter list (the `rewind_dead_letters` table). */
export const deadLetters = {
  /** Puts an event on the list (or updates it: attempts, error, status). */
  async put(
    run: Run,
    consumer: string,
    partition: number,
    event: Pick<RewindEvent, 'position' | 'id' | 'resource' | 'recordId'>,
    status: 'parked' | 'stopped',
    attempts: number,
    error: string,
    behind?: number,
  ): Promise<void> {
    await run(
      `INSERT INTO ${T} (consumer, partition, position, event_id, record_key, status, attempts, error, behind)
       VALUES ($1, $2::text::int4, $3::text::int8, $4, $5, $6, $7::text::int4, $8, $9::text::int8)
       ON CONFLICT (consumer, position) DO UPDATE SET status = EXCLUDED.status,
         attempts = ${T}.attempts + EXCLUDED.attempts, error = EXCLUDED.error, last_failed_at = clock_timestamp()`,
      [
        consumer,
        String(partition),
        String(event.position),
        String(event.id),
        recordKey(event),
        status,
        String(attempts),
        error,
        behind === undefined ? null : String(behind),
      ],
    )
  },

  /** Records that hold events back in this partition: record key → position of its first open dead letter. */
  async blocking(run: Run, consumer: string, partition: number): Promise<Map<string, number>> {
    const rows = await run(
      `SELECT record_key, min(position)::text AS position FROM ${T}
       WHERE consumer = $1 AND partition = $2::text::int4 AND ${OPEN} GROUP BY record_key`,
      [consumer, String(partition)],
    )
    return new Map(rows.map((r) => [r.record_key!, Number(r.position)]))
  },

  /** Dead letters asked to be retried, in position order. */
  async due(run: Run, consumer: string, partition: number): Promise<DeadLetter[]> {
    const rows = await run(
      `SELECT ${COLUMNS} FROM ${T} WHERE consumer = $1 AND partition = $2::text::int4 AND status = 'retry'
       ORDER BY ${T}.position`,
      [consumer, String(partition)],
    )
    return rows.map(letter)
  },

  /**
   * Takes a dead letter asked to be retried off the list, in the caller's transaction, before its event is
   * applied: the row stays locked until the transaction ends, so two processes never apply it both (the second
   * finds it gone). False when it is not there (any more).
   */
  async take(run: Run, consumer: string, position: number): Promise<boolean> {
    const rows = await run(
      `DELETE FROM ${T} WHERE consumer = $1 AND position = $2::text::int8 AND status = 'retry' RETURNING 1 AS x`,
      [consumer, String(position)],
    )
    return rows.length > 0
  },

  /** Done with: the event took effect (in the caller's transaction, for projections). */
  async remove(run: Run, consumer: string, position: number): Promise<void> {
    await run(`DELETE FROM ${T} WHERE consumer = $1 AND position = $2::text::int8`, [
      consumer,
      String(position),
    ])
  },

  /**
   * Asks for a retry of the event at `position` (or of every open dead letter): the whole chain of its record
   * (every open dead letter of the same record) is retried, oldest first, so the record's order holds.
   */
  async markRetry(run: Run, consumer: string, position?: number): Promise<DeadLetter[]> {
    const rows = await run(
      position === undefined
        ? `UPDATE ${T} SET status = 'retry' WHERE consumer = $1 AND ${OPEN} RETURNING ${COLUMNS}`
        : `UPDATE ${T} SET status = 'retry' WHERE consumer = $1 AND ${OPEN} AND record_key IN
             (SELECT record_key FROM ${T} WHERE consumer = $1 AND position = $2::text::int8)
           RETURNING ${COLUMNS}`,
      position === undefined ? [consumer] : [consumer, String(position)],
    )
    return rows.map(letter).sort((a, b) => a.position - b.position)
  },

  /** Gives up on one event: kept on the list as `skipped`, never delivered (rebuilds pass over it too). */
  async skip(run: Run, consumer: string, position: number): Promise<DeadLetter | undefined> {
    const rows = await run(
      `UPDATE ${T} SET status = 'skipped' WHERE consumer = $1 AND position = $2::text::int8 AND ${OPEN}
       RETURNING ${COLUMNS}`,
      [consumer, String(position)],
    )
    return rows[0] ? letter(rows[0]) : undefined
  },

  /** Back to parked after a failed retry (with the new error). */
  async repark(
    run: Run,
    consumer: string,
    position: number,
    error: string | null,
    attempts: number,
  ): Promise<void> {
    await run(
      `UPDATE ${T} SET status = 'parked', attempts = attempts + $3::text::int4, error = coalesce($4, error),
         last_failed_at = clock_timestamp()
       WHERE consumer = $1 AND position = $2::text::int8`,
      [consumer, String(position), String(attempts), error],
    )
  },

  /** Positions a rebuild passes over (skipped by name). */
  async skipped(run: Run, consumer: string): Promise<Set<number>> {
    const rows = await run(
      `SELECT position::text AS position FROM ${T} WHERE consumer = $1 AND status = 'skipped'`,
      [consumer],
    )
    return new Set(rows.map((r) => Number(r.position)))
  },

  /** A rebuild starts the list afresh (skipped events stay skipped). */
  async clearOpen(run: Run, consumer: string): Promise<void> {
    await run(`DELETE FROM ${T} WHERE consumer = $1 AND status <> 'skipped'`, [consumer])
  },

  async list(run: Run, consumer?: string): Promise<DeadLetter[]> {
    const rows = await run(
      `SELECT ${COLUMNS} FROM ${T} ${consumer === undefined ? '' : 'WHERE consumer = $1'} ORDER BY ${T}.consumer, ${T}.position`,
      consumer === undefined ? [] : [consumer],
    )
    return rows.map(letter)
  },

  /** Open dead letters per consumer (parked, stopped on, or waiting for a retry). */
  async openCounts(run: Run): Promise<Map<string, number>> {
    const rows = await run(
      `SELECT consumer, count(*)::text AS n FROM ${T} WHERE ${OPEN} GROUP BY consumer`,
      [],
    )
    return new Map(rows.map((r) => [r.consumer!, Number(r.n)]))
  },
}
