import { type ColumnCodec, comparesNatively } from '../../columns/codec.js'
import { type Params, type PlannedSql, slot } from '../../data/params.js'
import { quoteIdent } from '../../schema/names.js'
import { hasKeys } from '../../util/has-keys.js'
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
  // Everything the text depends on besides the table (its id) and the parameters' numbers (`first`).
  const first = params.values.length + 1
  let shape = `${table.id}|${s.resource}|${row}|${first}|${s.recordId === null ? 'r' : ''}${lock ? lock.length : 0}|`
  let encoded = false
  for (const d of event.deferred) {
    shape += `${d.codec.key}\u0001${d.when}${d.always ? 'a' : ''}${d.encoder !== undefined ? 'e' : ''}\u0002`
    if (d.encoder !== undefined) encoded = true
  }
  if (encoded && hasKeys(event.dataEncoders)) shape += 'd'
  const time = event.time
  if (time !== undefined) shape += `t${time.codec.key}\u0001${time.when}`
  // The parameters now, with no record of their numbers: the text (built once per shape) numbers them again
  // by the same walk.
  addParameters(table, columns, event, lock, (v) => params.push(v))
  return {
    shape,
    text() {
      let n = first - 1
      const slots = addParameters(table, columns, event, lock, () => ++n, newSlots())!
      const { values, locks } = slots
      const value = (codec: ColumnCodec, old = false) =>
        `(${row}.${quoteIdent(`${old ? 'old:' : ''}${codec.key}`)})::${codec.castType}`
      const json = (codec: ColumnCodec, old = false) => codec.jsonSql(value(codec, old))!
      // An update's old value against the value it sets: as values where that is exact, else as canonical JSON.
      const changedFrom = (codec: ColumnCodec) =>
        comparesNatively(codec) ? value(codec, true) : json(codec, true)
      const setTo = (codec: ColumnCodec, n: number) =>
        comparesNatively(codec) ? slot(n, `text::${codec.castType}`) : slot(n, 'jsonb')
      const conds = event.deferred.map((d, i) => {
        const compare = slots.compare[i]!
        const stored = slots.stored[i]!
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
      let changedSql = slot(slots.changed, 'jsonb')
      conds.forEach((c, i) => {
        changedSql += ` || ${when(c.cond, `jsonb_build_object(${slot(slots.keys[i]!)}, ${c.entry})`)}`
      })
      let encodersSql: string
      if (!encoded) encodersSql = slot(slots.encoders, 'jsonb')
      else {
        let changedEnc = slot(slots.changedEncoders, 'jsonb')
        const encodedConds = conds.filter((c) => c.d.encoder !== undefined)
        encodedConds.forEach((c, i) => {
          const k = slots.encoderKeys[i]!
          changedEnc += ` || ${when(c.cond, `jsonb_build_object(${slot(k.key)}, ${slot(k.encoder)})`)}`
        })
        const data = slots.dataEncoders ? slot(slots.dataEncoders, 'jsonb') : 'NULL'
        encodersSql = `jsonb_strip_nulls(jsonb_build_object('data', ${data}, 'changed', NULLIF(${changedEnc}, '{}'::jsonb)))`
      }
      let occurredAtSql: string
      if (time === undefined)
        occurredAtSql = `COALESCE(${slot(slots.occurredAt, 'timestamptz')}, clock_timestamp())`
      else {
        const asTime =
          time.codec.kind === 'timestamp' ? `${value(time.codec)} AT TIME ZONE 'UTC'` : value(time.codec)
        occurredAtSql =
          time.when === 'filled'
            ? `COALESCE(${asTime}, clock_timestamp())`
            : `COALESCE(CASE WHEN ${changedFrom(time.codec)} IS DISTINCT FROM ${setTo(time.codec, slots.timeCompare)} THEN ${slot(slots.timeValue, 'timestamptz')} END, clock_timestamp())`
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

/**
 * The columns of an update's row as it was that the event's insert reads (`"old:key"`, see {@link followingInsert}):
 * those it compares with the values set (a `changed` entry, the update's timestamp) or with the row after (a
 * `recomputed` entry).
 */
export function oldKeysRead(event: FollowingEvent): readonly string[] {
  // An insert's or a delete's event reads none (most events): no array per event.
  if (!event.time && event.deferred.every((d) => d.when === 'filled')) return NO_KEYS
  const keys: string[] = []
  for (const d of event.deferred)
    if (d.when !== 'filled' && !keys.includes(d.codec.key)) keys.push(d.codec.key)
  const time = event.time
  if (time?.when === 'changed' && !keys.includes(time.codec.key)) keys.push(time.codec.key)
  return keys
}

const NO_KEYS: readonly string[] = Object.freeze([])

/**
 * The parameters of an event's insert, added to `push` in the order {@link followingInsert} adds them: for a
 * statement whose text is already known (actions/compiled-write.ts).
 */
export function followingParameters(
  table: EventTable,
  columns: readonly string[],
  event: FollowingEvent,
  lock: AppendLock,
  push: (v: string | null) => number,
): void {
  addParameters(table, columns, event, lock, push)
}

/** The numbers of an event insert's parameters, for its text. */
interface Slots {
  /** Per deferred entry (a `changed` one's; 0 for the others). */
  readonly compare: number[]
  readonly stored: number[]
  changed: number
  readonly keys: number[]
  encoders: number
  changedEncoders: number
  readonly encoderKeys: { key: number; encoder: number }[]
  dataEncoders: number
  occurredAt: number
  timeCompare: number
  timeValue: number
  /** Per column (0 for a column whose value is built from other parameters or read from the row). */
  readonly values: number[]
  readonly locks: number[]
}

function newSlots(): Slots {
  return {
    compare: [],
    stored: [],
    changed: 0,
    keys: [],
    encoders: 0,
    changedEncoders: 0,
    encoderKeys: [],
    dataEncoders: 0,
    occurredAt: 0,
    timeCompare: 0,
    timeValue: 0,
    values: [],
    locks: [],
  }
}

/**
 * Every parameter of an event's insert, in one fixed order: `p` adds (or only numbers) each and gives its number;
 * with `into`, the numbers are recorded there. The statement's parameters and its text's placeholders both come
 * from this one walk, so they cannot disagree.
 */
function addParameters(
  table: EventTable,
  columns: readonly string[],
  event: FollowingEvent,
  lock: AppendLock,
  p: (v: string | null) => number,
  into?: Slots,
): Slots | undefined {
  const s = event.stored
  const deferred = event.deferred
  let encoded = false
  for (let i = 0; i < deferred.length; i++) {
    const d = deferred[i]!
    if (d.encoder !== undefined) encoded = true
    const compare = d.when === 'changed' ? p(d.compare ?? null) : 0
    const stored = d.when === 'changed' ? p(d.stored!) : 0
    if (into) {
      into.compare[i] = compare
      into.stored[i] = stored
    }
  }
  const changed = p(s.changedAttributes)
  if (into) into.changed = changed
  for (let i = 0; i < deferred.length; i++) {
    const key = p(deferred[i]!.codec.key)
    if (into) into.keys[i] = key
  }
  if (!encoded) {
    const encoders = p(s.encoders)
    if (into) into.encoders = encoders
  } else {
    const changedEncoders = p(JSON.stringify(event.changedEncoders))
    if (into) into.changedEncoders = changedEncoders
    for (const d of deferred) {
      if (d.encoder === undefined) continue
      const key = p(d.codec.key)
      const encoder = p(d.encoder)
      if (into) into.encoderKeys.push({ key, encoder })
    }
    if (hasKeys(event.dataEncoders)) {
      const dataEncoders = p(JSON.stringify(event.dataEncoders))
      if (into) into.dataEncoders = dataEncoders
    }
  }
  const time = event.time
  if (time === undefined) {
    const occurredAt = p(s.occurredAt)
    if (into) into.occurredAt = occurredAt
  } else if (time.when === 'changed') {
    const compare = p(time.compare)
    const value = p(time.time)
    if (into) {
      into.timeCompare = compare
      into.timeValue = value
    }
  }
  for (let i = 0; i < columns.length; i++) {
    const key = columns[i]!
    let n = 0
    switch (key) {
      case 'id':
        n = p(s.id ?? null)
        break
      case 'recordId':
        n = s.recordId === null ? 0 : p(s.recordId)
        break
      case 'resource':
        n = p(s.resource)
        break
      case 'action':
        n = p(s.action)
        break
      case 'actionType':
        n = p(s.actionType)
        break
      case 'version':
        n = p(String(s.version))
        break
      case 'data':
        n = p(s.data)
        break
      case 'metadata':
        n = p(s.metadata)
        break
      case 'tenant':
        n = p(s.tenant)
        break
      case 'changedAttributes':
      case 'encoders':
      case 'occurredAt':
        break
      default:
        n = p(s.actors[table.config.actorKeys.indexOf(key)] ?? null)
    }
    if (into) into.values[i] = n
  }
  if (lock)
    for (const k of lock) {
      const n = p(String(k))
      if (into) into.locks.push(n)
    }
  return into
}
