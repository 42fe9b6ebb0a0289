import type { ColumnCodec } from '../../columns/codec.js'
import type { Params } from '../../data/params.js'
import { quoteIdent } from '../../schema/names.js'
import type { AppendLock, StoredEvent } from './append.js'
import type { EventTable } from './event-table.js'

/** A `changed_attributes` entry the written row decides (see capture-plan.ts), with what its SQL needs. */
export interface DeferredColumn {
  readonly codec: ColumnCodec
  readonly when: 'filled' | 'changed' | 'recomputed'
  /** `filled`: recorded even when null (a column with a database default, the key). */
  readonly always?: boolean
  /** `changed`: the JSON text of the value set, as compared with the row's old value, and as recorded. */
  readonly compare?: string
  readonly stored?: string
  /** The entry's encoder in `encoders.changed` (base64 bytes, an encrypted or redacted value). */
  readonly encoder?: string | undefined
}

/** The event of a row write, for the same statement: what is known, and what the written row completes. */
export interface FollowingEvent {
  /** `recordId` null: the key is the database's, read from the row. */
  readonly stored: StoredEvent
  readonly primaryKey: string
  /** The known entries of `changed_attributes` and of the encoders, as objects (the deferred ones join them). */
  readonly changed: Readonly<Record<string, unknown>>
  readonly dataEncoders: Readonly<Record<string, string>>
  readonly changedEncoders: Readonly<Record<string, string>>
  readonly deferred: readonly DeferredColumn[]
  /** `occurred_at` from the row: a create timestamp the database fills, or an update's timestamp when it changed. */
  readonly time:
    | { readonly codec: ColumnCodec; readonly when: 'filled' }
    | {
        readonly codec: ColumnCodec
        readonly when: 'changed'
        readonly compare: string
        readonly time: string
      }
    | undefined
}

/**
 * `INSERT INTO <log> (...) SELECT ... FROM <row>`: the event of the row written by the CTE `row` (see
 * rows/row-store.ts FollowingWrite), in the same statement. Known values are parameters; the deferred entries
 * of `changed_attributes` are read from the row (`(row."key")::type`, and `"old:key"` for an update), turned
 * into the exact JSON the codecs give (`ColumnCodec.jsonSql`). The position is drawn as the event row is made, after
 * the row write and its row lock, as in the two-statement path.
 */
export function followingInsert(
  table: EventTable,
  columns: readonly string[],
  event: FollowingEvent,
  lock: AppendLock,
  row: string,
  params: Params,
): string {
  const s = event.stored
  const value = (codec: ColumnCodec, old = false) =>
    `(${row}.${quoteIdent(`${old ? 'old:' : ''}${codec.key}`)})::${codec.castType}`
  const json = (codec: ColumnCodec, old = false) => codec.jsonSql(value(codec, old))!
  const conds: { cond: string | undefined; key: string; entry: string; encoder: string | undefined }[] = []
  for (const d of event.deferred) {
    const key = d.codec.key
    if (d.when === 'filled')
      conds.push({
        cond: d.always ? undefined : `${value(d.codec)} IS NOT NULL`,
        key,
        entry: json(d.codec),
        encoder: d.encoder,
      })
    else if (d.when === 'changed')
      conds.push({
        cond: `${json(d.codec, true)} IS DISTINCT FROM ${params.raw(d.compare!, 'jsonb')}`,
        key,
        entry: params.raw(d.stored!, 'jsonb'),
        encoder: d.encoder,
      })
    else
      conds.push({
        cond: `${json(d.codec, true)} IS DISTINCT FROM ${json(d.codec)}`,
        key,
        entry: json(d.codec),
        encoder: d.encoder,
      })
  }
  const when = (cond: string | undefined, then: string) =>
    cond === undefined ? then : `CASE WHEN ${cond} THEN ${then} ELSE '{}'::jsonb END`
  let changed = params.raw(JSON.stringify(event.changed), 'jsonb')
  for (const c of conds)
    changed += ` || ${when(c.cond, `jsonb_build_object(${params.raw(c.key)}, ${c.entry})`)}`
  let encoders: string
  const encoded = conds.filter((c) => c.encoder !== undefined)
  if (encoded.length === 0) encoders = params.raw(s.encoders, 'jsonb')
  else {
    let changedEncoders = params.raw(JSON.stringify(event.changedEncoders), 'jsonb')
    for (const c of encoded)
      changedEncoders += ` || ${when(c.cond, `jsonb_build_object(${params.raw(c.key)}, ${params.raw(c.encoder!)})`)}`
    const data = Object.keys(event.dataEncoders).length
      ? params.raw(JSON.stringify(event.dataEncoders), 'jsonb')
      : 'NULL'
    encoders = `jsonb_strip_nulls(jsonb_build_object('data', ${data}, 'changed', NULLIF(${changedEncoders}, '{}'::jsonb)))`
  }
  const time = event.time
  let occurredAt: string
  if (time === undefined)
    occurredAt = `COALESCE(${params.raw(s.occurredAt, 'timestamptz')}, clock_timestamp())`
  else {
    const asTime =
      time.codec.kind === 'timestamp' ? `${value(time.codec)} AT TIME ZONE 'UTC'` : value(time.codec)
    occurredAt =
      time.when === 'filled'
        ? `COALESCE(${asTime}, clock_timestamp())`
        : `COALESCE(CASE WHEN ${json(time.codec, true)} IS DISTINCT FROM ${params.raw(time.compare, 'jsonb')} THEN ${params.raw(time.time, 'timestamptz')} END, clock_timestamp())`
  }
  const exprs = columns.map((key) => {
    switch (key) {
      case 'id':
        return params.raw(s.id ?? null, 'uuid')
      case 'recordId':
        return s.recordId === null ? `${row}.${quoteIdent(event.primaryKey)}` : params.raw(s.recordId)
      case 'resource':
        return params.raw(s.resource)
      case 'action':
        return params.raw(s.action)
      case 'actionType':
        return params.raw(s.actionType)
      case 'version':
        return params.raw(String(s.version), 'int4')
      case 'data':
        return params.raw(s.data, 'jsonb')
      case 'changedAttributes':
        return changed
      case 'metadata':
        return params.raw(s.metadata, 'jsonb')
      case 'encoders':
        return encoders
      case 'occurredAt':
        return occurredAt
      case 'tenant':
        return params.raw(s.tenant)
      default: {
        const i = table.config.actorKeys.indexOf(key)
        return `${params.raw(s.actors[i] ?? null)}::${table.codecs.get(key)!.castType}`
      }
    }
  })
  const from = !lock
    ? row
    : lock.length === 1
      ? `${row} CROSS JOIN (SELECT pg_advisory_xact_lock(${params.raw(String(lock[0]), 'int8')})) AS rewind_l`
      : `${row} CROSS JOIN (SELECT pg_advisory_xact_lock(${params.raw(String(lock[0]), 'int4')}, ${params.raw(String(lock[1]), 'int4')})) AS rewind_l`
  return `INSERT INTO ${table.name} (${columns.map((k) => table.col(k)).join(', ')}) SELECT ${exprs.join(', ')} FROM ${from}`
}
