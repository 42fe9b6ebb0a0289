import { type Json, sameJson } from '../columns/values.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { Row } from '../rows/records.js'
import { hasKeys } from '../util/has-keys.js'
import type { ActionEvent } from './event.js'
import { encodeArgument } from './payload.js'

/** An action as capture needs it: what was asked, by whom, in which tenant. */
export interface ActionInput {
  readonly resource: AnyResource
  readonly action: string
  readonly actionType: 'create' | 'update' | 'destroy'
  /** Accepted columns the caller passed, cast to canonical values. */
  readonly castAttributes: ReadonlyMap<string, Json>
  /** Arguments as the caller passed them, and as their schemas parsed them. */
  readonly argInputs: Readonly<Record<string, unknown>>
  readonly args: Readonly<Record<string, unknown>>
  readonly actor: unknown
  /** The tenant as its column stores it (canonical), or undefined for a resource without tenants. */
  readonly tenant: Json | undefined
  readonly metadata: Readonly<Record<string, unknown>>
}

/** What the pipeline hands over once an action's row is written, in the action's transaction. */
export interface WrittenAction extends ActionInput {
  /** The row before the write (undefined for a create, or an upsert that inserted) and after (undefined once deleted). */
  readonly before: Row | undefined
  readonly after: Row | undefined
}

/** An event ready to store: the public {@link ActionEvent}, and what the log needs besides. */
export interface CapturedEvent extends ActionEvent {
  readonly source: AnyResource
  /** Encoders of `data` values JSON cannot hold as such (see payload.ts). */
  readonly dataEncoders: Readonly<Record<string, string>>
  /** When it happened, if a timestamp column of the action says so (else the database's clock at insert). */
  readonly occurredAt: string | null
}

/**
 * The event of a written action. `data` is the caller's input (accepted columns cast, arguments encoded);
 * `changedAttributes` every other column the action set (a create: every non-null column, and columns with
 * a database default) or changed (an update: compared with the row as it was locked), plus input columns
 * whose stored value differs from the input (a change overrode them), plus foreign keys always.
 */
export function captureEvent(w: WrittenAction): CapturedEvent {
  const { resource, before, after } = w
  const { data, dataEncoders } = capturedData(w)
  const changed: Record<string, Json> = {}
  if (after) {
    for (const [key, value] of after) {
      if (isInput(w, data, key)) {
        // An input column whose stored value differs from the input (a change overrode it) is recorded too.
        if (!sameJson(data[key], value)) changed[key] = value
        continue
      }
      // A create records every column it set (NULLs are what an insert without the column gives anyway).
      if (
        before === undefined
          ? value !== null || hasDatabaseDefault(resource, key)
          : !sameJson(before.get(key), value)
      ) {
        changed[key] = value
      }
    }
  }
  const recordId = (after ?? before)!.get(resource.primaryKey)!
  if (after && before === undefined) changed[resource.primaryKey] = recordId
  return captured(w, recordId, data, dataEncoders, changed, occurredAt(w))
}

/** The caller's input as the event's `data`: accepted columns cast, arguments encoded (see payload.ts). */
export function capturedData(w: ActionInput): {
  data: Record<string, Json>
  dataEncoders: Record<string, string>
} {
  const data: Record<string, Json> = {}
  const dataEncoders: Record<string, string> = {}
  for (const [key, value] of w.castAttributes) {
    data[key] = value
    const enc = w.resource.codecs.get(key)!.encoder
    if (enc) dataEncoders[key] = enc
  }
  // Most actions declare no arguments: their (empty) inputs are not listed.
  if (hasKeys(w.argInputs))
    for (const [key, value] of Object.entries(w.argInputs)) {
      if (value === undefined) continue
      const enc = encodeArgument(w.args[key] !== undefined ? w.args[key] : value)
      data[key] = enc.value
      if (enc.encoder) dataEncoders[key] = enc.encoder
    }
  return { data, dataEncoders }
}

/** An input column (not a foreign key): recorded in `changed_attributes` only when its stored value differs from the input. */
export function isInput(w: ActionInput, data: Record<string, Json>, key: string): boolean {
  return Object.hasOwn(data, key) && w.castAttributes.has(key) && !w.resource.foreignKeys.has(key)
}

export function captured(
  w: ActionInput,
  recordId: Json,
  data: Record<string, Json>,
  dataEncoders: Record<string, string>,
  changed: Record<string, Json>,
  occurredAt: string | null,
): CapturedEvent {
  return {
    source: w.resource,
    resource: w.resource.name,
    action: w.action,
    actionType: w.actionType,
    recordId,
    data,
    dataEncoders,
    changedAttributes: changed,
    tenant: w.tenant,
    actor: w.actor,
    metadata: w.metadata,
    occurredAt,
  }
}

/** A NULL in such a column is recorded: leaving it out of a replayed insert would give the default instead. */
export function hasDatabaseDefault(resource: AnyResource, key: string): boolean {
  const col = resource.codecs.get(key)?.column as unknown as
    | { hasDefault?: boolean; defaultFn?: unknown }
    | undefined
  return col?.hasDefault === true && col.defaultFn === undefined
}

/**
 * The event's time: the configured create or update timestamp column when this action set it (an upsert that
 * updated: the later of the two it set), else null for the database's clock (`clock_timestamp()`, when the
 * event is inserted). An update that leaves the column as it was happened now, not when the column was last set.
 */
function occurredAt(w: WrittenAction): string | null {
  const ev = w.resource.events
  const { after, before } = w
  const ts = (key: string | undefined): string | null => {
    if (!key || !after) return null
    const v = after.get(key)
    if (typeof v !== 'string') return null
    if (before !== undefined && sameJson(before.get(key), v)) return null
    return asUtc(v)
  }
  if (w.actionType === 'create') {
    if (before !== undefined) {
      const created = ts(ev.createTimestamp)
      const updated = ts(ev.updateTimestamp)
      if (updated && (!created || updated > created)) return updated
      return created
    }
    return ts(ev.createTimestamp)
  }
  if (w.actionType === 'update') return ts(ev.updateTimestamp)
  return null
}

/** A canonical timestamp as a time: a timestamp without time zone is taken as UTC. */
export function asUtc(v: string): string {
  // Canonical timestamptz values end in Z.
  if (v.charCodeAt(v.length - 1) === 90) return v
  return /[zZ]|[+-]\d\d(:?\d\d)?$/.test(v) ? v : `${v}Z`
}
