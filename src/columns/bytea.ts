import { byteaFromText, byteaToText } from '../data/pg-text.js'
import { BaseElement } from './codec.js'
import { type CastResult, mismatch, ok } from './messages.js'
import type { Json } from './values.js'

/** bytea: canonical values are base64 (the codec's encoder is `'base64'`); the app gets a Buffer. */
export class ByteaElement extends BaseElement {
  /** Base64, without the line breaks PostgreSQL's encode adds. */
  override jsonSql(x: string): string {
    return `to_jsonb(translate(encode(${x}, 'base64'), E'\\n', ''))`
  }

  override fromText(text: string): Json {
    return byteaFromText(text).toString('base64')
  }

  override toText(value: Json): string {
    return byteaToText(Buffer.from(String(value), 'base64'))
  }

  override driverValue(value: Json): unknown {
    return Buffer.from(String(value), 'base64')
  }

  override toApp(value: Json): unknown {
    return this.driverValue(value)
  }

  fromApp(value: unknown): CastResult {
    if (!(value instanceof Uint8Array)) return mismatch('expected bytes (Uint8Array or Buffer)', value)
    return ok(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'))
  }
}
