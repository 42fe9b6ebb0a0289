import { type Column, getTableColumns, is, type Table } from 'drizzle-orm'
import { PgArray, type PgColumn } from 'drizzle-orm/pg-core'
import {
  byteaFromText,
  byteaToText,
  canonicalSimpleTimestamp,
  dateToMicros,
  formatMicros,
  parseArrayLiteral,
  parseTimestamp,
  printArrayLiteral,
} from './pg-text.js'

/**
 * A JSON value: the canonical form in which Rewind holds every column value, compares values and stores
 * them in events. It round-trips exactly: timestamps as ISO strings with microseconds, bigint and numeric as
 * decimal strings, binary as base64, JSON as JSON, arrays as arrays.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The value families Rewind knows how to read, write and compare exactly. */
export type ValueKind =
  | 'text'
  | 'uuid'
  | 'int'
  | 'bigint'
  | 'float'
  | 'numeric'
  | 'bool'
  | 'json'
  | 'bytea'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'other'

/**
 * Why a value does not fit its column. Values can be secrets (passwords, tokens) and errors end up in logs, so
 * the default, `message`, never shows the value (only its type); `messageWithValue` says the same with the
 * value shown, for a caller that knows the field is not sensitive (see {@link castMessage}).
 */
export interface CastFailure {
  readonly ok: false
  /** What was expected and the type of what came: never the value itself. */
  readonly message: string
  /** The same, showing what came (`got the number 42`): only for fields that are not sensitive. */
  readonly messageWithValue: string
}

export type CastResult = { readonly ok: true; readonly value: Json } | CastFailure

/** The text of a cast failure for a field: the value shown only when the field is not sensitive. */
export function castMessage(failure: CastFailure, sensitive: boolean): string {
  return sensitive ? failure.message : failure.messageWithValue
}

/** How one column's values move between the app, the database text format and canonical JSON. */
export interface ColumnCodec {
  /** The property name in the Drizzle table (and in records and inputs). */
  readonly key: string
  /** The column name in the database. */
  readonly name: string
  readonly sqlType: string
  readonly kind: ValueKind
  /** Array dimensions (0 for a scalar column). */
  readonly dims: number
  /** `'base64'` when canonical values are base64 text of binary data (bytea and bytea arrays). */
  readonly encoder: 'base64' | undefined
  readonly notNull: boolean
  readonly column: PgColumn
  /** Database text output to canonical JSON. */
  fromText(text: string | null): Json
  /** Canonical JSON to the text Rewind sends as a parameter (cast to the column type in SQL). */
  toText(value: Json): string | null
  /** Canonical JSON to the value the app sees in records (what Drizzle would give for this column). */
  toApp(value: Json): unknown
  /** An app value (input) to canonical JSON, or why it does not fit the column. */
  fromApp(value: unknown): CastResult
}

const INT_RANGES: Record<string, readonly [number, number]> = {
  smallint: [-32768, 32767],
  smallserial: [1, 32767],
  integer: [-2147483648, 2147483647],
  serial: [1, 2147483647],
}
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const NUMERIC_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
/** Deeper JSON than this is refused: PostgreSQL's stack would refuse it later, less clearly. */
export const MAX_JSON_DEPTH = 256

function baseType(sqlType: string): string {
  return sqlType
    .toLowerCase()
    .replace(/\[\]/g, '')
    .replace(/\([^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim()
}

function kindOfType(base: string): ValueKind {
  switch (base) {
    case 'text':
    case 'varchar':
    case 'character varying':
    case 'char':
    case 'character':
    case 'citext':
    case 'bpchar':
      return 'text'
    case 'uuid':
      return 'uuid'
    case 'integer':
    case 'int':
    case 'int4':
    case 'smallint':
    case 'int2':
    case 'serial':
    case 'smallserial':
      return 'int'
    case 'bigint':
    case 'int8':
    case 'bigserial':
      return 'bigint'
    case 'real':
    case 'float4':
    case 'double precision':
    case 'float8':
      return 'float'
    case 'numeric':
    case 'decimal':
      return 'numeric'
    case 'boolean':
    case 'bool':
      return 'bool'
    case 'json':
    case 'jsonb':
      return 'json'
    case 'bytea':
      return 'bytea'
    case 'timestamp with time zone':
    case 'timestamptz':
      return 'timestamptz'
    case 'timestamp':
    case 'timestamp without time zone':
      return 'timestamp'
    case 'date':
      return 'date'
    default:
      return 'other'
  }
}

/** What a value is, showing the value (short strings, numbers): for messages about fields that are not sensitive. */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value
    return `the string ${JSON.stringify(shown)}`
  }
  if (typeof value === 'number') return `the number ${value}`
  if (typeof value === 'bigint') return `the bigint ${value}`
  if (Array.isArray(value)) return `an array of length ${value.length}`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** What type a value is, never the value: safe for any field. */
function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'number') return 'a number'
  if (typeof value === 'bigint') return 'a bigint'
  if (Array.isArray(value)) return `an array of length ${value.length}`
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** Why a string cannot be stored exactly as given, or undefined when it can. */
export function stringProblem(value: string): string | undefined {
  if (!value.isWellFormed())
    return 'contains a lone surrogate (invalid UTF-16), which cannot be stored as UTF-8'
  if (value.includes('\u0000')) return 'contains a NUL character, which PostgreSQL text cannot hold'
  return undefined
}

/** Why a value cannot be stored exactly as JSON, or undefined when it can. */
export function jsonProblem(value: unknown, jsonb: boolean, depth = 0): string | undefined {
  if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`
  if (value === null || typeof value === 'boolean') return undefined
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'holds NaN or an infinite number, which JSON cannot represent'
  if (typeof value === 'string') {
    if (!value.isWellFormed()) return 'holds a string with a lone surrogate (invalid UTF-16)'
    if (jsonb && value.includes('\u0000'))
      return 'holds a string with a NUL character, which jsonb cannot hold'
    return undefined
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const p = jsonProblem(item, jsonb, depth + 1)
      if (p) return p
    }
    return undefined
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null)
      return `holds ${kindOf(value)} that is not a plain object`
    for (const [k, v] of Object.entries(value)) {
      if (!k.isWellFormed() || (jsonb && k.includes('\u0000'))) return 'holds a key that is not valid text'
      if (v === undefined) continue
      const p = jsonProblem(v, jsonb, depth + 1)
      if (p) return p
    }
    return undefined
  }
  return `holds ${kindOf(value)}, which is not JSON`
}

function copyJson(value: unknown): Json {
  if (value === null || typeof value !== 'object') return value as Json
  if (Array.isArray(value)) return value.map(copyJson)
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(value)) {
    // Defined as own data properties, so a key named __proto__ stays data and never touches a prototype.
    if (v !== undefined)
      Object.defineProperty(out, k, {
        value: copyJson(v),
        enumerable: true,
        writable: true,
        configurable: true,
      })
  }
  return out
}

/** Deep equality of canonical values; object key order does not matter (jsonb reorders keys). */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as Json[]
    return a.length === bb.length && a.every((v, i) => sameJson(v, bb[i]))
  }
  const ao = a as Record<string, Json>
  const bo = b as Record<string, Json>
  const ak = Object.keys(ao)
  if (ak.length !== Object.keys(bo).length) return false
  return ak.every((k) => Object.hasOwn(bo, k) && sameJson(ao[k], bo[k]))
}

interface ElementCodec {
  fromText(text: string): Json
  toText(value: Json): string
  toApp(value: Json): unknown
  fromApp(value: unknown): CastResult
}

const ok = (value: Json): CastResult => ({ ok: true, value })
/** A failure whose message shows nothing of the value. */
const bad = (message: string): CastFailure => ({ ok: false, message, messageWithValue: message })
/** A failure whose message can show the value: `safe` without it, `withValue` with it. */
const badWith = (safe: string, withValue: string): CastFailure => ({
  ok: false,
  message: safe,
  messageWithValue: withValue,
})
/** "expected ..., got X": the type of X by default, X itself for fields that are not sensitive. */
const mismatch = (expectation: string, value: unknown): CastFailure =>
  badWith(`${expectation}, got ${kindOf(value)}`, `${expectation}, got ${describe(value)}`)

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

function floatCanonical(n: number): Json {
  return Number.isFinite(n) ? n : String(n)
}

function elementCodec(column: PgColumn, kind: ValueKind, base: string): ElementCodec {
  const custom = column.columnType === 'PgCustomColumn'
  const anyColumn = column as PgColumn & { enumValues?: string[]; length?: number }
  const enumValues =
    anyColumn.enumValues && anyColumn.enumValues.length > 0 ? anyColumn.enumValues : undefined
  const maxLength =
    (base === 'varchar' || base === 'character varying' || base === 'char' || base === 'character') &&
    typeof anyColumn.length === 'number'
      ? anyColumn.length
      : undefined
  const mapFrom = (driverValue: unknown): unknown => column.mapFromDriverValue(driverValue)
  const typed = column as PgColumn & { precision?: number; scale?: number }
  const precision = kind === 'timestamptz' || kind === 'timestamp' ? typed.precision : undefined
  /** numeric(p, s) rounds extra decimals silently: refuse them, and digits that would overflow. */
  const numericFits = (text: string): CastResult => {
    if (text === 'NaN') return ok(text)
    if (kind !== 'numeric' || typed.precision === undefined) return ok(canonicalNumeric(text, undefined))
    // numeric(p) is numeric(p, 0) in PostgreSQL (Drizzle leaves the scale undefined).
    const scale = typed.scale ?? 0
    const [mantissa = '', exp = '0'] = text.toLowerCase().replace(/^[+-]/, '').split('e')
    const [intPart = '', fracPart = ''] = mantissa.split('.')
    const shift = Number(exp)
    const digits = (intPart + fracPart).replace(/^0+/, '')
    const intDigits = Math.max(0, intPart.replace(/^0+/, '').length + shift)
    const fracDigits = Math.max(0, fracPart.replace(/0+$/, '').length - shift)
    if (fracDigits > scale) return bad(`has ${fracDigits} decimal places; ${expected} keeps ${scale}`)
    if (digits.length > 0 && intDigits > typed.precision - scale) {
      return bad(`is too large for ${expected} (at most ${typed.precision - scale} digits before the point)`)
    }
    return ok(canonicalNumeric(text, scale))
  }
  const expected = `${column.getSQLType()}`

  const fromText = (text: string): Json => {
    switch (kind) {
      case 'int':
        return Number(text)
      case 'float':
        return floatCanonical(Number(text))
      case 'bool':
        return text === 't' || text === 'true'
      case 'json':
        // Event payloads are often empty: skip the parser for them.
        return text === '{}' ? {} : (JSON.parse(text) as Json)
      case 'bytea':
        return byteaFromText(text).toString('base64')
      case 'timestamptz': {
        const simple = canonicalSimpleTimestamp(text, true)
        if (simple !== undefined) return simple
        const p = parseTimestamp(text)
        return p ? `${formatMicros(p.micros)}Z` : text
      }
      case 'timestamp': {
        const simple = canonicalSimpleTimestamp(text, false)
        if (simple !== undefined) return simple
        const p = parseTimestamp(text)
        return p ? formatMicros(p.micros) : text
      }
      default:
        return text
    }
  }

  const toText = (value: Json): string => {
    switch (kind) {
      case 'bool':
        return value ? 't' : 'f'
      case 'json':
        return JSON.stringify(value)
      case 'bytea':
        return byteaToText(Buffer.from(String(value), 'base64'))
      default:
        return String(value)
    }
  }

  // What the database driver would hand to Drizzle for this canonical value.
  const driverValue = (value: Json): unknown => {
    switch (kind) {
      case 'int':
      case 'float':
        return typeof value === 'number' ? value : Number(value)
      case 'bytea':
        return Buffer.from(String(value), 'base64')
      default:
        return value
    }
  }

  const toApp = (value: Json): unknown => {
    if (custom) return mapFrom(driverValue(value))
    switch (kind) {
      case 'int':
      case 'float':
      case 'bool':
      case 'json':
        return driverValue(value)
      case 'bytea':
        return driverValue(value)
      default:
        return mapFrom(value)
    }
  }

  const textFromApp = (value: unknown): CastResult => {
    if (typeof value !== 'string') return mismatch(`expected a string (${expected})`, value)
    const p = stringProblem(value)
    if (p) return bad(p)
    if (maxLength !== undefined && [...value].length > maxLength) {
      return bad(`expected at most ${maxLength} characters (${expected}), got ${[...value].length}`)
    }
    if (enumValues && !enumValues.includes(value)) {
      return mismatch(`expected one of ${enumValues.map((v) => JSON.stringify(v)).join(', ')}`, value)
    }
    return ok(value)
  }

  // Canonical form of a driver value produced by a custom type's toDriver.
  const fromDriver = (dv: unknown): CastResult => {
    if (dv === null || dv === undefined) return ok(null)
    // What the custom type's toDriver produced must fit the SQL type, or the database would store something else.
    if (kind === 'bytea' && !(dv instanceof Uint8Array)) {
      return mismatch(`expected bytes for ${expected} from the column's toDriver`, dv)
    }
    if (dv instanceof Uint8Array) {
      if (kind !== 'bytea') return bad(`expected a ${expected} value, got bytes from the column's toDriver`)
      return ok(Buffer.from(dv.buffer, dv.byteOffset, dv.byteLength).toString('base64'))
    }
    const scalar =
      kind === 'int' || kind === 'bigint' || kind === 'float' || kind === 'numeric' || kind === 'bool'
    if (scalar && typeof dv === 'object')
      return mismatch(`expected a ${expected} value from the column's toDriver`, dv)
    if (kind === 'bool' && typeof dv !== 'boolean')
      return mismatch(`expected a boolean from the column's toDriver`, dv)
    if (kind === 'int' && !(typeof dv === 'number' && Number.isInteger(dv))) {
      return mismatch(`expected an integer from the column's toDriver`, dv)
    }
    if (typeof dv === 'string') {
      const p = stringProblem(dv)
      if (p) return bad(p)
      if (kind !== 'json') return ok(fromText(dv))
      try {
        return ok(JSON.parse(dv) as Json)
      } catch {
        // JSON.parse's message quotes the text: never pass it on.
        return bad(`expected JSON text for ${expected} from the column's toDriver, got text that is not JSON`)
      }
    }
    if (typeof dv === 'number')
      return ok(kind === 'float' || kind === 'int' ? floatCanonical(dv) : String(dv))
    if (typeof dv === 'bigint') return ok(String(dv))
    if (typeof dv === 'boolean') return ok(kind === 'bool' ? dv : String(dv))
    if (dv instanceof Date) return ok(fromText(dv.toISOString()))
    const p = jsonProblem(dv, true)
    if (p) return bad(`the value ${p}`)
    return ok(copyJson(dv))
  }

  const fromApp = (value: unknown): CastResult => {
    if (custom) {
      let dv: unknown
      try {
        dv = column.mapToDriverValue(value)
      } catch (e) {
        // The app's toDriver may quote the value in its message: only for fields that are not sensitive.
        return badWith(
          `the column's toDriver could not convert ${kindOf(value)} to ${expected}`,
          `could not convert ${describe(value)} to ${expected}: ${(e as Error)?.message}`,
        )
      }
      return fromDriver(dv)
    }
    switch (kind) {
      case 'text':
      case 'other':
        return textFromApp(value)
      case 'uuid':
        if (typeof value !== 'string' || !UUID_RE.test(value)) return mismatch('expected a UUID', value)
        return ok(value.toLowerCase().replace(/^(.{8})-?(.{4})-?(.{4})-?(.{4})-?(.{12})$/, '$1-$2-$3-$4-$5'))
      case 'int': {
        const range = INT_RANGES[base] ?? INT_RANGES.integer!
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          return mismatch(`expected an integer (${expected})`, value)
        }
        if (value < range[0] || value > range[1]) {
          const expectation = `expected an integer from ${range[0]} to ${range[1]} (${expected})`
          return badWith(expectation, `${expectation}, got ${value}`)
        }
        return ok(value)
      }
      case 'bigint': {
        const wantsBigint = column.columnType === 'PgBigInt64' || column.columnType === 'PgBigSerial64'
        let n: bigint
        if (wantsBigint) {
          if (typeof value !== 'bigint') return mismatch(`expected a bigint (${expected})`, value)
          n = value
        } else {
          if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
            return mismatch(`expected a safe integer (${expected}, mode 'number')`, value)
          }
          n = BigInt(value)
        }
        if (n < INT64_MIN || n > INT64_MAX)
          return badWith('expected a 64-bit integer', `expected a 64-bit integer, got ${n}`)
        return ok(String(n))
      }
      case 'float':
        if (typeof value !== 'number') return mismatch(`expected a number (${expected})`, value)
        // A 4-byte float would store a rounded value: refuse rather than store something else.
        if (
          (base === 'real' || base === 'float4') &&
          Number.isFinite(value) &&
          Math.fround(value) !== value
        ) {
          const problem = 'is not exactly representable as a 4-byte float (real); use double precision'
          return badWith(`the number ${problem}`, `${value} ${problem}`)
        }
        return ok(floatCanonical(value))
      case 'numeric': {
        if (typeof value === 'number') {
          if (!Number.isFinite(value))
            return badWith(
              `expected a finite number (${expected})`,
              `expected a finite number (${expected}), got ${value}`,
            )
          return numericFits(String(value))
        }
        if (typeof value === 'bigint') return numericFits(String(value))
        if (typeof value !== 'string' || !(NUMERIC_RE.test(value) || value === 'NaN')) {
          return mismatch(`expected a decimal number as a string (${expected})`, value)
        }
        return numericFits(value)
      }
      case 'bool':
        if (typeof value !== 'boolean') return mismatch('expected a boolean', value)
        return ok(value)
      case 'json': {
        if (value === undefined) return bad('expected a JSON value, got undefined')
        const p = jsonProblem(value, base === 'jsonb')
        if (p) return bad(`the value ${p}`)
        return ok(copyJson(value))
      }
      case 'bytea':
        if (!(value instanceof Uint8Array)) return mismatch('expected bytes (Uint8Array or Buffer)', value)
        return ok(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'))
      case 'timestamptz':
      case 'timestamp': {
        let micros: bigint
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) return bad('expected a valid date, got an invalid Date')
          micros = dateToMicros(value)
          const year = value.getUTCFullYear()
          if (year < 1 || year > 294276)
            return badWith(
              'expected a year from 1 to 294276',
              `expected a year from 1 to 294276, got ${year}`,
            )
        } else if (typeof value === 'string') {
          const simple = canonicalSimpleTimestamp(value, kind === 'timestamptz')
          // The common case (a canonical value, as events store them): no detour through microseconds.
          if (
            simple !== undefined &&
            (precision === undefined || precision >= 6 || /^0*$/.test(simple.slice(20 + precision, 26)))
          )
            return ok(simple)
          // A timestamp without time zone ignores any offset in its input, as PostgreSQL does.
          const text = kind === 'timestamp' ? value.replace(/(Z|[+-]\d{2}(:?\d{2})?(:?\d{2})?)$/, '') : value
          const p = parseTimestamp(text.trim())
          if (!p) return mismatch('expected an ISO 8601 timestamp', value)
          // Values a column would round are refused, as for numerics: PostgreSQL keeps microseconds.
          if (p.rounded) {
            return bad(
              `has more than 6 fractional digits; PostgreSQL keeps microseconds at most (${expected}) and would round it`,
            )
          }
          micros = p.micros
        } else {
          return mismatch(`expected a Date or an ISO 8601 string (${expected})`, value)
        }
        if (precision !== undefined && precision < 6 && micros % 10n ** BigInt(6 - precision) !== 0n) {
          return bad(
            `has more fractional digits than the column keeps (${expected}); PostgreSQL would round it`,
          )
        }
        return ok(kind === 'timestamptz' ? `${formatMicros(micros)}Z` : formatMicros(micros))
      }
      case 'date': {
        let text: string
        if (value instanceof Date) {
          if (Number.isNaN(value.getTime())) return bad('expected a valid date, got an invalid Date')
          text = value.toISOString().slice(0, 10)
        } else if (typeof value === 'string') {
          text = value
        } else {
          return mismatch('expected a Date or a YYYY-MM-DD string', value)
        }
        const m = DATE_RE.exec(text)
        const p = m ? parseTimestamp(`${text}T00:00:00Z`) : undefined
        if (!p) return mismatch('expected a date as YYYY-MM-DD', value)
        return ok(text)
      }
    }
  }

  return { fromText, toText, toApp, fromApp }
}

function arrayDepth(value: unknown): number {
  let d = 0
  let v = value
  while (Array.isArray(v)) {
    d++
    v = v[0]
  }
  return d
}

/** Builds the codec of one Drizzle column. */
export function columnCodec(key: string, column: PgColumn): ColumnCodec {
  const sqlType = column.getSQLType()
  const dims = (sqlType.match(/\[\]/g) ?? []).length
  let element: PgColumn = column
  while (is(element, PgArray)) element = (element as PgArray<any, any>).baseColumn as PgColumn
  const base = baseType(element.getSQLType())
  const kind = kindOfType(base)
  const el = elementCodec(element, kind, base)
  const encoder = kind === 'bytea' ? 'base64' : undefined
  const notNull = column.notNull

  if (dims === 0) {
    return {
      key,
      name: column.name,
      sqlType,
      kind,
      dims,
      encoder,
      notNull,
      column,
      fromText: (text) => (text === null ? null : el.fromText(text)),
      toText: (value) => (value === null ? null : el.toText(value)),
      toApp: (value) => (value === null ? null : el.toApp(value)),
      fromApp: (value) => (value === null || value === undefined ? ok(null) : el.fromApp(value)),
    }
  }

  const mapNested = (value: unknown, fn: (item: Json) => unknown): unknown =>
    Array.isArray(value)
      ? value.map((item) => mapNested(item, fn))
      : value === null
        ? null
        : fn(value as Json)

  return {
    key,
    name: column.name,
    sqlType,
    kind,
    dims,
    encoder,
    notNull,
    column,
    fromText: (text) =>
      text === null ? null : (mapNested(parseArrayLiteral(text), (t) => el.fromText(t as string)) as Json),
    toText: (value) =>
      value === null ? null : printArrayLiteral(mapNested(value, (v) => el.toText(v)) as unknown[]),
    toApp: (value) => (value === null ? null : mapNested(value, (v) => el.toApp(v))),
    fromApp: (value) => {
      if (value === null || value === undefined) return ok(null)
      if (!Array.isArray(value)) return mismatch(`expected an array (${sqlType})`, value)
      if (dims > 1 && value.length > 0 && arrayDepth(value) !== dims) {
        return bad(`expected a ${dims}-dimensional array (${sqlType})`)
      }
      const walk = (v: unknown, depth: number, path: string): CastResult => {
        if (depth < dims) {
          if (!Array.isArray(v)) return mismatch(`expected an array at ${path || 'the top'} (${sqlType})`, v)
          const out: Json[] = []
          for (let i = 0; i < v.length; i++) {
            const r = walk(v[i], depth + 1, `${path}[${i}]`)
            if (!r.ok) return r
            out.push(r.value)
          }
          if (depth > 0 || dims > 1) {
            // PostgreSQL requires sub-arrays of one dimension to have the same length.
            const lengths = new Set(out.map((x) => (Array.isArray(x) ? x.length : -1)))
            if (lengths.size > 1) return bad(`expected sub-arrays of equal length (${sqlType})`)
          }
          return ok(out)
        }
        if (v === null || v === undefined) return ok(null)
        const r = el.fromApp(v)
        return r.ok ? r : badWith(`${path}: ${r.message}`, `${path}: ${r.messageWithValue}`)
      }
      return walk(value, 0, '')
    },
  }
}

/** The codecs of every column of a table, by property key. */
export function tableCodecs(table: Table): Map<string, ColumnCodec> {
  const out = new Map<string, ColumnCodec>()
  for (const [key, column] of Object.entries(getTableColumns(table) as Record<string, Column>)) {
    out.set(key, columnCodec(key, column as PgColumn))
  }
  return out
}
