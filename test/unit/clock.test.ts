import { afterEach, describe, expect, it, vi } from 'vitest'
import { nowMicros } from '../../src/data/pg-text.js'

/**
 * Drives Date.now() and performance.now() by hand: `wall` and `mono` are the two clocks, in milliseconds,
 * and each step advances them by its own amounts (a drift, a suspend, a clock step).
 */
function fakeClocks(start: { wall: number; mono: number }) {
  const clocks = { ...start }
  vi.spyOn(Date, 'now').mockImplementation(() => Math.floor(clocks.wall))
  vi.spyOn(performance, 'now').mockImplementation(() => clocks.mono)
  return clocks
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('nowMicros follows the wall clock', () => {
  it('stays in Date.now()’s millisecond while the monotonic clock drifts 5% fast, and only increases', () => {
    const clocks = fakeClocks({ wall: 1_800_000_000_000, mono: 1_000 })
    let last = 0
    for (let i = 0; i < 20_000; i++) {
      const micros = nowMicros()
      expect(Number.isSafeInteger(micros)).toBe(true)
      expect(Math.floor(micros / 1000)).toBe(Date.now())
      expect(micros).toBeGreaterThan(last)
      last = micros
      const step = 0.137 + (i % 7) * 0.05
      clocks.wall += step
      clocks.mono += step * 1.05
    }
    // 20,000 steps of ~0.29 ms: the monotonic clock ran ~290 ms ahead; the times did not.
    expect(clocks.mono - 1_000 - (clocks.wall - 1_800_000_000_000)).toBeGreaterThan(250)
  })

  it('after a suspend (the monotonic clock stood still for a minute) the next time is the wall clock’s', () => {
    const clocks = fakeClocks({ wall: 1_800_000_100_000, mono: 5_000 })
    nowMicros()
    clocks.wall += 60_000
    clocks.mono += 0.2
    expect(Math.floor(nowMicros() / 1000)).toBe(Date.now())
  })

  it('a time taken after new Date() is never before it, however far the clocks drifted apart', () => {
    const clocks = fakeClocks({ wall: 1_800_000_200_000, mono: 9_000 })
    nowMicros()
    // The monotonic clock fell 59 ms behind (what was seen under load in 3 s).
    clocks.wall += 3_000
    clocks.mono += 2_941
    const t1 = new Date(Date.now())
    expect(nowMicros()).toBeGreaterThanOrEqual(t1.getTime() * 1000)
  })

  it('follows the wall clock back when the system clock is set back, instead of running ahead of it', () => {
    const clocks = fakeClocks({ wall: 1_800_000_300_000, mono: 20_000 })
    const before = nowMicros()
    clocks.wall -= 5_000
    clocks.mono += 0.5
    const after = nowMicros()
    expect(Math.floor(after / 1000)).toBe(Date.now())
    expect(after).toBeLessThan(before)
  })
})
