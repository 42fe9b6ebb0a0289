import { parseTimestamp } from '../data/pg-text.js'
import { isLogSnapshot, type LogSnapshot } from '../events/store/read-since.js'
import type { AnyResource } from '../resource/define-resource.js'
import { parseRecordId } from '../runtime/record-id.js'

/**
 * A parameter of the URL that is malformed: the studio answers 400 with a page (or text) that names the
 * parameter and says what was expected. Never a stack trace.
 */
export class BadRequest extends Error {
  override readonly name = 'BadRequest'
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`)
  }
}

/** What a malformed value looked like, shortened (it is shown back to the person, escaped). */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
}

/** The value of a query parameter; empty means absent (an empty filter field of a form). */
export function optional(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name)
  if (all.length > 1) throw new BadRequest(name, `given ${all.length} times; expected once`)
  const v = all[0]?.trim()
  return v === undefined || v === '' ? undefined : v
}

/**
 * A time: ISO 8601 (`2026-01-31`, `2026-01-31T12:00`, `2026-01-31 12:00:00.123456+02:00`); no offset means
 * UTC. Returned as text, so microseconds survive.
 */
export function timeParam(query: URLSearchParams, name: string): string | undefined {
  const text = optional(query, name)
  if (text === undefined) return undefined
  const candidate = /^\d{4,6}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00` : text
  const parsed = parseTimestamp(candidate)
  if (!parsed || parsed.rounded) {
    throw new BadRequest(
      name,
      `${shown(text)} is not a time: expected ISO 8601 such as 2026-01-31 or 2026-01-31T12:00:00Z (UTC unless an offset is given, at most 6 fractional digits)`,
    )
  }
  return parsed.hasZone ? candidate : `${candidate}Z`
}

/** A whole number within bounds. */
export function wholeParam(
  query: URLSearchParams,
  name: string,
  range: { readonly min?: number; readonly max?: number } = {},
): number | undefined {
  const text = optional(query, name)
  if (text === undefined) return undefined
  const min = range.min ?? 0
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new BadRequest(name, `${shown(text)} is not a whole number from ${min} to ${max}`)
  }
  return n
}

/** One of a fixed set of words. */
export function choiceParam<const C extends string>(
  query: URLSearchParams,
  name: string,
  choices: readonly C[],
): C | undefined {
  const text = optional(query, name)
  if (text === undefined) return undefined
  if (!(choices as readonly string[]).includes(text)) {
    throw new BadRequest(name, `${shown(text)} is not one of ${choices.join(', ')}`)
  }
  return text as C
}

/** An event id: digits for the default ids, a UUID for uuidv7 logs. */
export function eventIdText(name: string, text: string): number | string {
  if (/^\d{1,15}$/.test(text)) return Number(text)
  if (/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(text)) return text
  throw new BadRequest(name, `${shown(text)} is not an event id (a number, or a UUID for uuidv7 logs)`)
}

/** An optional event id parameter. */
export function eventIdParam(query: URLSearchParams, name: string): number | string | undefined {
  const text = optional(query, name)
  return text === undefined ? undefined : eventIdText(name, text)
}

/** A resource of the app, by name. */
export function resourceText(
  name: string,
  text: string,
  resources: ReadonlyMap<string, AnyResource>,
): AnyResource {
  const resource = resources.get(text)
  if (!resource) {
    throw new BadRequest(
      name,
      `${shown(text)} is not a resource of this app (resources: ${[...resources.keys()].join(', ') || 'none'})`,
    )
  }
  return resource
}

/** A record id of a resource, as the primary key's app value. */
export function recordIdText(name: string, resource: AnyResource, text: string): unknown {
  if (text.length > 1000) throw new BadRequest(name, 'is longer than 1000 characters')
  const parsed = parseRecordId(resource, text)
  if (!parsed.ok) throw new BadRequest(name, `${shown(text)} is not a ${resource.name} id: ${parsed.message}`)
  return parsed.id
}

/** A moment of the log, as the studio handed it out (the live stream's cursor). */
export function snapshotText(name: string, text: string): LogSnapshot {
  if (!isLogSnapshot(text)) throw new BadRequest(name, `${shown(text)} is not a log snapshot (xmin:xmax:xip)`)
  return text
}
