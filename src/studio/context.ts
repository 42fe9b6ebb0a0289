import type { EventLog } from '../events/event-log.js'
import type { Reader } from '../events/store/event-table.js'
import type { SensitiveKeys } from '../runtime/masking.js'
import type { Rewind } from '../runtime/rewind.js'
import type { Activity } from './activity.js'

/** What every page and stream of one studio reads with. */
export interface StudioContext {
  readonly rewind: Rewind<any>
  readonly log: EventLog
  /** Reads, each planned for its own values (see app.ts). */
  readonly reader: Reader
  /** Sensitive values are shown (started with --reveal). */
  readonly reveal: boolean
  readonly sensitive: SensitiveKeys
  /** The resources events may carry: the app's, and those replay overrides name. */
  readonly resourceNames: readonly string[]
  readonly activity: Activity
  /** How often a live page asks the log for new events. */
  readonly liveIntervalMs: number
}

/** A path with query parameters (absent and empty ones left out). */
export function href(
  path: string,
  params: Readonly<Record<string, string | number | undefined>> = {},
): string {
  const query = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, String(v))
  const text = query.toString()
  return text ? `${path}?${text}` : path
}

/** The page of one record. */
export function recordHref(
  resource: string,
  recordId: string,
  params: Readonly<Record<string, string | number | undefined>> = {},
): string {
  return href(`/records/${encodeURIComponent(resource)}/${encodeURIComponent(recordId)}`, params)
}

/** The page of one event. */
export function eventHref(id: number | string): string {
  return `/events/${encodeURIComponent(String(id))}`
}
