import type { Json } from '../columns/values.js'

/**
 * Encoders of event payloads: a value JSON cannot hold as such (a Date, a bigint, bytes, a non-finite number)
 * is stored as JSON with the name of its encoder beside it, so replay gives the action back the same value.
 */

/** Encodes a value for an event payload as JSON, exactly; returns the encoder used for non-JSON values. */
export function encodeArgument(value: unknown): { value: Json; encoder?: string } {
  if (value === undefined) return { value: null }
  if (value instanceof Date)
    return { value: Number.isNaN(value.getTime()) ? null : value.toISOString(), encoder: 'date' }
  if (typeof value === 'bigint') return { value: String(value), encoder: 'bigint' }
  if (value instanceof Uint8Array) {
    return {
      value: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
      encoder: 'base64',
    }
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { value: String(value), encoder: 'number' }
  if (Array.isArray(value)) {
    const items = value.map(encodeArgument)
    const enc = items.find((i) => i.encoder)?.encoder
    return enc
      ? { value: items.map((i) => i.value), encoder: `array:${enc}` }
      : { value: items.map((i) => i.value) }
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, Json> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue
      Object.defineProperty(out, k, {
        value: encodeArgument(v).value,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return { value: out }
  }
  return { value: value as Json }
}

/** Undoes {@link encodeArgument}: turns a recorded argument back into the value its schema was given. */
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

/** A sensitive value recorded without a key. */
export const REDACTED = 'redacted'
/** A sensitive value encrypted with a key of the ring. */
export const ENCRYPTED = 'aes-256-gcm'
/** An encrypted value whose key is gone. */
export const ERASED = 'erased'

/** Values a key could not give back: redacted without a key, or encrypted with a key that is gone. */
export const UNAVAILABLE_ENCODERS: ReadonlySet<string> = new Set([REDACTED, ERASED, ENCRYPTED])
