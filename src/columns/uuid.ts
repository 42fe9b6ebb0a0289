import { BaseElement } from './codec.js'
import { type CastResult, mismatch, ok } from './messages.js'

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/**
 * The canonical form itself (what generateId and the database give), which needs no rewriting: 36 characters,
 * lower-case hex digits with hyphens at 8, 13, 18 and 23. Read a character at a time: every id an action is
 * given or makes passes here, and a regular expression's call cost more than the check.
 */
function isCanonical(value: string): boolean {
  if (value.length !== 36) return false
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}

/** uuid: canonical values are lower case with hyphens, as PostgreSQL prints them. */
export class UuidElement extends BaseElement {
  fromApp(value: unknown): CastResult {
    if (typeof value === 'string' && isCanonical(value)) return ok(value)
    if (typeof value !== 'string' || !UUID_RE.test(value)) return mismatch('expected a UUID', value)
    return ok(value.toLowerCase().replace(/^(.{8})-?(.{4})-?(.{4})-?(.{4})-?(.{12})$/, '$1-$2-$3-$4-$5'))
  }
}
