import type { PgColumn } from 'drizzle-orm/pg-core'
import { canonicalSimpleTimestamp, dateToMicros, formatMicros, parseTimestamp } from '../data/pg-text.js'
import { BaseElement, JSON_SQL_FALLBACK, type ValueKind } from './codec.js'
import { bad, badWith, type CastResult, mismatch, ok } from './messages.js'
import type { Json } from './values.js'

/**
 * timestamptz and timestamp: canonical values are ISO strings with six fractional digits, in UTC with `Z` for
 * timestamptz, without a zone for timestamp. Input PostgreSQL would round (digits past the microsecond, or past
 * a declared precision) is refused.
 */
export class TimestampElement extends BaseElement {
  readonly #zoned: boolean
  readonly #precision: number | undefined

  constructor(column: PgColumn, _base: string, kind: ValueKind) {
    super(column)
    this.#zoned = kind === 'timestamptz'
    this.#precision = (column as PgColumn & { precision?: number }).precision
  }

  /**
   * What fromText gives: the canonical text for years 1 to 275760 (JavaScript's Date ends there), PostgreSQL's
   * own text for the infinities and BC times (fromText keeps text it cannot parse), and a failure beyond.
   */
  override jsonSql(x: string): string {
    const zone = this.#zoned
    const t = zone ? 'timestamptz' : 'timestamp'
    const z = zone ? '+00' : ''
    const utc = zone ? `(${x}) AT TIME ZONE 'UTC'` : `(${x})`
    return `to_jsonb(CASE WHEN NOT isfinite(${x}) OR (${x}) < '0001-01-01 00:00:00${z}'::${t} THEN (${x})::text WHEN (${x}) < '275760-09-13 00:00:00${z}'::${t} THEN to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US${zone ? '"Z"' : ''}') ELSE ${JSON_SQL_FALLBACK} END)`
  }

  override fromText(text: string): Json {
    const simple = canonicalSimpleTimestamp(text, this.#zoned)
    if (simple !== undefined) return simple
    const p = parseTimestamp(text)
    if (!p) return text
    return this.#zoned ? `${formatMicros(p.micros)}Z` : formatMicros(p.micros)
  }

  fromApp(value: unknown): CastResult {
    const precision = this.#precision
    let micros: bigint
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) return bad('expected a valid date, got an invalid Date')
      micros = dateToMicros(value)
      const year = value.getUTCFullYear()
      if (year < 1 || year > 294276)
        return badWith('expected a year from 1 to 294276', `expected a year from 1 to 294276, got ${year}`)
    } else if (typeof value === 'string') {
      const simple = canonicalSimpleTimestamp(value, this.#zoned)
      // The common case (a canonical value, as events store them): no detour through microseconds.
      if (
        simple !== undefined &&
        (precision === undefined || precision >= 6 || /^0*$/.test(simple.slice(20 + precision, 26)))
      )
        return ok(simple)
      // A timestamp without time zone ignores any offset in its input, as PostgreSQL does.
      const text = this.#zoned ? value : value.replace(/(Z|[+-]\d{2}(:?\d{2})?(:?\d{2})?)$/, '')
      const p = parseTimestamp(text.trim())
      if (!p) return mismatch('expected an ISO 8601 timestamp', value)
      // Values a column would round are refused, as for numerics: PostgreSQL keeps microseconds.
      if (p.rounded) {
        return bad(
          `has more than 6 fractional digits; PostgreSQL keeps microseconds at most (${this.expected}) and would round it`,
        )
      }
      micros = p.micros
    } else {
      return mismatch(`expected a Date or an ISO 8601 string (${this.expected})`, value)
    }
    if (precision !== undefined && precision < 6 && micros % 10n ** BigInt(6 - precision) !== 0n) {
      return bad(
        `has more fractional digits than the column keeps (${this.expected}); PostgreSQL would round it`,
      )
    }
    return ok(this.#zoned ? `${formatMicros(micros)}Z` : formatMicros(micros))
  }
}
