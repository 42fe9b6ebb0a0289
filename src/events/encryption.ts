import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { definitionError, RewindError } from '../errors/rewind-error.js'

/** Where encryption keys come from: the current key (used to encrypt) and every key by id (to decrypt). */
export interface KeyProvider {
  /** The key new events are encrypted with. */
  current(): { readonly id: string; readonly key: Uint8Array }
  /** A key by id, or undefined when it is gone (rotated out or deliberately erased). */
  get(id: string): Uint8Array | undefined
}

/** A static key ring: `{ current: 'k2', keys: { k1: base64, k2: base64 } }`. Keys are 32 bytes (AES-256). */
export interface KeyRing {
  readonly current: string
  readonly keys: Readonly<Record<string, string | Uint8Array>>
}

const PREFIX = 'rw1'
const KEY_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/

function toKey(id: string, key: string | Uint8Array): Uint8Array {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : key
  if (bytes.length !== 32) {
    throw definitionError(
      `encryption key "${id}" must be 32 bytes (AES-256), got ${bytes.length}; make one with: openssl rand -base64 32`,
    )
  }
  return bytes
}

/** Builds a {@link KeyProvider} from a key ring, checking every key now rather than at the first event. */
export function keyRing(ring: KeyRing): KeyProvider {
  const keys = new Map<string, Uint8Array>()
  for (const [id, key] of Object.entries(ring.keys ?? {})) {
    if (!KEY_ID_RE.test(id))
      throw definitionError(`encryption key id "${id}" must be 1-64 letters, digits, '_', '.' or '-'`)
    keys.set(id, toKey(id, key))
  }
  const current = keys.get(ring.current)
  if (!current) {
    throw definitionError(
      `encryption: the current key "${ring.current}" is not in keys (${[...keys.keys()].join(', ') || 'none'})`,
    )
  }
  return { current: () => ({ id: ring.current, key: current }), get: (id) => keys.get(id) }
}

/** Encrypts text with AES-256-GCM: `rw1:<keyId>:<base64(iv | tag | ciphertext)>`. */
export function encrypt(provider: KeyProvider, plaintext: string, aad: string): string {
  const { id, key } = provider.current()
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${PREFIX}:${id}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`
}

/** True for a value {@link encrypt} produced. */
export function isCiphertext(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(`${PREFIX}:`)
}

/**
 * Decrypts what {@link encrypt} produced. Returns undefined when the key is gone (erased); throws when the
 * text was tampered with.
 */
export function decrypt(provider: KeyProvider, text: string, aad: string): string | undefined {
  const [prefix, id, payload] = text.split(':')
  if (prefix !== PREFIX || !id || !payload)
    throw new RewindError('INTERNAL', 'encrypted event value is malformed')
  const key = provider.get(id)
  if (!key) return undefined
  const raw = Buffer.from(payload, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(raw.subarray(12, 28))
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch (error) {
    throw new RewindError(
      'INTERNAL',
      `encrypted event value failed authentication (key "${id}"): it was altered or the key is wrong`,
      {
        cause: error,
      },
    )
  }
}
