import { BaseElement } from './codec.js'
import { type CastResult, mismatch, ok } from './messages.js'
import type { Json } from './values.js'

/** boolean: `true`/`false`, read from and sent as PostgreSQL's `t`/`f`. */
export class BoolElement extends BaseElement {
  override jsonSql(x: string): string {
    return `to_jsonb(${x})`
  }

  override fromText(text: string): Json {
    return text === 't' || text === 'true'
  }

  override toText(value: Json): string {
    return value ? 't' : 'f'
  }

  override toApp(value: Json): unknown {
    return value
  }

  fromApp(value: unknown): CastResult {
    if (typeof value !== 'boolean') return mismatch('expected a boolean', value)
    return ok(value)
  }
}
