import { describe, expect, it } from 'vitest'
import {
  canonicalSimpleTimestamp,
  formatClockMicros,
  formatMicros,
  nowMicros,
  parseTimestamp,
} from '../../src/data/pg-text.js'

/** The general path: parse to microseconds, print canonical. */
function slow(text: string, zone: boolean): string | undefined {
  const p = parseTimestamp(text)
  return p ? `${formatMicros(p.micros)}${zone ? 'Z' : ''}` : undefined
}

function random(n: number): number {
  return Math.floor(Math.random() * n)
}

const two = (n: number) => String(n).padStart(2, '0')

describe('canonicalSimpleTimestamp', () => {
  it('gives exactly what the general path gives, for canonical and PostgreSQL-printed shapes', () => {
    let checked = 0
    for (let i = 0; i < 50_000; i++) {
      // Any day from year 1000 to 9999, including Feb 29th of leap years and invalid days like Feb 30th.
      const y = 1000 + random(9000)
      const mo = 1 + random(12)
      const d = 1 + random(31)
      const h = random(24)
      const mi = random(60)
      const s = random(60)
      const digits = random(7)
      const frac = digits ? `.${String(random(10 ** digits)).padStart(digits, '0')}` : ''
      const date = `${y}-${two(mo)}-${two(d)}`
      const time = `${two(h)}:${two(mi)}:${two(s)}${frac}`
      for (const [text, zone] of [
        [`${date}T${time}Z`, true],
        [`${date} ${time}+00`, true],
        [`${date}T${time}`, false],
        [`${date} ${time}`, false],
      ] as const) {
        const fast = canonicalSimpleTimestamp(text, zone)
        const general = slow(text, zone)
        if (fast !== undefined) {
          expect(fast, text).toBe(general)
          checked++
        } else {
          // Only rolled-over dates are left to the general path here, and it rejects them too.
          expect(general, text).toBeUndefined()
        }
      }
    }
    expect(checked).toBeGreaterThan(150_000)
  })

  it('leaves every other shape to the general path', () => {
    for (const [text, zone] of [
      ['2026-01-02T03:04:05.123456+01', true], // another offset
      ['2026-01-02T03:04:05.123456', true], // no zone on a timestamptz
      ['2026-01-02T03:04:05.123456Z', false], // a zone on a plain timestamp (ignored by PostgreSQL)
      ['0999-01-02T03:04:05Z', true], // year below 1000
      ['12026-01-02T03:04:05Z', true], // five-digit year
      ['2026-01-02T24:00:00Z', true], // 24:00
      ['2026-01-02T23:59:60Z', true], // a leap second
      ['2026-01-02T03:04:05.1234567Z', true], // rounded by the general path
      ['2026-01-02T03:04Z', true], // no seconds
      ['2026-02-29T00:00:00Z', true], // not a leap year
      ['1900-02-29T00:00:00Z', true], // not a leap year either
      ['2026-01-02 03:04:05+00 BC', true],
    ] as const) {
      expect(canonicalSimpleTimestamp(text, zone), text).toBeUndefined()
    }
    expect(canonicalSimpleTimestamp('2000-02-29 00:00:00+00', true)).toBe('2000-02-29T00:00:00.000000Z')
  })

  it('reads a character at a time exactly as the pattern it replaced, on texts with one to three characters changed', () => {
    // The earlier implementation (a regular expression and the same range checks), as the oracle.
    const RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|\+00)?$/
    const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    const oracle = (text: string, zone: boolean): string | undefined => {
      const m = RE.exec(text)
      if (!m) return undefined
      const [, y, mo, d, h, mi, s, frac, z] = m
      if (zone ? z === undefined : z !== undefined) return undefined
      const [year, month, day] = [Number(y), Number(mo), Number(d)]
      if (year < 1000 || month < 1 || month > 12 || day < 1) return undefined
      const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      if (day > DAYS[month - 1]! + (leap ? 1 : 0)) return undefined
      if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined
      const f = frac === undefined ? '000000' : frac.padEnd(6, '0')
      return `${y}-${mo}-${d}T${h}:${mi}:${s}.${f}${zone ? 'Z' : ''}`
    }
    const alphabet = '0123456789-: T.Z+zt\u0660\uff10a/'
    const bases = [
      '2026-01-02T03:04:05.123456Z',
      '2026-01-02 03:04:05.1+00',
      '2024-02-29 23:59:59',
      '1000-12-31T00:00:00.000001',
    ]
    let accepted = 0
    for (let i = 0; i < 40_000; i++) {
      let text = bases[random(bases.length)]!
      // One to three characters replaced, inserted or removed.
      for (let k = 1 + random(3); k > 0; k--) {
        const at = random(text.length + 1)
        const c = alphabet[random(alphabet.length)]!
        const op = random(3)
        text =
          op === 0
            ? text.slice(0, at) + c + text.slice(at + 1)
            : op === 1
              ? text.slice(0, at) + c + text.slice(at)
              : text.slice(0, at) + text.slice(at + 1)
      }
      for (const zone of [true, false]) {
        const fast = canonicalSimpleTimestamp(text, zone)
        expect(fast, `${text} ${zone}`).toBe(oracle(text, zone))
        if (fast !== undefined) accepted++
      }
    }
    // The mutations leave a fair share of valid timestamps, so both outcomes are exercised.
    expect(accepted).toBeGreaterThan(2_000)
  })
})

describe('formatClockMicros', () => {
  it('prints a time of the clock as formatMicros does (Number arithmetic against BigInt), from 1970 to 2255', () => {
    // 2^53 microseconds is in the year 2255: every time before it is an exact Number.
    const limit = 2 ** 53
    const cases = [0, 1, 999, 1000, 1_800_000_000_000_000, limit - 1]
    for (let i = 0; i < 50_000; i++) cases.push(Math.floor(Math.random() * limit))
    for (const micros of cases) expect(formatClockMicros(micros)).toBe(formatMicros(BigInt(micros)))
  })

  it('prints what timestamps() reads: the clock, an exact integer that only increases', () => {
    const a = nowMicros()
    const b = nowMicros()
    expect(Number.isSafeInteger(a) && Number.isSafeInteger(b) && a < b).toBe(true)
    expect(formatClockMicros(b)).toBe(formatMicros(BigInt(b)))
  })
})
