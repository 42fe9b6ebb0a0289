import type { Json } from '../columns/values.js'
import type { AnyResource } from '../resource/define-resource.js'

/** Per-field encoders of an event's payloads: how to turn a stored JSON value back into the column's value. */
export interface EventEncoders {
  readonly data?: Readonly<Record<string, string>>
  readonly changed?: Readonly<Record<string, string>>
}

/**
 * An event as an action makes it, before the log stores it: what `ordering.advisoryLock` functions see.
 * Values are canonical (see columns/); sensitive values are still in the clear here (the log encrypts or
 * redacts them when it stores the event).
 */
export interface ActionEvent {
  /** The resource's name. */
  readonly resource: string
  readonly action: string
  readonly actionType: 'create' | 'update' | 'destroy'
  /** The record's primary key, canonical. */
  readonly recordId: Json
  /** The caller's input: accepted columns cast to canonical values, and arguments as encoded JSON. */
  readonly data: Readonly<Record<string, Json>>
  /** Every other column the action set or changed, read back from the database. */
  readonly changedAttributes: Readonly<Record<string, Json>>
  /** The tenant as its column stores it, or undefined for a resource without tenants. */
  readonly tenant: Json | undefined
  readonly actor: unknown
  readonly metadata: Readonly<Record<string, unknown>>
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
export const NOT_REPLAYED = ['metadata', 'occurredAt', 'transactionId'] as const

/** What replay reads of an event: everything it needs to re-run the action, nothing it would decode in vain. */
export type ReplayedEvent = Omit<RewindEvent, (typeof NOT_REPLAYED)[number] | 'actor'>

/** Filters of `rewind.events()`; every one is optional and they combine with AND. */
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

/** Text of a canonical primary-key value, as stored in `record_id`. */
export function recordIdText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}
