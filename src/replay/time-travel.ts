import { castMessage } from '../columns/messages.js'
import { type Json, sameJson } from '../columns/values.js'
import type { RawRow } from '../data/database.js'
import { appRecord, Params } from '../data/statements.js'
import { RewindError } from '../errors/rewind-error.js'
import { type ReplayedEvent, type RewindEvent, recordIdText } from '../events/event-log.js'
import type { AnyResource } from '../resource/define-resource.js'
import { quoteIdent } from '../schema/names.js'
import { UNAVAILABLE_ENCODERS } from './decode.js'
import type { Replayer } from './replay.js'

/** One field an event changed. */
export interface FieldChange {
  readonly from: Json
  readonly to: Json
}

/** An event in a record's history, with the field changes it made to that record. */
export interface HistoryEntry extends RewindEvent {
  /** The columns this event changed, with their values before and after (null before a create). */
  readonly changes: Readonly<Record<string, FieldChange>>
  /** True when the record no longer exists after this event. */
  readonly destroyed: boolean
}

/**
 * Where to stop: just after an event (by id: a number, or its digits as a string, for the default ids; a UUID
 * for `uuidv7` logs), or at a time (inclusive).
 */
export type PointInTime = { readonly eventId: number | string } | { readonly at: Date | string }

const PAGE = 1000

/**
 * Reads one record's past from the log alone, without touching its table: its history with field changes,
 * and its state at any event or time. Routed events (replay overrides) count where replay would apply them.
 */
export class TimeTravel {
  constructor(
    readonly replayer: Replayer,
    readonly query: (text: string, params: (string | null)[]) => Promise<RawRow[]>,
  ) {}

  /** Every event that applies to the record, oldest first, each with the field changes it made. */
  async history(resource: AnyResource, id: unknown): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = []
    await this.#fold<RewindEvent>(resource, id, undefined, 'all', (event, before, after) => {
      const changes: Record<string, FieldChange> = {}
      const keys = new Set([...(before?.keys() ?? []), ...(after?.keys() ?? [])])
      for (const key of keys) {
        const from = before?.get(key) ?? null
        const to = after?.get(key) ?? null
        if (!sameJson(from, to)) changes[key] = { from, to }
      }
      out.push({ ...event, changes, destroyed: after === undefined })
    })
    return out
  }

  /** The record as it was just after `point` (undefined before it existed or after it was destroyed). */
  async stateAt(
    resource: AnyResource,
    id: unknown,
    point: PointInTime,
  ): Promise<Record<string, unknown> | undefined> {
    const state = await this.canonicalStateAt(resource, id, point)
    return state ? appRecord(resource, state) : undefined
  }

  /**
   * @internal {@link stateAt} before the conversion to app values: each column's canonical value, as the log
   * holds it (timestamps with their microseconds, which a Date would lose). For the CLI.
   */
  async canonicalStateAt(
    resource: AnyResource,
    id: unknown,
    point: PointInTime,
  ): Promise<Map<string, Json> | undefined> {
    if (!point || typeof point !== 'object' || (!('eventId' in point) && !('at' in point))) {
      throw new RewindError('VALIDATION', `${resource.name}.stateAt: pass { eventId } or { at }`, {
        resource: resource.name,
        issues: [{ path: [], message: 'expected { eventId } or { at }' }],
      })
    }
    let state: Map<string, Json> | undefined
    // Only the columns that make up the state are read and decoded.
    await this.#fold<ReplayedEvent>(resource, id, point, 'replayed', (_event, _before, after) => {
      state = after
    })
    return state
  }

  /** Walks the record's events in position order up to `point`, calling `visit` with the state before and after. */
  async #fold<E extends ReplayedEvent>(
    resource: AnyResource,
    id: unknown,
    point: PointInTime | undefined,
    columns: E extends RewindEvent ? 'all' : 'replayed',
    visit: (event: E, before: Map<string, Json> | undefined, after: Map<string, Json> | undefined) => void,
  ): Promise<void> {
    const log = this.replayer.log
    const col = (key: string) => quoteIdent(log.codecs.get(key)!.name)
    const cast = resource.codecs.get(resource.primaryKey)!.fromApp(id)
    if (!cast.ok) {
      const message = castMessage(cast, resource.sensitive.has(resource.primaryKey))
      throw new RewindError('VALIDATION', `${resource.name}: invalid id: ${message}`, {
        resource: resource.name,
        issues: [{ path: ['id'], message }],
      })
    }
    const params = new Params()
    // The record's own events, and events of other (resource, action) pairs that overrides route to it.
    const sources = [`${col('resource')} = ${params.raw(resource.name)}`]
    for (const o of log.config.replayOverrides) {
      if (!o.routeTo.some(([target]) => target === resource)) continue
      const name = typeof o.resource === 'string' ? o.resource : o.resource.name
      if (name === resource.name) continue
      sources.push(
        `(${col('resource')} = ${params.raw(name)} AND ${col('action')} = ${params.raw(o.action)})`,
      )
    }
    let where = `${col('recordId')} = ${params.raw(recordIdText(cast.value))} AND (${sources.join(' OR ')})`
    if (point && 'eventId' in point) {
      const position = await log.positionOf(this.query, point.eventId, 'stateAt: eventId')
      if (position === undefined)
        throw new RewindError('NOT_FOUND', `stateAt: no event with id ${JSON.stringify(point.eventId)}`, {
          details: { eventId: point.eventId },
        })
      where += ` AND ${col('position')} <= ${params.raw(String(position), 'int8')}`
    } else if (point && 'at' in point) {
      const at = log.codecs.get('occurredAt')!.fromApp(point.at)
      if (!at.ok || at.value === null) {
        const message = at.ok ? 'is required' : at.message
        throw new RewindError('VALIDATION', `stateAt: at: ${message}`, {
          issues: [{ path: ['at'], message }],
        })
      }
      where += ` AND ${col('occurredAt')} <= ${params.raw(at.value as string, 'timestamptz')}`
    }
    let state: Map<string, Json> | undefined
    let after: number | undefined
    for (;;) {
      const values = [...params.values]
      let w = where
      if (after !== undefined) {
        values.push(String(after))
        w += ` AND ${col('position')} > $${values.length}::int8`
      }
      const rows = await this.query(log.selectSql(w, PAGE, columns), values)
      for (const row of rows) {
        const event = (columns === 'all' ? log.decode(row) : log.decodeReplayed(row)) as E
        for (const [target, action] of this.replayer.route(event)) {
          if (target !== resource) continue
          const before = state
          state = applyEvent(target, action, event, state)
          visit(event, before, state)
        }
        after = event.position
      }
      if (rows.length < PAGE) return
    }
  }
}

/** The state after one event, from its recorded values: what a forceChange replay writes. */
function applyEvent(
  resource: AnyResource,
  action: string,
  event: ReplayedEvent,
  state: Map<string, Json> | undefined,
) {
  const def = resource.actions[action] as {
    kind: string
    accept: readonly string[]
    soft: boolean
    upsert?: unknown
  }
  const dataEnc = event.encoders.data ?? {}
  const changedEnc = event.encoders.changed ?? {}
  const set = new Map<string, Json>()
  for (const key of def.accept) {
    if (Object.hasOwn(event.data, key) && !UNAVAILABLE_ENCODERS.has(dataEnc[key] ?? ''))
      set.set(key, event.data[key]!)
  }
  for (const [key, value] of Object.entries(event.changedAttributes)) {
    if (resource.codecs.has(key) && !UNAVAILABLE_ENCODERS.has(changedEnc[key] ?? '')) set.set(key, value)
  }
  if (def.kind === 'destroy' && !def.soft) return undefined
  if (def.kind === 'create' && !(def.upsert && state)) {
    const fresh = new Map<string, Json>()
    for (const key of resource.codecs.keys()) fresh.set(key, null)
    fresh.set(resource.primaryKey, resource.codecs.get(resource.primaryKey)!.fromText(event.recordId))
    for (const [k, v] of set) fresh.set(k, v)
    return fresh
  }
  if (!state) return state
  const next = new Map(state)
  for (const [k, v] of set) next.set(k, v)
  return next
}
