import { randomBytes } from 'node:crypto'

let lastMs = 0
let seq = 0

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter so ids made in the same
 * millisecond still sort in creation order, then random bits.
 */
export function uuidv7(): string {
  let ms = Date.now()
  if (ms <= lastMs) {
    seq++
    if (seq > 0xfff) {
      lastMs++
      seq = 0
    }
    ms = lastMs
  } else {
    lastMs = ms
    seq = 0
  }
  const b = randomBytes(16)
  b.writeUIntBE(ms, 0, 6)
  b[6] = 0x70 | (seq >> 8)
  b[7] = seq & 0xff
  b[8] = 0x80 | (b[8]! & 0x3f)
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
