import { BaseElement } from './codec.js'
import { type CastResult, mismatch, ok } from './messages.js'

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

// The canonical form itself (what generateId and the database give): no rewriting needed.
const CANONICAL_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** uuid: canonical values are lower case with hyphens, as PostgreSQL prints them. */
export class UuidElement extends BaseElement {
  fromApp(value: unknown): CastResult {
    if (typeof value === 'string' && CANONICAL_RE.test(value)) return ok(value)
    if (typeof value !== 'string' || !UUID_RE.test(value)) return mismatch('expected a UUID', value)
    return ok(value.toLowerCase().replace(/^(.{8})-?(.{4})-?(.{4})-?(.{4})-?(.{12})$/, '$1-$2-$3-$4-$5'))
  }
}
