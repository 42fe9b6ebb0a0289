import type { Json } from '../columns/values.js'
import { decrypt, encrypt, isCiphertext, type KeyProvider } from './encryption.js'
import { ENCRYPTED, ERASED, REDACTED } from './payload.js'

/** The associated data that binds a ciphertext to its event's record and field. */
export function fieldAad(resource: string, recordId: string, part: 'data' | 'changed', key: string): string {
  return `${resource}\u0000${recordId}\u0000${part}\u0000${key}`
}

/** Replaces sensitive values by ciphertext (with a key) or by null marked redacted (without one). */
export function protect(
  values: Readonly<Record<string, Json>>,
  encoders: Readonly<Record<string, string>>,
  sensitive: ReadonlySet<string>,
  keys: KeyProvider | undefined,
  aad: (key: string) => string,
): { values: Readonly<Record<string, Json>>; encoders: Readonly<Record<string, string>> } {
  // A resource without sensitive columns (most): the values and their encoders are stored as they are.
  if (sensitive.size === 0) return { values, encoders }
  const out: Record<string, Json> = {}
  const enc: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) {
    const inner = encoders[key]
    if (sensitive.has(key) && value !== null) {
      if (keys) {
        out[key] = encrypt(keys, JSON.stringify(inner ? { v: value, e: inner } : { v: value }), aad(key))
        enc[key] = ENCRYPTED
      } else {
        out[key] = null
        enc[key] = REDACTED
      }
      continue
    }
    out[key] = value
    if (inner) enc[key] = inner
  }
  return { values: out, encoders: enc }
}

/** Decrypts what {@link protect} encrypted; values whose key is gone read as null, marked erased. */
export function reveal(
  values: Readonly<Record<string, Json>>,
  encoders: Readonly<Record<string, string>> | undefined,
  keys: KeyProvider | undefined,
  aad: (key: string) => string,
): { values: Record<string, Json>; encoders: Record<string, string> | undefined } {
  // Most events have no encoder at all: the freshly parsed payload is already what the caller gets.
  if (encoders === undefined || Object.keys(encoders).length === 0)
    return { values: values as Record<string, Json>, encoders: undefined }
  const out: Record<string, Json> = {}
  const enc: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) {
    const e = encoders[key]
    if (e === ENCRYPTED && isCiphertext(value)) {
      const plain = keys ? decrypt(keys, value, aad(key)) : undefined
      if (plain === undefined) {
        out[key] = null
        enc[key] = keys ? ERASED : ENCRYPTED
        if (!keys) out[key] = value
        continue
      }
      const parsed = JSON.parse(plain) as { v: Json; e?: string }
      out[key] = parsed.v
      if (parsed.e) enc[key] = parsed.e
      continue
    }
    out[key] = value
    if (e) enc[key] = e
  }
  return { values: out, encoders: Object.keys(enc).length > 0 ? enc : undefined }
}
