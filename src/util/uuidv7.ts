import { randomFillSync } from 'node:crypto'

let lastMs = 0
let seq = 0

// Random bits are drawn from the OS in blocks: one call per 512 ids instead of one per id.
const POOL_IDS = 512
const pool = Buffer.alloc(8 * POOL_IDS)
let poolOffset = pool.length

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
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const r = poolOffset
  poolOffset += 8
  // Bytes 0-5: the milliseconds; 6-7: version 7 and the counter; 8: variant 10 and random; 9-15: random.
  // Written as ASCII into one buffer and read as one string (joining 16 pieces made a string per piece).
  const hi = Math.floor(ms / 0x1000000)
  const lo = ms % 0x1000000
  hex(0, (hi >>> 16) & 0xff)
  hex(2, (hi >>> 8) & 0xff)
  hex(4, hi & 0xff)
  hex(6, (lo >>> 16) & 0xff)
  hex(9, (lo >>> 8) & 0xff)
  hex(11, lo & 0xff)
  hex(14, 0x70 | (seq >> 8))
  hex(16, seq & 0xff)
  hex(19, 0x80 | (pool[r]! & 0x3f))
  hex(21, pool[r + 1]!)
  for (let i = 2; i < 8; i++) hex(24 + 2 * (i - 2), pool[r + i]!)
  return text.toString('latin1', 0, 36)
}

const DIGITS = Buffer.from('0123456789abcdef', 'latin1')
/** The text of a UUID, its dashes in place; hex digits written over the rest. */
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1')

function hex(at: number, byte: number): void {
  text[at] = DIGITS[byte >> 4]!
  text[at + 1] = DIGITS[byte & 0xf]!
}
