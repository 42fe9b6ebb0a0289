/**
 * The canonical value form and the checks every kind shares: what a value is (for messages), whether a string or
 * a JSON value can be stored exactly, deep copies and equality of canonical values.
 */

/**
 * A JSON value: the canonical form in which Rewind holds every column value, compares values and stores
 * them in events. It round-trips exactly: timestamps as ISO strings with microseconds, bigint and numeric as
 * decimal strings, binary as base64, JSON as JSON, arrays as arrays.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Deeper JSON than this is refused: PostgreSQL's stack would refuse it later, less clearly. */
export const MAX_JSON_DEPTH = 256

/** What a value is, showing the value (short strings, numbers): for messages about fields that are not sensitive. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value
    return `the string ${JSON.stringify(shown)}`
  }
  if (typeof value === 'number') return `the number ${value}`
  if (typeof value === 'bigint') return `the bigint ${value}`
  if (Array.isArray(value)) return `an array of length ${value.length}`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** What type a value is, never the value: safe for any field. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'number') return 'a number'
  if (typeof value === 'bigint') return 'a bigint'
  if (Array.isArray(value)) return `an array of length ${value.length}`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** Why a string cannot be stored exactly as given, or undefined when it can. */
export function stringProblem(value: string): string | undefined {
  if (!value.isWellFormed())
    return 'contains a lone surrogate (invalid UTF-16), which cannot be stored as UTF-8'
  if (value.includes('\u0000')) return 'contains a NUL character, which PostgreSQL text cannot hold'
  return undefined
}

/** Why a value cannot be stored exactly as JSON, or undefined when it can. */
export function jsonProblem(value: unknown, jsonb: boolean, depth = 0): string | undefined {
  if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`
  if (value === null || typeof value === 'boolean') return undefined
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'holds NaN or an infinite number, which JSON cannot represent'
  if (typeof value === 'string') {
    if (!value.isWellFormed()) return 'holds a string with a lone surrogate (invalid UTF-16)'
    if (jsonb && value.includes('\u0000'))
      return 'holds a string with a NUL character, which jsonb cannot hold'
    return undefined
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const p = jsonProblem(item, jsonb, depth + 1)
      if (p) return p
    }
    return undefined
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null)
      return `holds ${kindOf(value)} that is not a plain object`
    for (const [k, v] of Object.entries(value)) {
      if (!k.isWellFormed() || (jsonb && k.includes('\u0000'))) return 'holds a key that is not valid text'
      if (v === undefined) continue
      const p = jsonProblem(v, jsonb, depth + 1)
      if (p) return p
    }
    return undefined
  }
  return `holds ${kindOf(value)}, which is not JSON`
}

/** A deep copy of a value {@link jsonProblem} accepted, without undefined properties. */
export function copyJson(value: unknown): Json {
  if (value === null || typeof value !== 'object') return value as Json
  if (Array.isArray(value)) return value.map(copyJson)
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(value)) {
    // Defined as own data properties, so a key named __proto__ stays data and never touches a prototype.
    if (v !== undefined)
      Object.defineProperty(out, k, {
        value: copyJson(v),
        enumerable: true,
        writable: true,
        configurable: true,
      })
  }
  return out
}

/** Deep equality of canonical values; object key order does not matter (jsonb reorders keys). */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as Json[]
    return a.length === bb.length && a.every((v, i) => sameJson(v, bb[i]))
  }
  const ao = a as Record<string, Json>
  const bo = b as Record<string, Json>
  const ak = Object.keys(ao)
  if (ak.length !== Object.keys(bo).length) return false
  return ak.every((k) => Object.hasOwn(bo, k) && sameJson(ao[k], bo[k]))
}
