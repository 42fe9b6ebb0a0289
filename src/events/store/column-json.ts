import type { ColumnCodec } from '../../data/column-codec.js'

/**
 * An expression that fails the statement (22P02, its message holding `rewind:fallback`) for a value whose
 * exact JSON SQL cannot give (a timestamp outside years 1-9999, an array of several dimensions): the caller
 * then writes the row and its event the other way, in a transaction. Not constant, so never folded at plan
 * time; it quotes no value.
 */
export const FALLBACK_MARK = 'rewind:fallback'
const fallback = `(('${FALLBACK_MARK}:' || pg_backend_pid()::text)::int)::text`

/** Whether an error is the {@link FALLBACK_MARK} failure. */
export function isFallback(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown } | null
  if (e?.code === '22P02' && typeof e.message === 'string' && e.message.includes(FALLBACK_MARK)) return true
  return e?.cause !== undefined && e.cause !== e && isFallback(e.cause)
}

/** The canonical JSON (as the codec's fromText gives it) of one non-null value `x` of the column's kind. */
function elementJson(codec: ColumnCodec, x: string): string | undefined {
  switch (codec.kind) {
    case 'text':
    case 'uuid':
    case 'date':
    case 'other':
    case 'bigint':
    case 'numeric':
      return `to_jsonb((${x})::text)`
    case 'int':
    case 'bool':
      return `to_jsonb(${x})`
    case 'float':
      return `(CASE WHEN (${x}) IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN to_jsonb((${x})::text) ELSE to_jsonb(${x}) END)`
    case 'json':
      // json (not jsonb) keeps key order and duplicates, and may hold what jsonb cannot: not here.
      return /\bjsonb\b/i.test(codec.sqlType) ? `(${x})::jsonb` : undefined
    case 'bytea':
      return `to_jsonb(translate(encode(${x}, 'base64'), E'\\n', ''))`
    case 'timestamptz':
      return `to_jsonb(CASE WHEN (${x}) >= '0001-01-01 00:00:00+00'::timestamptz AND (${x}) < '10000-01-01 00:00:00+00'::timestamptz THEN to_char((${x}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE ${fallback} END)`
    case 'timestamp':
      return `to_jsonb(CASE WHEN (${x}) >= '0001-01-01 00:00:00'::timestamp AND (${x}) < '10000-01-01 00:00:00'::timestamp THEN to_char(${x}, 'YYYY-MM-DD"T"HH24:MI:SS.US') ELSE ${fallback} END)`
  }
}

/**
 * An SQL expression giving the canonical JSON of the column's value `x` (JSON null for NULL), exactly what
 * the codec's fromText gives from the column's text, so an event captured in SQL equals one captured from the
 * row images in JavaScript; undefined for a column whose JSON SQL cannot give exactly.
 */
export function columnJson(codec: ColumnCodec, x: string): string | undefined {
  if (codec.dims > 1) return undefined
  if (codec.dims === 0) {
    const e = elementJson(codec, x)
    return e === undefined ? undefined : `COALESCE(${e}, 'null'::jsonb)`
  }
  const e = elementJson(codec, 'rewind_a.e')
  if (e === undefined) return undefined
  return `(CASE WHEN (${x}) IS NULL THEN 'null'::jsonb WHEN array_ndims(${x}) > 1 OR array_lower(${x}, 1) <> 1 THEN ${fallback}::jsonb ELSE (SELECT COALESCE(jsonb_agg(COALESCE(${e}, 'null'::jsonb) ORDER BY rewind_a.i), '[]'::jsonb) FROM unnest(${x}) WITH ORDINALITY AS rewind_a(e, i)) END)`
}
