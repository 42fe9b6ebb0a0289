/**
 * Parsing and printing of PostgreSQL's text formats that Rewind needs to read every value exactly:
 * timestamps (to a canonical UTC form with microseconds), array literals and bytea hex.
 *
 * Rewind reads every column as the database's own text output (never through a driver's parser, which
 * would lose microseconds or the exact digits of a numeric) and converts that text here.
 */

const TIMESTAMP_RE =
  /^(\d{4,6})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/

export interface ParsedTimestamp {
  /** Microseconds since the epoch, as an exact bigint. */
  readonly micros: bigint
  /** Whether the text carried an offset or `Z`. */
  readonly hasZone: boolean
  /**
   * Whether the text had non-zero digits past the microsecond (7 to 9 fractional digits): PostgreSQL rounds
   * them away, and `micros` is rounded the same way.
   */
  readonly rounded: boolean
}

const MAX_YEAR = 294276

/** Parses `YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][Z|±HH[:MM[:SS]]]`. Returns undefined for anything else. */
export function parseTimestamp(text: string): ParsedTimestamp | undefined {
  const m = TIMESTAMP_RE.exec(text)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om, os] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = s === undefined ? 0 : Number(s)
  if (year < 1 || year > MAX_YEAR || month < 1 || month > 12 || day < 1 || day > 31) return undefined
  if (hour > 24 || minute > 59 || second > 60) return undefined
  if (hour === 24 && (minute !== 0 || second !== 0 || (frac !== undefined && /[1-9]/.test(frac))))
    return undefined
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  // Reject dates JavaScript rolled over (February 30th), which PostgreSQL also rejects.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined
  }
  date.setUTCHours(0, 0, 0, 0)
  let micros = BigInt(date.getTime()) * 1000n
  micros += BigInt(hour * 3600 + minute * 60 + second) * 1_000_000n
  let rounded = false
  if (frac !== undefined) {
    // PostgreSQL rounds to microseconds; so do we, half away from zero.
    const digits = `${frac}000000000`.slice(0, 9)
    let us = BigInt(digits.slice(0, 6))
    if (Number(digits[6]) >= 5) us += 1n
    micros += us
    rounded = /[1-9]/.test(digits.slice(6))
  }
  if (sign !== undefined) {
    const offsetSeconds = Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)
    micros += (sign === '+' ? -1n : 1n) * BigInt(offsetSeconds) * 1_000_000n
  }
  return { micros, hasZone: z !== undefined || sign !== undefined, rounded }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

// The `YYYY-MM-DDTHH:MM:SS` of the second formatted last: timestamps taken in a row (timestamps() on every
// write) mostly fall in the same second, and then only the fraction is new.
let lastSecond = Number.NaN
let lastPrefix = ''

/** Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC, no zone suffix). */
export function formatMicros(micros: bigint): string {
  let ms = micros / 1000n
  let us = micros % 1000n
  if (us < 0n) {
    us += 1000n
    ms -= 1n
  }
  return formatMillis(Number(ms), Number(us))
}

/**
 * {@link formatMicros} of a time the clock gave ({@link nowMicros}): microseconds as a number, exact for every
 * time before the year 2255, with no BigInt arithmetic.
 */
export function formatClockMicros(micros: number): string {
  const ms = Math.floor(micros / 1000)
  return formatMillis(ms, micros - ms * 1000)
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` of a millisecond since the epoch and the microseconds (0–999) past it. */
function formatMillis(msNumber: number, us: number): string {
  const second = Math.floor(msNumber / 1000)
  const frac = pad((msNumber - second * 1000) * 1000 + us, 6)
  if (second !== lastSecond) {
    const d = new Date(second * 1000)
    lastPrefix = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(
      d.getUTCMinutes(),
      2,
    )}:${pad(d.getUTCSeconds(), 2)}`
    lastSecond = second
  }
  return `${lastPrefix}.${frac}`
}

// The two shapes almost every timestamp arrives in: Rewind's canonical form (`2026-01-02T03:04:05.123456Z`, what
// events store) and PostgreSQL's output in a UTC session (`2026-01-02 03:04:05.123+00`). Read a character at a
// time (a regular expression with captures cost as much as the rest of decoding a row).

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The number written by `n` ASCII digits at `i`, or -1. */
function digits(text: string, i: number, n: number): number {
  let v = 0
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k)
    if (c < 48 || c > 57) return -1
    v = v * 10 + (c - 48)
  }
  return v
}

/**
 * The canonical text of a timestamp in one of the simple shapes, without going through microseconds:
 * `YYYY-MM-DDTHH:MM:SS.ffffff` plus `Z` when `zone`. Undefined for anything else (other offsets, years
 * outside 1000–9999, leap seconds, 24:00, rolled-over dates, more than six fractional digits), which
 * {@link parseTimestamp} and {@link formatMicros} handle; for the shapes it accepts, both give the same text.
 */
export function canonicalSimpleTimestamp(text: string, zone: boolean): string | undefined {
  // A row's timestamps are often the same text (a create's created_at and updated_at): the last one is kept.
  if (text === lastText && zone === lastZone) return lastCanonical
  lastCanonical = simpleTimestamp(text, zone)
  lastText = text
  lastZone = zone
  return lastCanonical
}

let lastText = ''
let lastZone = false
let lastCanonical: string | undefined

function simpleTimestamp(text: string, zone: boolean): string | undefined {
  const len = text.length
  if (len < 19) return undefined
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  const day = digits(text, 8, 2)
  const sep = text.charCodeAt(10)
  if (
    year < 1000 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    (sep !== 32 && sep !== 84) ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  )
    return undefined
  const h = digits(text, 11, 2)
  const mi = digits(text, 14, 2)
  const s = digits(text, 17, 2)
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > DAYS[month - 1]! + (leap ? 1 : 0)) return undefined
  let i = 19
  let frac = 0
  if (i < len && text.charCodeAt(i) === 46) {
    i++
    while (i < len && frac < 7) {
      const c = text.charCodeAt(i)
      if (c < 48 || c > 57) break
      i++
      frac++
    }
    if (frac === 0 || frac > 6) return undefined
  }
  let zoned = false
  if (i < len) {
    if (i + 1 === len && text.charCodeAt(i) === 90) zoned = true
    else if (
      i + 3 === len &&
      text.charCodeAt(i) === 43 &&
      text.charCodeAt(i + 1) === 48 &&
      text.charCodeAt(i + 2) === 48
    )
      zoned = true
    else return undefined
  }
  // Without a zone a timestamptz would be read in the session's zone; an offset on a plain timestamp is ignored
  // by the slow path. Leave both to it.
  if (zone !== zoned) return undefined
  // Already canonical: the text itself.
  if (sep === 84 && frac === 6 && len === (zone ? 27 : 26)) return text
  const f = frac === 0 ? '000000' : text.slice(20, 20 + frac).padEnd(6, '0')
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${f}${zone ? 'Z' : ''}`
}

/** Microseconds since the epoch of a JavaScript Date (which has millisecond precision). */
export function dateToMicros(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n
}

let lastMicros = 0
/** Wall-clock milliseconds minus `performance.now()`, re-anchored whenever the two clocks disagree. */
let anchorMs = Number.NaN

/**
 * The current time with microseconds. JavaScript's Date has only milliseconds; PostgreSQL keeps microseconds,
 * so app-side timestamps take the sub-millisecond part from the monotonic clock. The wall clock decides which
 * millisecond it is: whenever the monotonic estimate leaves `Date.now()`'s millisecond (drift, a clock step, a
 * suspended machine), it is anchored again, so a time recorded after `new Date()` is never earlier than it.
 * Strictly increasing within the process, unless the system clock is set back by more than a millisecond
 * (then the times follow it back, as PostgreSQL's clock_timestamp() would). A Number: an exact integer for every
 * time before the year 2255 (2^53 microseconds), with none of BigInt's allocations (timestamps() reads the clock
 * on every write).
 */
export function nowMicros(): number {
  const wall = Date.now()
  const mono = performance.now()
  let estimate = mono + anchorMs
  if (!(estimate >= wall && estimate < wall + 1)) {
    anchorMs = wall - mono
    estimate = wall
  }
  let now = wall * 1000 + Math.min(999, Math.floor((estimate - wall) * 1000))
  if (now <= lastMicros && lastMicros - now < 1000) now = lastMicros + 1
  lastMicros = now
  return now
}

/** The whitespace PostgreSQL's array parser skips around elements: space, \t, \n, \r, \v, \f, nothing else. */
const ARRAY_SPACE = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g

/** Parses a PostgreSQL array literal (`{a,"b c",NULL,{1,2}}`) into nested arrays of element texts. */
export function parseArrayLiteral(text: string): unknown[] {
  let i = 0
  // An optional dimension decoration: `[1:2]={...}`.
  if (text[0] === '[') {
    const eq = text.indexOf('=')
    if (eq < 0) throw new Error(`not a PostgreSQL array literal: ${text.slice(0, 40)}`)
    i = eq + 1
  }
  const parse = (): unknown[] => {
    if (text[i] !== '{') throw new Error(`not a PostgreSQL array literal: ${text.slice(0, 40)}`)
    i++
    const out: unknown[] = []
    if (text[i] === '}') {
      i++
      return out
    }
    for (;;) {
      const ch = text[i]
      if (ch === '{') {
        out.push(parse())
      } else if (ch === '"') {
        i++
        let s = ''
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++
          s += text[i]
          i++
        }
        i++
        out.push(s)
      } else {
        let j = i
        while (j < text.length && text[j] !== ',' && text[j] !== '}') j++
        // PostgreSQL quotes every element with whitespace in its own, ASCII, sense (array_isspace), so an
        // unquoted element is taken whole: JavaScript's trim() would also strip U+00A0, U+2028, U+3000, U+FEFF.
        const raw = text.slice(i, j).replace(ARRAY_SPACE, '')
        out.push(raw.toUpperCase() === 'NULL' ? null : raw)
        i = j
      }
      if (text[i] === ',') {
        i++
        continue
      }
      if (text[i] === '}') {
        i++
        return out
      }
      throw new Error(`malformed PostgreSQL array literal near position ${i}`)
    }
  }
  return parse()
}

/** Prints nested arrays of element texts (or null) as a PostgreSQL array literal, quoting every element. */
export function printArrayLiteral(items: readonly unknown[]): string {
  const parts = items.map((item) => {
    if (item === null) return 'NULL'
    if (Array.isArray(item)) return printArrayLiteral(item)
    return `"${String(item).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
  })
  return `{${parts.join(',')}}`
}

/** bytea hex text (`\x00ff`) to bytes. */
export function byteaFromText(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex')
  // The legacy escape format, in case a server is configured with bytea_output = escape.
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      if (text[i + 1] === '\\') {
        bytes.push(92)
        i++
      } else {
        bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8))
        i += 3
      }
    } else {
      bytes.push(text.charCodeAt(i))
    }
  }
  return Buffer.from(bytes)
}

/** Bytes to bytea hex text. */
export function byteaToText(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}
