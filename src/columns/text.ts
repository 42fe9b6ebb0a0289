import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { bad, type CastResult, mismatch, ok } from './messages.js'
import { stringProblem } from './values.js'

const VARYING_TYPES = new Set(['varchar', 'character varying'])
const BLANK_PADDED_TYPES = new Set(['char', 'character', 'bpchar'])

/**
 * Text, varchar(n), char(n), enums, and every type Rewind has no kind for (kept as PostgreSQL's text): the
 * text is the value. A declared length or an enum's values are checked on input, since PostgreSQL would refuse
 * (or, for an explicit cast, truncate) what does not fit. A `char(n)` pads its value with blanks, which are not
 * significant: its canonical value is its text as PostgreSQL prints it, without them in a column of its own
 * (`::text` drops them) and padded to its length in an array (an array's text keeps them).
 */
export class TextElement extends BaseElement {
  readonly #enumValues: readonly string[] | undefined
  readonly #maxLength: number | undefined
  /** A char(n): its length (`char` alone is `char(1)`), and whether its values are padded (in an array). */
  readonly #padded: { readonly length: number; readonly inArray: boolean } | undefined

  constructor(column: PgColumn, base: string, _kind?: unknown, dims = 0) {
    super(column)
    const c = column as PgColumn & { enumValues?: string[]; length?: number }
    this.#enumValues = c.enumValues && c.enumValues.length > 0 ? c.enumValues : undefined
    const padded = BLANK_PADDED_TYPES.has(base)
    this.#maxLength = VARYING_TYPES.has(base) && typeof c.length === 'number' ? c.length : undefined
    this.#padded = padded
      ? { length: typeof c.length === 'number' ? c.length : 1, inArray: dims > 0 }
      : undefined
  }

  fromApp(value: unknown): CastResult {
    if (typeof value !== 'string') return mismatch(`expected a string (${this.expected})`, value)
    const p = stringProblem(value)
    if (p) return bad(p)
    if (this.#padded) return this.#blankPadded(value)
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

  /** A char(n) value: too long only past its trailing blanks (which PostgreSQL drops to fit, as it does). */
  #blankPadded(value: string): CastResult {
    const { length, inArray } = this.#padded!
    const trimmed = value.replace(/ +$/, '')
    const chars = [...trimmed].length
    if (chars > length) return bad(`expected at most ${length} characters (${this.expected}), got ${chars}`)
    return ok(inArray ? trimmed + ' '.repeat(length - chars) : trimmed)
  }
}
