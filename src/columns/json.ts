import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { bad, type CastResult, ok } from './messages.js'
import { copyJson, type Json, jsonProblem } from './values.js'

/** json and jsonb: the JSON value itself; input that would not round-trip (NaN, lone surrogates, ...) is refused. */
export class JsonElement extends BaseElement {
  readonly #jsonb: boolean

  constructor(column: PgColumn, base: string) {
    super(column)
    this.#jsonb = base === 'jsonb'
  }

  override fromText(text: string): Json {
    // Event payloads are often empty: skip the parser for them.
    return text === '{}' ? {} : (JSON.parse(text) as Json)
  }

  override toText(value: Json): string {
    return JSON.stringify(value)
  }

  override toApp(value: Json): unknown {
    return value
  }

  /** jsonb is its own JSON; json keeps key order and duplicates, and may hold what jsonb cannot (NUL): not in SQL. */
  override jsonSql(x: string): string | undefined {
    return this.#jsonb ? `(${x})` : undefined
  }

  fromApp(value: unknown): CastResult {
    if (value === undefined) return bad('expected a JSON value, got undefined')
    const p = jsonProblem(value, this.#jsonb)
    if (p) return bad(`the value ${p}`)
    return ok(copyJson(value))
  }
}
