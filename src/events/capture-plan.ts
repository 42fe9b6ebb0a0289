import { type Json, sameJson } from '../columns/values.js'
import type { Row } from '../rows/records.js'
import {
  type ActionInput,
  asUtc,
  type CapturedEvent,
  captured,
  capturedData,
  hasDatabaseDefault,
  isInput,
} from './capture.js'

/** An action about to be written, for an event captured in the same statement as its row (see planCapture). */
export interface PlannedAction extends ActionInput {
  readonly write: 'insert' | 'update' | 'delete'
  /** The canonical values the write sets. */
  readonly values: Row
  /** The record's id when it is known before the write (every write but an insert whose key the database makes). */
  readonly id: Json | undefined
}

/**
 * A `changed_attributes` entry only the written row can tell:
 * - `filled`: an insert's column the database fills (a default, an identity, a generated column); recorded
 *   always when it has a database default, else when not null;
 * - `changed`: an update's column set to `value`, recorded when the row held another value;
 * - `recomputed`: an update's generated column, recorded when its value changed.
 */
export type DeferredChange =
  | { readonly key: string; readonly when: 'filled'; readonly always: boolean }
  | { readonly key: string; readonly when: 'changed'; readonly value: Json }
  | { readonly key: string; readonly when: 'recomputed' }

/** `occurred_at` from the written row: an insert's create timestamp the database fills, an update's timestamp when it changed. */
export type DeferredTime =
  | { readonly key: string; readonly when: 'filled' }
  | { readonly key: string; readonly when: 'changed'; readonly value: Json; readonly time: string }

/** The event of a write, as far as it is known before the write, and what the written row completes. */
export interface CapturePlan {
  /** What is known: `recordId` is undefined when the database makes the key; `changedAttributes` lacks the deferred entries. */
  readonly event: CapturedEvent
  readonly deferred: readonly DeferredChange[]
  readonly occurredAt: DeferredTime | undefined
}

/**
 * The event of a write planned before the write, for the event to be inserted in the same statement as the row
 * (one round trip). It gives exactly what captureEvent gives from the row images, given that nothing but the
 * write changes the row (no trigger: the caller checks): an insert records the values it sets and the columns
 * the database fills, an update the columns it sets whose value it changes and the generated columns that
 * change. Undefined when the database cannot finish it (a sensitive value the database would have to encrypt,
 * a key the database makes for an event with sensitive values, which are bound to the record id).
 */
export function planCapture(p: PlannedAction): CapturePlan | undefined {
  const { resource, values } = p
  const { data, dataEncoders } = capturedData(p)
  const changed: Record<string, Json> = {}
  const deferred: DeferredChange[] = []
  let occurredAt: string | null = null
  let time: DeferredTime | undefined
  let recordId = p.id
  if (p.write === 'insert') {
    for (const codec of resource.codecs.values()) {
      const key = codec.key
      const v = values.get(key)
      if (v !== undefined) {
        if (isInput(p, data, key)) {
          if (!sameJson(data[key], v)) changed[key] = v
        } else if (v !== null || hasDatabaseDefault(resource, key)) changed[key] = v
        continue
      }
      const col = codec.column as unknown as {
        hasDefault?: boolean
        generatedIdentity?: unknown
        generated?: unknown
      }
      if (!col.hasDefault && !col.generatedIdentity && !col.generated) continue
      if (resource.sensitive.has(key)) return undefined
      deferred.push({
        key,
        when: 'filled',
        always: hasDatabaseDefault(resource, key) || key === resource.primaryKey,
      })
    }
    recordId = values.get(resource.primaryKey) ?? undefined
    if (recordId !== undefined) changed[resource.primaryKey] = recordId
    else if (!deferred.some((d) => d.key === resource.primaryKey)) return undefined
    const ts = resource.events.createTimestamp
    if (ts) {
      const v = values.get(ts)
      if (typeof v === 'string') occurredAt = asUtc(v)
      else if (v === undefined && deferred.some((d) => d.key === ts)) time = { key: ts, when: 'filled' }
    }
  } else if (p.write === 'update') {
    for (const [key, v] of values) {
      if (isInput(p, data, key)) {
        if (!sameJson(data[key], v)) changed[key] = v
      } else deferred.push({ key, when: 'changed', value: v })
    }
    for (const key of resource.generatedColumns) {
      if (values.has(key)) continue
      if (resource.sensitive.has(key)) return undefined
      deferred.push({ key, when: 'recomputed' })
    }
    const ts = resource.events.updateTimestamp
    const v = ts ? values.get(ts) : undefined
    if (p.actionType === 'update' && ts && typeof v === 'string')
      time = { key: ts, when: 'changed', value: v, time: asUtc(v) }
  }
  // Sensitive values are encrypted with the record id as associated data: the id must be known.
  if (
    recordId === undefined &&
    [...resource.sensitive].some((k) => data[k] !== undefined || values.get(k) != null)
  )
    return undefined
  const event = captured(p, recordId ?? null, data, dataEncoders, changed, occurredAt)
  return { event, deferred, occurredAt: time }
}

/**
 * The plan of an update that writes only if each of `keys` changes (its statement guards them: see
 * rows/row-statements.ts updatePlan): their deferred `changed` entries are known changes, and an event time
 * taken from one of them is known. Undefined when the plan defers anything else, which only the row as it was
 * can tell.
 */
export function assumingChanged(plan: CapturePlan, keys: readonly string[]): CapturePlan | undefined {
  const known = (key: string) => keys.includes(key)
  if (plan.deferred.length === 0) return undefined
  if (!plan.deferred.every((d) => d.when === 'changed' && known(d.key))) return undefined
  const time = plan.occurredAt
  if (time !== undefined && (time.when !== 'changed' || !known(time.key))) return undefined
  const changedAttributes = { ...plan.event.changedAttributes }
  for (const d of plan.deferred) if (d.when === 'changed') changedAttributes[d.key] = d.value
  return {
    event: { ...plan.event, changedAttributes, occurredAt: time?.time ?? plan.event.occurredAt },
    deferred: [],
    occurredAt: undefined,
  }
}
