import type { ColumnCodec } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import type { RawRow } from '../data/database.js'
import type { AnyResource } from '../resource/define-resource.js'

/** A row in canonical values, by column key (see columns/: the exact form of every value). */
export type Row = ReadonlyMap<string, Json>

/** A raw row (keyed by column key, possibly prefixed) to canonical values. */
export function canonicalRow(resource: AnyResource, row: RawRow, prefix = ''): Map<string, Json> {
  const out = new Map<string, Json>()
  for (const codec of resource.codecs.values()) {
    out.set(codec.key, codec.fromText(row[prefix + codec.key] ?? null))
  }
  return out
}

/**
 * A written row from what its statement returned and, for each column it did not return (one whose stored value
 * the write knew: see InsertOptions.returnUnknown), the value it set.
 */
export function completedRow(resource: AnyResource, row: RawRow, values: Row): Map<string, Json> {
  const out = new Map<string, Json>()
  for (const codec of resource.codecs.values()) out.set(codec.key, writtenValue(codec, row, values))
  return out
}

/**
 * The record the app sees of a written row: {@link appRecord} of {@link completedRow}, in one pass (the compiled
 * write's result, actions/compiled-write.ts).
 */
export function writtenRecord(resource: AnyResource, row: RawRow, values: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const codec of resource.codecs.values())
    out[codec.key] = appValue(codec, writtenValue(codec, row, values))
  return out
}

/**
 * A column of a written row: as returned (text or NULL; any other value is not the row's, a key such as
 * "constructor"), else the value set.
 */
function writtenValue(codec: ColumnCodec, row: RawRow, values: Row): Json {
  const text = row[codec.key]
  return typeof text === 'string' || text === null ? codec.fromText(text) : values.get(codec.key)!
}

/** A canonical value as the app sees it (a column absent from the values: null). */
function appValue(codec: ColumnCodec, value: Json | undefined): unknown {
  return value === undefined ? null : codec.toApp(value)
}

/** Canonical values to the record the app sees. */
export function appRecord(resource: AnyResource, values: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const codec of resource.codecs.values()) out[codec.key] = appValue(codec, values.get(codec.key))
  return out
}

/** The key a row is kept under in memory: the canonical primary-key value as text. */
export function rowKey(id: Json): string {
  return typeof id === 'string' ? id : JSON.stringify(id)
}
