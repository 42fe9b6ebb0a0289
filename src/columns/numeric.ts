import type { PgColumn } from 'drizzle-orm/pg-core'
import { BaseElement } from './codec.js'
import { bad, badWith, type CastResult, mismatch, ok } from './messages.js'

const NUMERIC_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/**
 * A decimal as PostgreSQL prints it for a numeric column: no exponent, no `+`, no leading zeros, no negative
 * zero, and with a declared scale exactly that many decimals (the caller has checked that no non-zero digit is
 * lost). Without a scale the decimals the value carries are kept (`1.50` stays `1.50`, `1.5e3` is `1500`).
 */
export function canonicalNumeric(text: string, scale: number | undefined): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (!m || (scale !== undefined && scale < 0)) return text
  const [, sign, intPart = '', fracPart = '', exp = '0'] = m
  const digits = intPart + fracPart
  const shift = Number(exp)
  if (!Number.isSafeInteger(shift) || Math.abs(shift) > 1000) return text
  const point = intPart.length + shift
  let int: string
  let frac: string
  if (point <= 0) {
    int = '0'
    frac = '0'.repeat(-point) + digits
  } else if (point >= digits.length) {
    int = digits + '0'.repeat(point - digits.length)
    frac = ''
  } else {
    int = digits.slice(0, point)
    frac = digits.slice(point)
  }
  int = int.replace(/^0+(?=\d)/, '') || '0'
  if (scale !== undefined) frac = frac.length > scale ? frac.slice(0, scale) : frac.padEnd(scale, '0')
  const zero = /^0*$/.test(int + frac)
  return `${sign === '-' && !zero ? '-' : ''}${int}${frac ? `.${frac}` : ''}`
}

/**
 * numeric and decimal: canonical values are decimal strings as PostgreSQL prints them. numeric(p, s) rounds
 * extra decimals silently: a value with more decimals than the scale, or more digits than the precision allows
 * before the point, is refused.
 */
export class NumericElement extends BaseElement {
  readonly #precision: number | undefined
  readonly #scale: number | undefined

  constructor(column: PgColumn) {
    super(column)
    const c = column as PgColumn & { precision?: number; scale?: number }
    this.#precision = c.precision
    this.#scale = c.scale
  }

  fromApp(value: unknown): CastResult {
    if (typeof value === 'number') {
      if (!Number.isFinite(value))
        return badWith(
          `expected a finite number (${this.expected})`,
          `expected a finite number (${this.expected}), got ${value}`,
        )
      return this.#fits(String(value))
    }
    if (typeof value === 'bigint') return this.#fits(String(value))
    if (typeof value !== 'string' || !(NUMERIC_RE.test(value) || value === 'NaN')) {
      return mismatch(`expected a decimal number as a string (${this.expected})`, value)
    }
    return this.#fits(value)
  }

  #fits(text: string): CastResult {
    if (text === 'NaN') return ok(text)
    const precision = this.#precision
    if (precision === undefined) return ok(canonicalNumeric(text, undefined))
    // numeric(p) is numeric(p, 0) in PostgreSQL (Drizzle leaves the scale undefined).
    const scale = this.#scale ?? 0
    const [mantissa = '', exp = '0'] = text.toLowerCase().replace(/^[+-]/, '').split('e')
    const [intPart = '', fracPart = ''] = mantissa.split('.')
    const shift = Number(exp)
    const digits = (intPart + fracPart).replace(/^0+/, '')
    const intDigits = Math.max(0, intPart.replace(/^0+/, '').length + shift)
    const fracDigits = Math.max(0, fracPart.replace(/0+$/, '').length - shift)
    if (fracDigits > scale) return bad(`has ${fracDigits} decimal places; ${this.expected} keeps ${scale}`)
    if (digits.length > 0 && intDigits > precision - scale) {
      return bad(`is too large for ${this.expected} (at most ${precision - scale} digits before the point)`)
    }
    return ok(canonicalNumeric(text, scale))
  }
}
