import { ColumnCodec } from './codec.js'
import { type CastResult, ok } from './messages.js'
import type { Json } from './values.js'

/** The codec of a column that is not an array: null stays null, any other value is its kind's element. */
export class ScalarCodec extends ColumnCodec {
  fromText(text: string | null): Json {
    return text === null ? null : this.element.fromText(text)
  }

  toText(value: Json): string | null {
    return value === null ? null : this.element.toText(value)
  }

  toApp(value: Json): unknown {
    return value === null ? null : this.element.toApp(value)
  }

  fromApp(value: unknown): CastResult {
    return value === null || value === undefined ? ok(null) : this.element.fromApp(value)
  }

  jsonSql(x: string): string | undefined {
    const json = this.element.jsonSql(x)
    return json === undefined ? undefined : `COALESCE(${json}, 'null'::jsonb)`
  }
}
