import { type ColumnCodec, comparesNatively } from '../../columns/codec.js'
import { type Params, type PlannedSql, slot } from '../../data/params.js'
import { quoteIdent } from '../../schema/names.js'
import type { AppendLock, StoredEvent } from './append.js'
import type { EventTable } from './event-table.js'

/** A `changed_attributes` entry the written row decides (see capture-plan.ts), with what its SQL needs. */
export interface DeferredColumn {
  readonly codec: ColumnCodec
  readonly when: 'filled' | 'changed' | 'recomputed'
  /** `filled`: recorded even when null (a column with a database default, the key). */
  readonly always?: boolean
  /**
   * `changed`: the value set, as compared with the row's old value (its parameter text for a column compared
   * natively, else its JSON text: see `comparesNatively`), and as recorded (JSON).
   */
  readonly compare?: string | null
  readonly stored?: string
  /** The entry's encoder in `encoders.changed` (base64 bytes, an encrypted or redacted value). */
  readonly encoder?: string | undefined
}

/** The event of a row write, for the same statement: what is known, and what the written row completes. */
export interface FollowingEvent {
  /** `recordId` null: the key is the database's, read from the row. */
  readonly stored: StoredEvent
  readonly primaryKey: string
  /** The known entries of the encoders, as objects (the deferred ones join them; the known entries of
   * `changed_attributes` are `stored.changedAttributes`). */
  readonly dataEncoders: Readonly<Record<string, string>>
  readonly changedEncoders: Readonly<Record<string, string>>
  readonly deferred: readonly DeferredColumn[]
  /** `occurred_at` from the row: a create timestamp the database fills, or an update's timestamp when it changed. */
  readonly time:
    | { readonly codec: ColumnCodec; readonly when: 'filled' }
    | {
        readonly codec: ColumnCodec
        readonly when: 'changed'
        /** The value set, compared with the old value as `DeferredColumn.compare` is. */
        readonly compare: string | null
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
 *
 * The parameters are added now, always in the same order for events of the same shape; the text is built only
 * when asked (a statement of the same shape reuses the text built before, see rows/row-statements.ts).
 */
export function followingInsert(
  table: EventTable,
  columns: readonly string[],
  event: FollowingEvent,
  lock: AppendLock,
  row: string,
  params: Params,
): PlannedSql {
  const s = event.stored
  const p = (v: string | null) => params.push(v)
  // Everything the text depends on besides the table (its id) and the parameters' numbers (`first`).
  const first = params.values.length + 1
  let shape = `${table.id}|${s.resource}|${row}|${first}|${s.recordId === null ? 'r' : ''}${lock ? lock.length : 0}|`
  const deferred = event.deferred.map((d) => {
    shape += `${d.codec.key}\u0001${d.when}${d.always ? 'a' : ''}${d.encoder !== undefined ? 'e' : ''}\u0002`
    return d.when === 'changed'
      ? { d, compare: p(d.compare ?? null), stored: p(d.stored!) }
      : { d, compare: 0, stored: 0 }
  })
  const changed = p(s.changedAttributes)
  const keys = deferred.map((c) => p(c.d.codec.key))
  const encoded = deferred.filter((c) => c.d.encoder !== undefined)
  let encoders = 0
  let changedEncoders = 0
  let encoderKeys: { key: number; encoder: number }[] = []
  let dataEncoders = 0
  if (encoded.length === 0) encoders = p(s.encoders)
  else {
    changedEncoders = p(JSON.stringify(event.changedEncoders))
    encoderKeys = encoded.map((c) => ({ key: p(c.d.codec.key), encoder: p(c.d.encoder!) }))
    if (Object.keys(event.dataEncoders).length) dataEncoders = p(JSON.stringify(event.dataEncoders))
    shape += dataEncoders ? 'd' : ''
  }
  const time = event.time
  let occurredAt = 0
  let timeCompare = 0
  let timeValue = 0
  if (time === undefined) occurredAt = p(s.occurredAt)
  else {
    shape += `t${time.codec.key}\u0001${time.when}`
    if (time.when === 'changed') {
      timeCompare = p(time.compare)
      timeValue = p(time.time)
    }
  }
  const values = columns.map((key) => {
    switch (key) {
      case 'id':
        return p(s.id ?? null)
      case 'recordId':
        return s.recordId === null ? 0 : p(s.recordId)
      case 'resource':
        return p(s.resource)
      case 'action':
        return p(s.action)
      case 'actionType':
        return p(s.actionType)
      case 'version':
        return p(String(s.version))
      case 'data':
        return p(s.data)
      case 'metadata':
        return p(s.metadata)
      case 'tenant':
        return p(s.tenant)
      case 'changedAttributes':
      case 'encoders':
      case 'occurredAt':
        return 0
      default:
        return p(s.actors[table.config.actorKeys.indexOf(key)] ?? null)
    }
  })
  const locks = lock ? lock.map((k) => p(String(k))) : []
  return {
    shape,
    text() {
      const value = (codec: ColumnCodec, old = false) =>
        `(${row}.${quoteIdent(`${old ? 'old:' : ''}${codec.key}`)})::${codec.castType}`
      const json = (codec: ColumnCodec, old = false) => codec.jsonSql(value(codec, old))!
      // An update's old value against the value it sets: as values where that is exact, else as canonical JSON.
      const changedFrom = (codec: ColumnCodec) =>
        comparesNatively(codec) ? value(codec, true) : json(codec, true)
      const setTo = (codec: ColumnCodec, n: number) =>
        comparesNatively(codec) ? slot(n, `text::${codec.castType}`) : slot(n, 'jsonb')
      const conds = deferred.map(({ d, compare, stored }) => {
        if (d.when === 'filled')
          return { d, cond: d.always ? undefined : `${value(d.codec)} IS NOT NULL`, entry: json(d.codec) }
        if (d.when === 'changed')
          return {
            d,
            cond: `${changedFrom(d.codec)} IS DISTINCT FROM ${setTo(d.codec, compare)}`,
            entry: slot(stored, 'jsonb'),
          }
        return { d, cond: `${json(d.codec, true)} IS DISTINCT FROM ${json(d.codec)}`, entry: json(d.codec) }
      })
      const when = (cond: string | undefined, then: string) =>
        cond === undefined ? then : `CASE WHEN ${cond} THEN ${then} ELSE '{}'::jsonb END`
      let changedSql = slot(changed, 'jsonb')
      conds.forEach((c, i) => {
        changedSql += ` || ${when(c.cond, `jsonb_build_object(${slot(keys[i]!)}, ${c.entry})`)}`
      })
      let encodersSql: string
      if (encoded.length === 0) encodersSql = slot(encoders, 'jsonb')
      else {
        let changedEnc = slot(changedEncoders, 'jsonb')
        const encodedConds = conds.filter((c) => c.d.encoder !== undefined)
        encodedConds.forEach((c, i) => {
          const k = encoderKeys[i]!
          changedEnc += ` || ${when(c.cond, `jsonb_build_object(${slot(k.key)}, ${slot(k.encoder)})`)}`
        })
        const data = dataEncoders ? slot(dataEncoders, 'jsonb') : 'NULL'
        encodersSql = `jsonb_strip_nulls(jsonb_build_object('data', ${data}, 'changed', NULLIF(${changedEnc}, '{}'::jsonb)))`
      }
      let occurredAtSql: string
      if (time === undefined)
        occurredAtSql = `COALESCE(${slot(occurredAt, 'timestamptz')}, clock_timestamp())`
      else {
        const asTime =
          time.codec.kind === 'timestamp' ? `${value(time.codec)} AT TIME ZONE 'UTC'` : value(time.codec)
        occurredAtSql =
          time.when === 'filled'
            ? `COALESCE(${asTime}, clock_timestamp())`
            : `COALESCE(CASE WHEN ${changedFrom(time.codec)} IS DISTINCT FROM ${setTo(time.codec, timeCompare)} THEN ${slot(timeValue, 'timestamptz')} END, clock_timestamp())`
      }
      const exprs = columns.map((key, i) => {
        switch (key) {
          case 'id':
            return slot(values[i]!, 'uuid')
          case 'recordId':
            return s.recordId === null ? `${row}.${quoteIdent(event.primaryKey)}` : slot(values[i]!)
          case 'version':
            return slot(values[i]!, 'int4')
          case 'data':
          case 'metadata':
            return slot(values[i]!, 'jsonb')
          case 'changedAttributes':
            return changedSql
          case 'encoders':
            return encodersSql
          case 'occurredAt':
            return occurredAtSql
          case 'resource':
          case 'action':
          case 'actionType':
          case 'tenant':
            return slot(values[i]!)
          default:
            return `${slot(values[i]!)}::${table.codecs.get(key)!.castType}`
        }
      })
      const from = !lock
        ? row
        : lock.length === 1
          ? `${row} CROSS JOIN (SELECT pg_advisory_xact_lock(${slot(locks[0]!, 'int8')})) AS rewind_l`
          : `${row} CROSS JOIN (SELECT pg_advisory_xact_lock(${slot(locks[0]!, 'int4')}, ${slot(locks[1]!, 'int4')})) AS rewind_l`
      return `INSERT INTO ${table.name} (${columns.map((k) => table.col(k)).join(', ')}) SELECT ${exprs.join(', ')} FROM ${from}`
    },
  }
}
