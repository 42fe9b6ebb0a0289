import { parseArrayLiteral, printArrayLiteral } from '../data/pg-text.js'
import { ColumnCodec, JSON_SQL_FALLBACK } from './codec.js'
import { bad, badWith, type CastResult, mismatch, ok } from './messages.js'
import type { Json } from './values.js'

/**
 * The codec of an array column of any dimension: the database's array literal is parsed and printed here, and
 * every non-null element goes through the element codec of the column's kind. Canonical values are nested
 * JSON arrays.
 */
export class ArrayCodec extends ColumnCodec {
  fromText(text: string | null): Json {
    return text === null ? null : this.#fromTexts(parseArrayLiteral(text))
  }

  toText(value: Json): string | null {
    return value === null ? null : printArrayLiteral(this.#toTexts(value) as unknown[])
  }

  toApp(value: Json): unknown {
    if (value === null) return null
    if (!Array.isArray(value)) return this.element.toApp(value)
    const out: unknown[] = []
    for (const item of value) out.push(this.toApp(item))
    return out
  }

  /**
   * One dimension, numbered from 1 (as Rewind writes them): the elements' JSON in order. Anything else fails the
   * statement (see {@link JSON_SQL_FALLBACK}); several dimensions: undefined.
   */
  jsonSql(x: string): string | undefined {
    if (this.dims > 1) return undefined
    const e = this.element.jsonSql('rewind_a.e')
    if (e === undefined) return undefined
    return `(CASE WHEN (${x}) IS NULL THEN 'null'::jsonb WHEN array_ndims(${x}) > 1 OR array_lower(${x}, 1) <> 1 THEN ${JSON_SQL_FALLBACK}::jsonb ELSE (SELECT COALESCE(jsonb_agg(COALESCE(${e}, 'null'::jsonb) ORDER BY rewind_a.i), '[]'::jsonb) FROM unnest(${x}) WITH ORDINALITY AS rewind_a(e, i)) END)`
  }

  fromApp(value: unknown): CastResult {
    if (value === null || value === undefined) return ok(null)
    if (!Array.isArray(value)) return mismatch(`expected an array (${this.sqlType})`, value)
    if (this.dims > 1 && value.length > 0 && arrayDepth(value) !== this.dims) {
      return bad(`expected a ${this.dims}-dimensional array (${this.sqlType})`)
    }
    return this.#walk(value, 0, '')
  }

  #fromTexts(value: unknown): Json {
    if (!Array.isArray(value)) return value === null ? null : this.element.fromText(value as string)
    const out: Json[] = []
    for (const item of value) out.push(this.#fromTexts(item))
    return out
  }

  #toTexts(value: Json): unknown {
    if (!Array.isArray(value)) return value === null ? null : this.element.toText(value)
    const out: unknown[] = []
    for (const item of value) out.push(this.#toTexts(item))
    return out
  }

  /** Checks and converts the value at `path`, `depth` dimensions down. */
  #walk(v: unknown, depth: number, path: string): CastResult {
    if (depth < this.dims) {
      if (!Array.isArray(v)) return mismatch(`expected an array at ${path || 'the top'} (${this.sqlType})`, v)
      const out: Json[] = []
      for (let i = 0; i < v.length; i++) {
        const r = this.#walk(v[i], depth + 1, `${path}[${i}]`)
        if (!r.ok) return r
        out.push(r.value)
      }
      if (depth > 0 || this.dims > 1) {
        // PostgreSQL requires sub-arrays of one dimension to have the same length.
        const lengths = new Set(out.map((x) => (Array.isArray(x) ? x.length : -1)))
        if (lengths.size > 1) return bad(`expected sub-arrays of equal length (${this.sqlType})`)
      }
      return ok(out)
    }
    if (v === null || v === undefined) return ok(null)
    const r = this.element.fromApp(v)
    return r.ok ? r : badWith(`${path}: ${r.message}`, `${path}: ${r.messageWithValue}`)
  }
}

function arrayDepth(value: unknown): number {
  let d = 0
  let v = value
  while (Array.isArray(v)) {
    d++
    v = v[0]
  }
  return d
}
