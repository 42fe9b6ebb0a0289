import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { badWith, type CastResult, mismatch, ok } from './messages.js'

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * bigint and bigserial: canonical values are decimal strings. Input is a bigint for `mode: 'bigint'` columns, a
 * safe integer for `mode: 'number'`, as Drizzle types them.
 */
export class BigintElement extends BaseElement {
  readonly #wantsBigint: boolean

  constructor(column: PgColumn) {
    super(column)
    this.#wantsBigint = column.columnType === 'PgBigInt64' || column.columnType === 'PgBigSerial64'
  }

  fromApp(value: unknown): CastResult {
    let n: bigint
    if (this.#wantsBigint) {
      if (typeof value !== 'bigint') return mismatch(`expected a bigint (${this.expected})`, value)
      n = value
    } else {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        return mismatch(`expected a safe integer (${this.expected}, mode 'number')`, value)
      }
      n = BigInt(value)
    }
    if (n < INT64_MIN || n > INT64_MAX)
      return badWith('expected a 64-bit integer', `expected a 64-bit integer, got ${n}`)
    return ok(String(n))
  }
}
