import type { RewindEvent } from '../events/event.js'
import { MASK, MASKED } from '../runtime/masking.js'

/**
 * JSON text of a value as the CLI prints it: bigints as digit strings, binary data as base64 (the log's own
 * encoding), dates as ISO 8601.
 */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key, v: unknown) {
      const raw = key === '' ? value : this[key]
      if (typeof raw === 'bigint') return raw.toString()
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString('base64')
      if (raw instanceof Date) return raw.toISOString()
      return v
    },
    indent,
  )
}

/**
 * One value in a human line: JSON, so strings are quoted and `null` is not mistaken for a string; a masked
 * value is {@link MASK}.
 */
export function showValue(value: unknown): string {
  if (value === MASKED) return MASK
  return value === undefined ? 'undefined' : toJson(value)
}

/** `2026-01-31T12:00:00.123456Z` → `2026-01-31 12:00:00.123456` (headers say UTC). */
export function showTime(occurredAt: string): string {
  return occurredAt.replace('T', ' ').replace(/Z$/, '')
}

/** The actor columns that are set, as `column=value`, or `-` for an event without actor. */
export function showActor(event: Pick<RewindEvent, 'actor'>): string {
  const set = Object.entries(event.actor).filter(([, v]) => v !== null && v !== undefined)
  return set.length ? set.map(([k, v]) => `${k}=${typeof v === 'string' ? v : toJson(v)}`).join(' ') : '-'
}

/** `Resource.action vN`. */
export function showAction(event: Pick<RewindEvent, 'resource' | 'action' | 'version'>): string {
  return `${event.resource}.${event.action} v${event.version}`
}

/** Metadata as `key=value` pairs. */
export function showMetadata(metadata: Readonly<Record<string, unknown>>): string {
  return Object.entries(metadata)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : toJson(v)}`)
    .join(' ')
}

/**
 * What an event wrote, on one line: the input, then the other columns the action set, `key=value`.
 * The event must already be masked.
 */
export function showPayload(
  event: Pick<RewindEvent, 'data' | 'changedAttributes' | 'recordId'>,
  primaryKey?: string,
): string {
  const values: Record<string, unknown> = { ...event.data, ...event.changedAttributes }
  return (
    Object.entries(values)
      // The record's own id is in the RECORD column already.
      .filter(([k, v]) => !(k === primaryKey && (v === event.recordId || String(v) === event.recordId)))
      .map(([k, v]) => `${k}=${showValue(v)}`)
      .join(' ')
  )
}
