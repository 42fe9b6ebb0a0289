import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { bad, type CastResult, mismatch, ok } from './messages.js'
import { stringProblem } from './values.js'

const LENGTH_TYPES = new Set(['varchar', 'character varying', 'char', 'character'])

/**
 * Text, varchar(n), char(n), enums, and every type Rewind has no kind for (kept as PostgreSQL's text): the
 * text is the value. A declared length or an enum's values are checked on input, since PostgreSQL would refuse
 * (or, for an explicit cast, truncate) what does not fit.
 */
export class TextElement extends BaseElement {
  readonly #enumValues: readonly string[] | undefined
  readonly #maxLength: number | undefined

  constructor(column: PgColumn, base: string) {
    super(column)
    const c = column as PgColumn & { enumValues?: string[]; length?: number }
    this.#enumValues = c.enumValues && c.enumValues.length > 0 ? c.enumValues : undefined
    this.#maxLength = LENGTH_TYPES.has(base) && typeof c.length === 'number' ? c.length : undefined
  }

  fromApp(value: unknown): CastResult {
    if (typeof value !== 'string') return mismatch(`expected a string (${this.expected})`, value)
    const p = stringProblem(value)
    if (p) return bad(p)
    if (this.#maxLength !== undefined && [...value].length > this.#maxLength) {
      return bad(
        `expected at most ${this.#maxLength} characters (${this.expected}), got ${[...value].length}`,
      )
    }
    if (this.#enumValues && !this.#enumValues.includes(value)) {
      return mismatch(`expected one of ${this.#enumValues.map((v) => JSON.stringify(v)).join(', ')}`, value)
    }
    return ok(value)
  }
}
