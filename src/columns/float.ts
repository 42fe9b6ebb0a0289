import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { badWith, type CastResult, mismatch, ok } from './messages.js'
import type { Json } from './values.js'

/** A float's canonical value: the number, or `'NaN'`, `'Infinity'`, `'-Infinity'` as PostgreSQL prints them. */
export function floatCanonical(n: number): Json {
  return Number.isFinite(n) ? n : String(n)
}

/** real and double precision: numbers; a real refuses a number it would round to 4 bytes. */
export class FloatElement extends BaseElement {
  /** A finite number as a JSON number; NaN and the infinities as their text, as fromText gives them. */
  override jsonSql(x: string): string {
    return `(CASE WHEN (${x}) IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN to_jsonb((${x})::text) ELSE to_jsonb(${x}) END)`
  }

  readonly #real: boolean

  constructor(column: PgColumn, base: string) {
    super(column)
    this.#real = base === 'real' || base === 'float4'
  }

  override fromText(text: string): Json {
    return floatCanonical(Number(text))
  }

  override driverValue(value: Json): unknown {
    return typeof value === 'number' ? value : Number(value)
  }

  override toApp(value: Json): unknown {
    return this.driverValue(value)
  }

  fromApp(value: unknown): CastResult {
    if (typeof value !== 'number') return mismatch(`expected a number (${this.expected})`, value)
    // A 4-byte float would store a rounded value: refuse rather than store something else.
    if (this.#real && Number.isFinite(value) && Math.fround(value) !== value) {
      const problem = 'is not exactly representable as a 4-byte float (real); use double precision'
      return badWith(`the number ${problem}`, `${value} ${problem}`)
    }
    return ok(floatCanonical(value))
  }
}
