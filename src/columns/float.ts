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
  readonly #real: boolean

  constructor(column: PgColumn, base: string) {
    super(column)
    this.#real = base === 'real' || base === 'float4'
  }

  /**
   * PostgreSQL prints a real as the shortest decimal that reads back as the same 4-byte float (`1e-45`), which
   * as a JavaScript number is another value: the number is the 4-byte float's own value (Math.fround), the one
   * the app wrote.
   */
  override fromText(text: string): Json {
    const n = Number(text)
    return floatCanonical(this.#real ? Math.fround(n) : n)
  }

  /** A finite number as a JSON number (a real's own value, through float8); NaN and the infinities as their text. */
  override jsonSql(x: string): string {
    const n = this.#real ? `(${x})::float8` : `(${x})`
    return `(CASE WHEN ${n} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN to_jsonb(${n}::text) ELSE to_jsonb(${n}) END)`
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
