import { castMessage } from '../columns/messages.js'
import { type Json, sameJson } from '../columns/values.js'
import { RewindError } from '../errors/rewind-error.js'
import { type ReplayedEvent, type RewindEvent, recordIdText } from '../events/event.js'
import type { EventLog } from '../events/event-log.js'
import type { Reader } from '../events/store/event-table.js'
import type { EventSelection } from '../events/store/selection.js'
import type { AnyResource } from '../resource/define-resource.js'
import { appRecord, type Row } from '../rows/records.js'
import { stateAfter } from './recorded-values.js'
import type { Routes } from './routes.js'

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
    readonly log: EventLog,
    readonly routes: Routes,
    /** Where the log is read (the database, outside any transaction). */
    readonly reader: Reader,
  ) {}

  /** Every event that applies to the record, oldest first, each with the field changes it made. */
  async history(resource: AnyResource, id: unknown): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = []
    await this.fold<RewindEvent>(resource, id, undefined, 'all', (event, before, after) => {
      out.push({ ...event, changes: changesBetween(before, after), destroyed: after === undefined })
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
  async canonicalStateAt(resource: AnyResource, id: unknown, point: PointInTime): Promise<Row | undefined> {
    if (!point || typeof point !== 'object' || (!('eventId' in point) && !('at' in point))) {
      throw new RewindError('VALIDATION', `${resource.name}.stateAt: pass { eventId } or { at }`, {
        resource: resource.name,
        issues: [{ path: [], message: 'expected { eventId } or { at }' }],
      })
    }
    let state: Row | undefined
    // Only the columns that make up the state are read and decoded.
    await this.fold<ReplayedEvent>(resource, id, point, 'replayed', (_event, _before, after) => {
      state = after
    })
    return state
  }

  /**
   * @internal walks the record's events in position order up to `point`, calling `visit` with the state before
   * and after (canonical values; undefined where the record does not exist). With `replayed`, only the columns
   * that make up the state are read: a view of a long history reads the rest for the events it shows.
   */
  async fold<E extends ReplayedEvent>(
    resource: AnyResource,
    id: unknown,
    point: PointInTime | undefined,
    columns: E extends RewindEvent ? 'all' : 'replayed',
    visit: (event: E, before: Row | undefined, after: Row | undefined) => void,
  ): Promise<void> {
    const store = this.log.store
    const cast = resource.codecs.get(resource.primaryKey)!.fromApp(id)
    if (!cast.ok) {
      const message = castMessage(cast, resource.sensitive.has(resource.primaryKey))
      throw new RewindError('VALIDATION', `${resource.name}: invalid id: ${message}`, {
        resource: resource.name,
        issues: [{ path: ['id'], message }],
      })
    }
    // The record's own events, and events of other (resource, action) pairs that overrides route to it.
    let selection: EventSelection = {
      recordId: recordIdText(cast.value),
      sources: [{ resource: resource.name }, ...this.routes.sourcesOf(resource)],
    }
    if (point && 'eventId' in point) {
      const position = await store.positionOf(this.reader, point.eventId, 'stateAt: eventId')
      if (position === undefined)
        throw new RewindError('NOT_FOUND', `stateAt: no event with id ${JSON.stringify(point.eventId)}`, {
          details: { eventId: point.eventId },
        })
      selection = { ...selection, untilPosition: position }
    } else if (point && 'at' in point) {
      const at = store.table.codecs.get('occurredAt')!.fromApp(point.at)
      if (!at.ok || at.value === null) {
        const message = at.ok ? 'is required' : at.message
        throw new RewindError('VALIDATION', `stateAt: at: ${message}`, {
          issues: [{ path: ['at'], message }],
        })
      }
      selection = { ...selection, to: at.value as string }
    }
    let state: Row | undefined
    for (;;) {
      const events = (await store.scan(this.reader, selection, PAGE, columns as 'all')) as unknown as E[]
      for (const event of events) {
        for (const [target, action] of this.routes.route(event)) {
          if (target !== resource) continue
          const before = state
          state = stateAfter(target, this.routes.shape(target, action), event, state)
          visit(event, before, state)
        }
      }
      if (events.length < PAGE) return
      selection = { ...selection, afterPosition: events[events.length - 1]!.position }
    }
  }
}

/** The columns whose values differ between two states, with both values (null where unset or absent). */
export function changesBetween(
  before: ReadonlyMap<string, Json> | undefined,
  after: ReadonlyMap<string, Json> | undefined,
): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {}
  const keys = new Set([...(before?.keys() ?? []), ...(after?.keys() ?? [])])
  for (const key of keys) {
    const from = before?.get(key) ?? null
    const to = after?.get(key) ?? null
    if (!sameJson(from, to)) changes[key] = { from, to }
  }
  return changes
}
