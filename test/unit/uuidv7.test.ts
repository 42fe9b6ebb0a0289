import { describe, expect, it } from 'vitest'
import { uuidv7 } from '../../src/util/uuidv7.js'

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying the current milliseconds', () => {
    const before = Date.now()
    const id = uuidv7()
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)
    expect(ms).toBeGreaterThanOrEqual(before)
    expect(ms).toBeLessThanOrEqual(Date.now() + 5)
  })

  it('sorts in creation order and never repeats, across refills of its random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7())
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    // The random part varies (not a constant or a counter).
    expect(new Set(ids.map((id) => id.slice(-12))).size).toBe(ids.length)
  })
})
