import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { badWith, type CastResult, mismatch, ok } from './messages.js'
import type { Json } from './values.js'

const INT_RANGES: Record<string, readonly [number, number]> = {
  smallint: [-32768, 32767],
  smallserial: [1, 32767],
  integer: [-2147483648, 2147483647],
  serial: [1, 2147483647],
}

/** smallint, integer and their serials: JavaScript numbers, refused outside the column's range. */
export class IntElement extends BaseElement {
  override jsonSql(x: string): string {
    return `to_jsonb(${x})`
  }

  readonly #range: readonly [number, number]

  constructor(column: PgColumn, base: string) {
    super(column)
    this.#range = INT_RANGES[base] ?? INT_RANGES.integer!
  }

  override fromText(text: string): Json {
    return Number(text)
  }

  override driverValue(value: Json): unknown {
    return typeof value === 'number' ? value : Number(value)
  }

  override toApp(value: Json): unknown {
    return this.driverValue(value)
  }

  fromApp(value: unknown): CastResult {
    const [min, max] = this.#range
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return mismatch(`expected an integer (${this.expected})`, value)
    }
    if (value < min || value > max) {
      const expectation = `expected an integer from ${min} to ${max} (${this.expected})`
      return badWith(expectation, `${expectation}, got ${value}`)
    }
    return ok(value)
  }
}
