import type { PgColumn } from 'drizzle-orm/pg-core'
import type { ElementCodec, ValueKind } from './codec.js'
import { floatCanonical } from './float.js'
import { bad, badWith, type CastResult, mismatch, ok } from './messages.js'
import { copyJson, describe, type Json, jsonProblem, kindOf, stringProblem } from './values.js'

const SCALAR_KINDS: ReadonlySet<ValueKind> = new Set(['int', 'bigint', 'float', 'numeric', 'bool'])

/**
 * A Drizzle `customType` column over the element codec of its SQL type (`dataType()`): the database text is
 * read and written by that kind, while the app's values go through the column's own toDriver and fromDriver.
 * What toDriver produces must fit the SQL type, or the database would store something else.
 */
export class CustomElement implements ElementCodec {
  readonly #expected: string

  constructor(
    readonly column: PgColumn,
    readonly kind: ValueKind,
    readonly inner: ElementCodec,
  ) {
    this.#expected = column.getSQLType()
  }

  fromText(text: string): Json {
    return this.inner.fromText(text)
  }

  toText(value: Json): string {
    return this.inner.toText(value)
  }

  driverValue(value: Json): unknown {
    return this.inner.driverValue(value)
  }

  jsonSql(x: string): string | undefined {
    return this.inner.jsonSql(x)
  }

  toApp(value: Json): unknown {
    return this.column.mapFromDriverValue(this.inner.driverValue(value))
  }

  fromApp(value: unknown): CastResult {
    let dv: unknown
    try {
      dv = this.column.mapToDriverValue(value)
    } catch (e) {
      // The app's toDriver may quote the value in its message: only for fields that are not sensitive.
      return badWith(
        `the column's toDriver could not convert ${kindOf(value)} to ${this.#expected}`,
        `could not convert ${describe(value)} to ${this.#expected}: ${(e as Error)?.message}`,
      )
    }
    return this.#fromDriver(dv)
  }

  /** The canonical form of what toDriver produced. */
  #fromDriver(dv: unknown): CastResult {
    const { kind } = this
    const expected = this.#expected
    if (dv === null || dv === undefined) return ok(null)
    if (kind === 'bytea' && !(dv instanceof Uint8Array)) {
      return mismatch(`expected bytes for ${expected} from the column's toDriver`, dv)
    }
    if (dv instanceof Uint8Array) {
      if (kind !== 'bytea') return bad(`expected a ${expected} value, got bytes from the column's toDriver`)
      return ok(Buffer.from(dv.buffer, dv.byteOffset, dv.byteLength).toString('base64'))
    }
    if (SCALAR_KINDS.has(kind) && typeof dv === 'object')
      return mismatch(`expected a ${expected} value from the column's toDriver`, dv)
    if (kind === 'bool' && typeof dv !== 'boolean')
      return mismatch(`expected a boolean from the column's toDriver`, dv)
    if (kind === 'int' && !(typeof dv === 'number' && Number.isInteger(dv))) {
      return mismatch(`expected an integer from the column's toDriver`, dv)
    }
    if (typeof dv === 'string') {
      const p = stringProblem(dv)
      if (p) return bad(p)
      if (kind !== 'json') return ok(this.inner.fromText(dv))
      try {
        return ok(JSON.parse(dv) as Json)
      } catch {
        // JSON.parse's message quotes the text: never pass it on.
        return bad(`expected JSON text for ${expected} from the column's toDriver, got text that is not JSON`)
      }
    }
    if (typeof dv === 'number')
      return ok(kind === 'float' || kind === 'int' ? floatCanonical(dv) : String(dv))
    if (typeof dv === 'bigint') return ok(String(dv))
    if (typeof dv === 'boolean') return ok(kind === 'bool' ? dv : String(dv))
    if (dv instanceof Date) return ok(this.inner.fromText(dv.toISOString()))
    const p = jsonProblem(dv, true)
    if (p) return bad(`the value ${p}`)
    return ok(copyJson(dv))
  }
}
