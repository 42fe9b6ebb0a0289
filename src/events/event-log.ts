import type { EventSink, WriteEvent } from '../actions/pipeline.js'
import type { ColumnCodec } from '../columns/codec.js'
import { tableCodecs } from '../columns/column-codec.js'
import type { CastResult } from '../columns/messages.js'
import { type Json, sameJson } from '../columns/values.js'
import type { RawRow, SqlClient } from '../data/database.js'
import { Params } from '../data/statements.js'
import { RewindError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import { uuidv7 } from '../util/uuidv7.js'
import { decrypt, encrypt, isCiphertext, type KeyProvider } from './encryption.js'
import { advisoryKey, type ResolvedEventLog } from './event-log-config.js'
import { EVENT_LOG_COLUMNS } from './event-log-table.js'
import { metadataJson } from './metadata.js'

/** Per-field encoders of an event's payloads: how to turn a stored JSON value back into the column's value. */
export interface EventEncoders {
  readonly data?: Readonly<Record<string, string>>
  readonly changed?: Readonly<Record<string, string>>
}

/** One event as read from the log, with sensitive values decrypted where a key is configured. */
export interface RewindEvent {
  readonly id: number | string
  /** The event's place in the log: assigned at insert, after the row write; the order of replay. */
  readonly position: number
  readonly recordId: string
  readonly resource: string
  readonly action: string
  readonly actionType: 'create' | 'update' | 'destroy'
  readonly version: number
  /** The caller's input (accepted columns, cast; arguments). */
  readonly data: Readonly<Record<string, Json>>
  /** Every other column the action set or changed. */
  readonly changedAttributes: Readonly<Record<string, Json>>
  readonly metadata: Readonly<Record<string, Json>>
  readonly encoders: EventEncoders
  /** ISO 8601 with microseconds, UTC. */
  readonly occurredAt: string
  readonly tenant: string | null
  /** The PostgreSQL transaction (xid8) that wrote the event. */
  readonly transactionId: string
  /** The actor columns (null for the types that did not act). */
  readonly actor: Readonly<Record<string, Json>>
}

/** The event columns replay never looks at (nor does `stateAt`): not read, not decoded. */
const NOT_REPLAYED = ['metadata', 'occurredAt', 'transactionId'] as const

/** What replay reads of an event: everything it needs to re-run the action, nothing it would decode in vain. */
export type ReplayedEvent = Omit<RewindEvent, (typeof NOT_REPLAYED)[number] | 'actor'>

/** The event columns replay reads (see {@link ReplayedEvent}); actor columns are not among them. */
const REPLAYED_NAMES = EVENT_LOG_COLUMNS.filter(
  (k): k is Exclude<(typeof EVENT_LOG_COLUMNS)[number], (typeof NOT_REPLAYED)[number]> =>
    !(NOT_REPLAYED as readonly string[]).includes(k),
)
const REPLAYED_KEYS: ReadonlySet<string> = new Set(REPLAYED_NAMES)

/** Filters of {@link EventLog.list}; every one is optional and they combine with AND. */
export interface EventFilter {
  readonly resource?: string | AnyResource
  readonly recordId?: unknown
  readonly action?: string
  readonly actionType?: 'create' | 'update' | 'destroy'
  /** Actor columns and values, for example `{ userId: id }`. */
  readonly actor?: Readonly<Record<string, unknown>>
  readonly tenant?: unknown
  /** Events that occurred at or after this time. */
  readonly from?: Date | string
  /** Events that occurred at or before this time. */
  readonly to?: Date | string
  /** Keyset paging: events after this position (exclusive). */
  readonly afterPosition?: number
  /** Events up to and including this position. */
  readonly untilPosition?: number
  /** Page size (default 100, at most 10,000). */
  readonly limit?: number
}

/** A page of events and the cursor of the next one (undefined on the last page). */
export interface EventPage {
  readonly events: RewindEvent[]
  readonly nextAfterPosition: number | undefined
}

const MAX_PAGE = 10_000
const REDACTED = 'redacted'
const ENCRYPTED = 'aes-256-gcm'
const ERASED = 'erased'

/** Text of a canonical primary-key value, as stored in `record_id`. */
export function recordIdText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * The event log: records one event per tracked action (the pipeline calls {@link record} after the row write,
 * in the same transaction), and reads them back.
 */
export class EventLog implements EventSink {
  readonly codecs: ReadonlyMap<string, ColumnCodec>
  readonly #insertText: string
  readonly #insertLockedText: string
  readonly #insertLocked2Text: string
  readonly #table: string
  /** The codecs decodeReplayed reads, looked up once. */
  readonly #replayedCodecs: Readonly<Record<(typeof REPLAYED_NAMES)[number], ColumnCodec>>

  constructor(
    readonly config: ResolvedEventLog,
    readonly resources: ReadonlyMap<string, AnyResource>,
  ) {
    this.codecs = tableCodecs(config.table)
    this.#table = qualifiedName(config.table)
    this.#replayedCodecs = Object.fromEntries(
      REPLAYED_NAMES.map((key) => [key, this.codecs.get(key)!]),
    ) as Record<(typeof REPLAYED_NAMES)[number], ColumnCodec>
    const col = (key: string) => quoteIdent(this.codecs.get(key)!.name)
    const cols = [
      ...(config.idMode === 'uuidv7' ? ['id'] : []),
      'recordId',
      'resource',
      'action',
      'actionType',
      'version',
      'data',
      'changedAttributes',
      'metadata',
      'encoders',
      'occurredAt',
      'tenant',
      ...config.actorKeys,
    ]
    let n = 0
    const exprs = cols.map((key) => {
      n++
      if (key === 'occurredAt') return `COALESCE($${n}::text::timestamptz, clock_timestamp())`
      const codec = this.codecs.get(key)!
      if (key === 'data' || key === 'changedAttributes' || key === 'metadata' || key === 'encoders')
        return `$${n}::text::jsonb`
      if (key === 'version') return `$${n}::text::int4`
      return `$${n}::text::${codec.castType}`
    })
    const head = `INSERT INTO ${this.#table} (${cols.map(col).join(', ')})`
    this.#insertText = `${head} VALUES (${exprs.join(', ')})`
    // The advisory lock is taken in the same statement, before the identity value of the position is drawn.
    this.#insertLockedText = `${head} SELECT ${exprs.join(', ')} FROM (SELECT pg_advisory_xact_lock($${n + 1}::text::int8)) AS l`
    this.#insertLocked2Text = `${head} SELECT ${exprs.join(', ')} FROM (SELECT pg_advisory_xact_lock($${n + 1}::text::int4, $${n + 2}::text::int4)) AS l`
  }

  tracks(resource: AnyResource, action: string): boolean {
    const ev = resource.events
    if (ev.track === false) return false
    const def = resource.actions[action] as { kind: string } | undefined
    if (!def || def.kind === 'action') return false
    if (ev.only) return ev.only.includes(action)
    return !(ev.ignore ?? []).includes(action)
  }

  /** Stores one event: payloads encoded (sensitive values encrypted or redacted), actor columns resolved. */
  async record(client: SqlClient, event: WriteEvent): Promise<void> {
    const { resource } = event
    const recordId = recordIdText(event.recordId)
    const aad = (part: string, key: string) => `${resource.name}\u0000${recordId}\u0000${part}\u0000${key}`
    const keys = this.config.keys
    const sensitive = resource.sensitive
    const changedEncoders: Record<string, string> = {}
    for (const key of Object.keys(event.changed)) {
      const enc = resource.codecs.get(key)?.encoder
      if (enc) changedEncoders[key] = enc
    }
    const data = protect(event.data, event.dataEncoders, sensitive, keys, (k) => aad('data', k))
    const changed = protect(event.changed, changedEncoders, sensitive, keys, (k) => aad('changed', k))
    const encoders: Record<string, Record<string, string>> = {}
    if (Object.keys(data.encoders).length) encoders.data = data.encoders
    if (Object.keys(changed.encoders).length) encoders.changed = changed.encoders

    const meta = metadataJson(event.metadata ?? {})
    if (!meta.ok) {
      throw new RewindError('VALIDATION', `${resource.name}.${event.action}: metadata ${meta.problem}`, {
        resource: resource.name,
        action: event.action,
        issues: [{ path: ['metadata'], message: meta.problem }],
      })
    }

    const params: (string | null)[] = []
    if (this.config.idMode === 'uuidv7') params.push(uuidv7())
    params.push(
      recordId,
      resource.name,
      event.action,
      event.actionType,
      String(resource.events.versions?.[event.action] ?? 1),
      JSON.stringify(data.values),
      JSON.stringify(changed.values),
      JSON.stringify(meta.value),
      JSON.stringify(encoders),
      occurredAt(event),
      event.tenant === undefined || event.tenant === null ? null : tenantText(event.tenant),
    )
    for (const key of this.config.actorKeys) {
      const value = this.config.actors[key]!(event.actor)
      if (value === undefined || value === null) {
        params.push(null)
        continue
      }
      const codec = this.codecs.get(key)!
      const cast = codec.fromApp(value)
      if (!cast.ok) {
        throw new RewindError(
          'VALIDATION',
          `${resource.name}.${event.action}: actor column ${key}: ${cast.message}`,
          {
            resource: resource.name,
            action: event.action,
            issues: [{ path: ['actor', key], message: cast.message }],
          },
        )
      }
      params.push(codec.toText(cast.value))
    }
    const lock = advisoryKey(this.config.ordering, event)
    if (!lock) {
      await client.queryText(this.#insertText, params)
    } else if (lock.length === 1) {
      await client.queryText(this.#insertLockedText, [...params, String(lock[0])])
    } else {
      await client.queryText(this.#insertLocked2Text, [...params, String(lock[0]), String(lock[1])])
    }
  }

  /**
   * `tenant = ...` for a tenant as a caller spells it. Events store the tenant as its column does (a uuid in
   * lower case), so the value is matched in each form a tenant column of the app gives it.
   */
  tenantCondition(params: Params, tenant: unknown): string {
    const forms = new Set<string>()
    for (const r of this.resources.values()) {
      if (r.tenant === undefined) continue
      const cast = r.codecs.get(r.tenant)!.fromApp(tenant)
      if (cast.ok && cast.value !== null) forms.add(tenantText(cast.value))
    }
    if (forms.size === 0) forms.add(tenantText(tenant))
    const col = quoteIdent(this.codecs.get('tenant')!.name)
    const list = [...forms].map((f) => params.raw(f))
    return list.length === 1 ? `${col} = ${list[0]}` : `${col} IN (${list.join(', ')})`
  }

  /** An event id as a caller gives it (a number, or its digits as text, for the default ids; a UUID for uuidv7). */
  eventId(id: unknown): CastResult {
    const codec = this.codecs.get('id')!
    if (this.config.idMode === 'bigint' && typeof id === 'string' && /^\d{1,19}$/.test(id)) {
      return BigInt(id) <= BigInt(Number.MAX_SAFE_INTEGER) ? codec.fromApp(Number(id)) : codec.fromApp(id)
    }
    if (this.config.idMode === 'bigint' && typeof id === 'bigint') return codec.fromApp(Number(id))
    return codec.fromApp(id)
  }

  /**
   * The position of the event with this id, or undefined when there is none. Fails with VALIDATION when the id
   * is malformed (`what` names the option in the message).
   */
  async positionOf(
    query: (text: string, params: (string | null)[]) => Promise<RawRow[]>,
    id: unknown,
    what: string,
  ): Promise<number | undefined> {
    const cast = this.eventId(id)
    if (!cast.ok) {
      throw new RewindError('VALIDATION', `${what}: ${cast.message}`, {
        issues: [{ path: [what], message: cast.message }],
      })
    }
    const params = new Params()
    const idCodec = this.codecs.get('id')!
    const rows = await query(
      `SELECT ${quoteIdent(this.codecs.get('position')!.name)}::text AS position FROM ${this.#table} WHERE ${quoteIdent(idCodec.name)} = ${params.add(idCodec, cast.value)}`,
      params.values,
    )
    const position = rows[0]?.position
    return position === undefined || position === null ? undefined : Number(position)
  }

  /** A page of events in position order, filtered. */
  async list(
    query: (text: string, params: (string | null)[]) => Promise<RawRow[]>,
    filter: EventFilter = {},
  ): Promise<EventPage> {
    const params = new Params()
    const conds: string[] = []
    const col = (key: string) => quoteIdent(this.codecs.get(key)!.name)
    const bad = (field: string, message: string) =>
      new RewindError('VALIDATION', `events: ${field} ${message}`, { issues: [{ path: [field], message }] })
    if (filter.resource !== undefined) {
      const name = typeof filter.resource === 'string' ? filter.resource : filter.resource.name
      conds.push(`${col('resource')} = ${params.raw(name)}`)
    }
    if (filter.recordId !== undefined) {
      const id = typeof filter.recordId === 'string' ? filter.recordId : recordIdText(filter.recordId as Json)
      conds.push(`${col('recordId')} = ${params.raw(id)}`)
    }
    if (filter.action !== undefined) conds.push(`${col('action')} = ${params.raw(filter.action)}`)
    if (filter.actionType !== undefined) conds.push(`${col('actionType')} = ${params.raw(filter.actionType)}`)
    if (filter.tenant !== undefined) conds.push(this.tenantCondition(params, filter.tenant))
    for (const [key, value] of Object.entries(filter.actor ?? {})) {
      const codec = this.codecs.get(key)
      if (!codec || !this.config.actorKeys.includes(key)) {
        throw bad(
          'actor',
          `"${key}" is not an actor column (actor columns: ${this.config.actorKeys.join(', ') || 'none'})`,
        )
      }
      const cast = codec.fromApp(value)
      if (!cast.ok) throw bad(`actor.${key}`, cast.message)
      conds.push(`${col(key)} = ${params.add(codec, cast.value)}`)
    }
    for (const [field, op] of [
      ['from', '>='],
      ['to', '<='],
    ] as const) {
      const v = filter[field]
      if (v === undefined) continue
      const cast = this.codecs.get('occurredAt')!.fromApp(v)
      if (!cast.ok || cast.value === null) throw bad(field, cast.ok ? 'is required' : cast.message)
      conds.push(`${col('occurredAt')} ${op} ${params.raw(cast.value as string, 'timestamptz')}`)
    }
    for (const [field, op] of [
      ['afterPosition', '>'],
      ['untilPosition', '<='],
    ] as const) {
      const v = filter[field]
      if (v === undefined) continue
      if (!Number.isSafeInteger(v)) throw bad(field, `must be an integer, got ${String(v)}`)
      conds.push(`${col('position')} ${op} ${params.raw(String(v), 'int8')}`)
    }
    const limit = filter.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw bad('limit', `must be an integer from 1 to ${MAX_PAGE}, got ${String(limit)}`)
    const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : ''
    const rows = await query(
      `SELECT ${this.#selectList()} FROM ${this.#table}${where} ORDER BY ${this.#table}.${col('position')} ASC LIMIT ${limit + 1}`,
      params.values,
    )
    const events = rows.slice(0, limit).map((row) => this.decode(row))
    return {
      events,
      nextAfterPosition: rows.length > limit ? events[events.length - 1]!.position : undefined,
    }
  }

  /**
   * @internal the select list of every event column as text, aliased by key. (ORDER BY must then name the
   * table's column, qualified, or it would sort the text alias.)
   */
  #selectList(only?: ReadonlySet<string>): string {
    return [...this.codecs.values()]
      .filter((c) => !only || only.has(c.key))
      .map((c) => `${quoteIdent(c.name)}::text AS ${quoteIdent(c.key)}`)
      .join(', ')
  }

  /**
   * @internal the SELECT of events in position order, for streamed reads: every column, or with `replayed`
   * only those a replay uses (decode such rows with {@link decodeReplayed}).
   */
  selectSql(where: string, limit: number, columns: 'all' | 'replayed' = 'all'): string {
    return `SELECT ${this.#selectList(columns === 'replayed' ? REPLAYED_KEYS : undefined)} FROM ${this.#table}${where ? ` WHERE ${where}` : ''} ORDER BY ${this.#table}.${quoteIdent(this.codecs.get('position')!.name)} ASC LIMIT ${limit}`
  }

  /** A stored row to an event, decrypting what the configured keys can. */
  decode(row: RawRow): RewindEvent {
    const get = (key: string) => this.codecs.get(key)!.fromText(row[key] ?? null)
    const actor: Record<string, Json> = {}
    for (const key of this.config.actorKeys) actor[key] = get(key)
    return {
      ...this.decodeReplayed(row),
      metadata: (get('metadata') ?? {}) as Record<string, Json>,
      occurredAt: get('occurredAt') as string,
      transactionId: get('transactionId') as string,
      actor,
    }
  }

  /** @internal the part of a stored row replay uses (a row selected with `replayed` columns, or a whole one). */
  decodeReplayed(row: RawRow): ReplayedEvent {
    const c = this.#replayedCodecs
    const recordId = c.recordId.fromText(row.recordId ?? null) as string
    const resource = c.resource.fromText(row.resource ?? null) as string
    const encoders = (c.encoders.fromText(row.encoders ?? null) ?? {}) as {
      data?: Record<string, string>
      changed?: Record<string, string>
    }
    const aad = (part: string, key: string) => `${resource}\u0000${recordId}\u0000${part}\u0000${key}`
    const data = reveal(
      (c.data.fromText(row.data ?? null) ?? {}) as Record<string, Json>,
      encoders.data,
      this.config.keys,
      (k) => aad('data', k),
    )
    const changed = reveal(
      (c.changedAttributes.fromText(row.changedAttributes ?? null) ?? {}) as Record<string, Json>,
      encoders.changed,
      this.config.keys,
      (k) => aad('changed', k),
    )
    const idValue = c.id.fromText(row.id ?? null)
    const revealedEncoders: { data?: Record<string, string>; changed?: Record<string, string> } = {}
    if (data.encoders) revealedEncoders.data = data.encoders
    if (changed.encoders) revealedEncoders.changed = changed.encoders
    return {
      id:
        typeof idValue === 'string' && this.config.idMode === 'bigint'
          ? Number(idValue)
          : (idValue as number | string),
      position: Number(row.position),
      recordId,
      resource,
      action: c.action.fromText(row.action ?? null) as string,
      actionType: c.actionType.fromText(row.actionType ?? null) as RewindEvent['actionType'],
      version: c.version.fromText(row.version ?? null) as number,
      data: data.values,
      changedAttributes: changed.values,
      encoders: revealedEncoders,
      tenant: c.tenant.fromText(row.tenant ?? null) as string | null,
    }
  }
}

function tenantText(tenant: unknown): string {
  return typeof tenant === 'string' ? tenant : JSON.stringify(tenant)
}

/**
 * The event's time: the configured create or update timestamp column when this action set it, else the
 * database's clock (`clock_timestamp()`, when the event is inserted). An update that leaves the column as it
 * was happened now, not when the column was last set.
 */
function occurredAt(event: WriteEvent): string | null {
  const ev = event.resource.events
  const { after, before } = event
  const ts = (key: string | undefined): string | null => {
    if (!key || !after) return null
    const v = after.get(key)
    if (typeof v !== 'string') return null
    if (before !== undefined && sameJson(before.get(key), v)) return null
    return /[zZ]|[+-]\d\d(:?\d\d)?$/.test(v) ? v : `${v}Z`
  }
  if (event.actionType === 'create') {
    if (event.upsert === 'updated') {
      const created = ts(ev.createTimestamp)
      const updated = ts(ev.updateTimestamp)
      if (updated && (!created || updated > created)) return updated
      return created
    }
    return ts(ev.createTimestamp)
  }
  if (event.actionType === 'update') return ts(ev.updateTimestamp)
  return null
}

/** Replaces sensitive values by ciphertext (with a key) or by null marked redacted (without one). */
function protect(
  values: Readonly<Record<string, Json>>,
  encoders: Readonly<Record<string, string>>,
  sensitive: ReadonlySet<string>,
  keys: KeyProvider | undefined,
  aad: (key: string) => string,
): { values: Record<string, Json>; encoders: Record<string, string> } {
  const out: Record<string, Json> = {}
  const enc: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) {
    const inner = encoders[key]
    if (sensitive.has(key) && value !== null) {
      if (keys) {
        out[key] = encrypt(keys, JSON.stringify(inner ? { v: value, e: inner } : { v: value }), aad(key))
        enc[key] = ENCRYPTED
      } else {
        out[key] = null
        enc[key] = REDACTED
      }
      continue
    }
    out[key] = value
    if (inner) enc[key] = inner
  }
  return { values: out, encoders: enc }
}

/** Decrypts what {@link protect} encrypted; values whose key is gone read as null, marked erased. */
function reveal(
  values: Readonly<Record<string, Json>>,
  encoders: Readonly<Record<string, string>> | undefined,
  keys: KeyProvider | undefined,
  aad: (key: string) => string,
): { values: Record<string, Json>; encoders: Record<string, string> | undefined } {
  // Most events have no encoder at all: the freshly parsed payload is already what the caller gets.
  if (encoders === undefined || Object.keys(encoders).length === 0)
    return { values: values as Record<string, Json>, encoders: undefined }
  const out: Record<string, Json> = {}
  const enc: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) {
    const e = encoders[key]
    if (e === ENCRYPTED && isCiphertext(value)) {
      const plain = keys ? decrypt(keys, value, aad(key)) : undefined
      if (plain === undefined) {
        out[key] = null
        enc[key] = keys ? ERASED : ENCRYPTED
        if (!keys) out[key] = value
        continue
      }
      const parsed = JSON.parse(plain) as { v: Json; e?: string }
      out[key] = parsed.v
      if (parsed.e) enc[key] = parsed.e
      continue
    }
    out[key] = value
    if (e) enc[key] = e
  }
  return { values: out, encoders: Object.keys(enc).length > 0 ? enc : undefined }
}
