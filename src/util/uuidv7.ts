import { randomFillSync } from 'node:crypto'

let lastMs = 0
let seq = 0

// Random bits are drawn from the OS in blocks: one call per 512 ids instead of one per id.
const POOL_IDS = 512
const pool = Buffer.alloc(8 * POOL_IDS)
let poolOffset = pool.length
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

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
  const hi = Math.floor(ms / 0x1000000)
  const lo = ms % 0x1000000
  return (
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(lo >>> 16) & 0xff]! +
    '-' +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (seq >> 8)]! +
    HEX[seq & 0xff]! +
    '-' +
    HEX[0x80 | (pool[r]! & 0x3f)]! +
    HEX[pool[r + 1]!]! +
    '-' +
    HEX[pool[r + 2]!]! +
    HEX[pool[r + 3]!]! +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]!
  )
}
