import type { Json } from '../columns/values.js'

/** Undoes `encodeArgument`: turns a recorded argument back into the value its schema was given. */
export function decodeArgument(value: Json, encoder: string | undefined): unknown {
  if (encoder === undefined || value === null) return value
  if (encoder.startsWith('array:') && Array.isArray(value)) {
    const inner = encoder.slice('array:'.length)
    return value.map((item) => decodeArgument(item, inner))
  }
  switch (encoder) {
    case 'date':
      return new Date(String(value))
    case 'bigint':
      return BigInt(String(value))
    case 'base64':
      return Buffer.from(String(value), 'base64')
    case 'number':
      return Number(value)
    default:
      return value
  }
}

/** Values a key could not give back: redacted without a key, or encrypted with a key that is gone. */
export const UNAVAILABLE_ENCODERS = new Set(['redacted', 'erased', 'aes-256-gcm'])
