import type { RawRow } from '../data/database.js'
import { qualifiedName } from '../schema/names.js'
import { rewindConsumers } from './tables.js'

/** A statement runner: the database outside a transaction, or a transaction's client. */
export type Run = (text: string, params?: readonly (string | null)[]) => Promise<RawRow[]>

const T = qualifiedName(rewindConsumers)
const LEASE = `clock_timestamp() + ($4::text::int8 * interval '1 millisecond')`

/** One row of the consumers table, as text. */
export interface CheckpointRow {
  readonly name: string
  readonly partition: number
  readonly kind: string
  readonly position: number
  readonly state: string
  readonly owner: string | null
  readonly leaseUntil: string | null
  /** Whether the lease is held by a live owner (its expiry is in the future). */
  readonly leaseLive: boolean
  readonly lastError: string | null
  readonly lastErrorAt: string | null
}

function row(r: RawRow): CheckpointRow {
  return {
    name: r.name!,
    partition: Number(r.partition),
    kind: r.kind!,
    position: Number(r.position),
    state: r.state!,
    owner: r.owner ?? null,
    leaseUntil: r.lease_until ?? null,
    leaseLive: r.live === 't' || r.live === 'true',
    lastError: r.last_error ?? null,
    lastErrorAt: r.last_error_at ?? null,
  }
}

const COLUMNS = `name, partition::text, kind, position::text, state, owner, lease_until::text, last_error,
  last_error_at::text, (lease_until IS NOT NULL AND lease_until > clock_timestamp())::text AS live`

/**
 * The SQL of checkpoints and leases (the `rewind_consumers` table). A row per consumer and partition holds
 * its position, owner and lease expiry. Every move of the position is fenced on the owner: a batch transaction
 * locks the row (`fence`) and checks owner and position before it writes, so a process that lost its lease
 * can never apply a batch that the new owner applies too.
 */
export const checkpoints = {
  /** Creates the row if it does not exist yet (at `position`); true when this call created it. */
  async create(run: Run, name: string, partition: number, kind: string, position: number): Promise<boolean> {
    const rows = await run(
      `INSERT INTO ${T} (name, partition, kind, position) VALUES ($1, $2::text::int4, $3, $4::text::int8)
       ON CONFLICT (name, partition) DO NOTHING RETURNING 1 AS created`,
      [name, String(partition), kind, String(position)],
    )
    return rows.length > 0
  },

  async exists(run: Run, name: string, partition: number): Promise<boolean> {
    const rows = await run(`SELECT 1 AS x FROM ${T} WHERE name = $1 AND partition = $2::text::int4`, [
      name,
      String(partition),
    ])
    return rows.length > 0
  },

  /**
   * Takes the lease when it is free, expired or already ours (and the consumer is not stopped): the row's
   * position, or undefined when another live process holds it.
   */
  async acquire(
    run: Run,
    name: string,
    partition: number,
    owner: string,
    ttlMs: number,
  ): Promise<number | undefined> {
    const rows = await run(
      `UPDATE ${T} SET owner = $3, lease_until = ${LEASE}, updated_at = clock_timestamp()
       WHERE name = $1 AND partition = $2::text::int4 AND state <> 'stopped'
         AND (owner IS NULL OR owner = $3 OR lease_until IS NULL OR lease_until < clock_timestamp())
       RETURNING position::text AS position`,
      [name, String(partition), owner, String(ttlMs)],
    )
    return rows[0] ? Number(rows[0].position) : undefined
  },

  /** Extends our lease; false when it is no longer ours. */
  async renew(run: Run, name: string, partition: number, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await run(
      `UPDATE ${T} SET lease_until = ${LEASE} WHERE name = $1 AND partition = $2::text::int4 AND owner = $3
       RETURNING 1 AS ok`,
      [name, String(partition), owner, String(ttlMs)],
    )
    return rows.length > 0
  },

  async release(run: Run, name: string, partition: number, owner: string): Promise<void> {
    await run(
      `UPDATE ${T} SET owner = NULL, lease_until = NULL, updated_at = clock_timestamp()
       WHERE name = $1 AND partition = $2::text::int4 AND owner = $3`,
      [name, String(partition), owner],
    )
  },

  /**
   * In a batch's transaction, before its writes: locks the row until the transaction ends and says whether the
   * batch may go on (still our lease, the position the batch starts from). A takeover waits on the lock, and
   * a rebuild that moved the position makes the batch stale.
   */
  async fence(
    run: Run,
    name: string,
    partition: number,
    owner: string,
    from: number,
  ): Promise<'ok' | 'lost' | 'moved'> {
    const rows = await run(
      `SELECT owner, position::text AS position, state FROM ${T} WHERE name = $1 AND partition = $2::text::int4 FOR UPDATE`,
      [name, String(partition)],
    )
    const r = rows[0]
    if (!r || r.owner !== owner || r.state === 'stopped') return 'lost'
    return Number(r.position) === from ? 'ok' : 'moved'
  },

  /** Moves the position from `from` to `to` if the lease is ours and nobody moved it (extends the lease too). */
  async advance(
    run: Run,
    name: string,
    partition: number,
    owner: string,
    ttlMs: number,
    from: number,
    to: number,
  ): Promise<boolean> {
    const rows = await run(
      `UPDATE ${T} SET position = $6::text::int8, lease_until = ${LEASE}, updated_at = clock_timestamp()
       WHERE name = $1 AND partition = $2::text::int4 AND owner = $3 AND position = $5::text::int8
       RETURNING 1 AS ok`,
      [name, String(partition), owner, String(ttlMs), String(from), String(to)],
    )
    return rows.length > 0
  },

  /** Records a failure; with `stop`, the consumer stops (and gives up its lease) until it is retried or skipped. */
  async fail(run: Run, name: string, partition: number, message: string, stop: boolean): Promise<void> {
    await run(
      `UPDATE ${T} SET last_error = $3, last_error_at = clock_timestamp(), updated_at = clock_timestamp()
         ${stop ? `, state = 'stopped', owner = NULL, lease_until = NULL` : ''}
       WHERE name = $1 AND partition = $2::text::int4`,
      [name, String(partition), message],
    )
  },

  /** Lets a stopped consumer run again (after a retry or skip of the event it stopped on). */
  async resume(run: Run, name: string, partition?: number): Promise<void> {
    await run(
      `UPDATE ${T} SET state = 'running', last_error = NULL, updated_at = clock_timestamp()
       WHERE name = $1 ${partition === undefined ? '' : 'AND partition = $2::text::int4'}`,
      partition === undefined ? [name] : [name, String(partition)],
    )
  },

  /** Sets the position of every partition of a consumer (a rebuild, a skip); in the caller's transaction. */
  async reset(run: Run, name: string, position: number, partition?: number): Promise<void> {
    await run(
      `UPDATE ${T} SET position = $2::text::int8, updated_at = clock_timestamp()
       WHERE name = $1 ${partition === undefined ? '' : 'AND partition = $3::text::int4'}`,
      partition === undefined ? [name, String(position)] : [name, String(position), String(partition)],
    )
  },

  /** Every partition's row of a consumer, locked until the caller's transaction ends (a rebuild fences runners). */
  async lockAll(run: Run, name: string): Promise<CheckpointRow[]> {
    const rows = await run(`SELECT ${COLUMNS} FROM ${T} WHERE name = $1 ORDER BY ${T}.partition FOR UPDATE`, [
      name,
    ])
    return rows.map(row)
  },

  async list(run: Run, name?: string): Promise<CheckpointRow[]> {
    const rows = await run(
      `SELECT ${COLUMNS} FROM ${T} ${name === undefined ? '' : 'WHERE name = $1'} ORDER BY ${T}.name, ${T}.partition`,
      name === undefined ? [] : [name],
    )
    return rows.map(row)
  },
}
