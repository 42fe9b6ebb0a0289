import { type Json, jsonProblem, MAX_JSON_DEPTH } from '../columns/values.js'
import { hasKeys } from '../util/has-keys.js'

/**
 * An action's metadata as the event stores it (jsonb): JSON, with every valid `Date` anywhere inside it as its
 * ISO 8601 string (what `JSON.stringify` would write, made explicit so the check below sees JSON only). Any
 * other value JSON cannot hold exactly (an invalid Date, a bigint, a Map, NaN...) is refused with the reason.
 */
export function metadataJson(
  metadata: unknown,
): { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly problem: string } {
  // No metadata (most actions): nothing to copy or check.
  if (isEmptyPlainObject(metadata)) return EMPTY
  let problem: string | undefined
  const copy = (value: unknown, depth: number): unknown => {
    if (problem !== undefined) return undefined
    if (depth > MAX_JSON_DEPTH) {
      problem = `is nested deeper than ${MAX_JSON_DEPTH} levels`
      return undefined
    }
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) problem = 'holds an invalid Date'
      return Number.isNaN(value.getTime()) ? undefined : value.toISOString()
    }
    if (Array.isArray(value)) return value.map((item) => copy(item, depth + 1))
    if (typeof value !== 'object' || value === null) return value
    const proto = Object.getPrototypeOf(value)
    // Other objects are left as they are, for jsonProblem to name what they are.
    if (proto !== Object.prototype && proto !== null) return value
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      // Defined as own data properties, so a key named __proto__ stays data and never touches a prototype.
      Object.defineProperty(out, k, {
        value: copy(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  }
  const value = copy(metadata, 0)
  problem ??= jsonProblem(value, true)
  return problem === undefined ? { ok: true, value: value as Json } : { ok: false, problem }
}

/** What {@link metadataJson} gives for no metadata: one shared value, which callers may recognise. */
export const EMPTY_METADATA: Readonly<Record<string, never>> = Object.freeze({})
const EMPTY = { ok: true, value: EMPTY_METADATA } as const

function isEmptyPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  // Only enumerable string keys are copied (Object.entries below): an object without any gives {} either way.
  return !hasKeys(value)
}
