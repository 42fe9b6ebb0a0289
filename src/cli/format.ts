import type { RewindEvent } from '../events/event.js'
import type { Rewind } from '../runtime/rewind.js'

/** What people see in place of a sensitive value unless `--reveal` is given. */
export const MASK = '•••'

/** The marker of a masked value in `--json` output: `{"$masked":true}`. */
export interface Masked {
  readonly $masked: true
}

/**
 * What stands in for a sensitive value in the data the commands print: it serialises as `{"$masked":true}`
 * in JSON, so scripts can tell a masked value from a string that happens to read •••, and
 * {@link showValue} shows it as {@link MASK}.
 */
export const MASKED: Masked = Object.freeze({ $masked: true })

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

/** The keys of a resource that are sensitive (masked in output unless revealed). */
export type SensitiveKeys = (resource: string) => ReadonlySet<string>

/** Sensitive keys per resource name, from the app's definitions (none for a resource it no longer has). */
export function sensitiveKeys(rewind: Rewind<any>, reveal: boolean): SensitiveKeys {
  const none = new Set<string>()
  return (name) => (reveal ? none : (rewind.resources.get(name)?.sensitive ?? none))
}

/** A sensitive value as printed: {@link MASKED}, except that null stays null (it reveals nothing). */
export function maskValue(value: unknown): unknown {
  return value === null ? null : MASKED
}

/** A copy of a record or payload with sensitive values replaced by {@link MASKED} (nulls stay null). */
export function masked<T extends Readonly<Record<string, unknown>>>(
  values: T,
  sensitive: ReadonlySet<string>,
): T {
  if (sensitive.size === 0) return values
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(values)) out[k] = sensitive.has(k) ? maskValue(v) : v
  return out as T
}

/** An event with its sensitive payload values masked. */
export function maskEvent<E extends RewindEvent>(event: E, sensitive: SensitiveKeys): E {
  const keys = sensitive(event.resource)
  if (keys.size === 0) return event
  return {
    ...event,
    data: masked(event.data, keys),
    changedAttributes: masked(event.changedAttributes, keys),
  }
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
