import { type Column, getTableColumns, is, type Table } from 'drizzle-orm'
import { PgArray, type PgColumn } from 'drizzle-orm/pg-core'
import { quoteIdent } from '../schema/names.js'
import { ArrayCodec } from './array.js'
import { BigintElement } from './bigint.js'
import { BoolElement } from './bool.js'
import { ByteaElement } from './bytea.js'
import type { ColumnCodec, ColumnInfo, ElementCodec, ValueKind } from './codec.js'
import { CustomElement } from './custom.js'
import { DateElement } from './date.js'
import { FloatElement } from './float.js'
import { IntElement } from './int.js'
import { JsonElement } from './json.js'
import { NumericElement } from './numeric.js'
import { ScalarCodec } from './scalar.js'
import { TextElement } from './text.js'
import { TimestampElement } from './timestamp.js'
import { UuidElement } from './uuid.js'

/** An element codec's class: built once per column from the column, its base SQL type and its kind. */
type ElementClass = new (column: PgColumn, base: string, kind: ValueKind, dims: number) => ElementCodec

/**
 * Every kind: the SQL types it reads (lower case, without modifiers or `[]`) and the class of its element codec.
 * A new kind is a file with its element class and an entry here (and its name in {@link ValueKind}).
 */
const KINDS: Readonly<
  Record<ValueKind, { readonly types: readonly string[]; readonly element: ElementClass }>
> = {
  text: {
    types: ['text', 'varchar', 'character varying', 'char', 'character', 'citext', 'bpchar'],
    element: TextElement,
  },
  uuid: { types: ['uuid'], element: UuidElement },
  int: {
    types: ['integer', 'int', 'int4', 'smallint', 'int2', 'serial', 'smallserial'],
    element: IntElement,
  },
  bigint: { types: ['bigint', 'int8', 'bigserial'], element: BigintElement },
  float: { types: ['real', 'float4', 'double precision', 'float8'], element: FloatElement },
  numeric: { types: ['numeric', 'decimal'], element: NumericElement },
  bool: { types: ['boolean', 'bool'], element: BoolElement },
  json: { types: ['json', 'jsonb'], element: JsonElement },
  bytea: { types: ['bytea'], element: ByteaElement },
  timestamptz: { types: ['timestamp with time zone', 'timestamptz'], element: TimestampElement },
  timestamp: { types: ['timestamp', 'timestamp without time zone'], element: TimestampElement },
  date: { types: ['date'], element: DateElement },
  // Every other type (enums, interval, inet, ...) is held as PostgreSQL's text output.
  other: { types: [], element: TextElement },
}

const KIND_OF_TYPE = new Map<string, ValueKind>(
  Object.entries(KINDS).flatMap(([kind, { types }]) => types.map((t) => [t, kind as ValueKind] as const)),
)

/** `character varying(10)[]` → `character varying`. */
function baseType(sqlType: string): string {
  return sqlType
    .toLowerCase()
    .replace(/\[\]/g, '')
    .replace(/\([^)]*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim()
}

const SERIALS: Readonly<Record<string, string>> = {
  smallserial: 'smallint',
  serial: 'integer',
  bigserial: 'bigint',
}

/** The cast type of a column: see {@link ColumnCodec.castType}. */
function castTypeOf(element: PgColumn, dims: number): string {
  const brackets = '[]'.repeat(dims)
  // The enum is on the element column: an array column's own SQL type names it unquoted (`Mood[]`).
  const e = (element as PgColumn & { enum?: { enumName: string; schema?: string } }).enum
  if (e) {
    const name = e.schema ? `${quoteIdent(e.schema)}.${quoteIdent(e.enumName)}` : quoteIdent(e.enumName)
    return `${name}${brackets}`
  }
  const base = element
    .getSQLType()
    .replace(/\([^)]*\)/g, '')
    .trim()
  // `char` without its length is `char(1)`, to which an explicit cast cuts the value: `bpchar` has no length.
  // A serial is its integer type with a default: there is no type `serial` to cast to.
  return `${/^(char|character)$/i.test(base) ? 'bpchar' : (SERIALS[base.toLowerCase()] ?? base)}${brackets}`
}

/** Builds the codec of one Drizzle column. */
export function columnCodec(key: string, column: PgColumn): ColumnCodec {
  const sqlType = column.getSQLType()
  const dims = (sqlType.match(/\[\]/g) ?? []).length
  let element: PgColumn = column
  while (is(element, PgArray)) element = (element as PgArray<any, any>).baseColumn as PgColumn
  const base = baseType(element.getSQLType())
  const kind = KIND_OF_TYPE.get(base) ?? 'other'
  let el = new KINDS[kind].element(element, base, kind, dims)
  if (element.columnType === 'PgCustomColumn') el = new CustomElement(element, kind, el)
  const info: ColumnInfo = {
    key,
    name: column.name,
    sqlType,
    castType: castTypeOf(element, dims),
    kind,
    dims,
    encoder: kind === 'bytea' ? 'base64' : undefined,
    notNull: column.notNull,
    column,
  }
  return dims === 0 ? new ScalarCodec(info, el) : new ArrayCodec(info, el)
}

/** The codecs of every column of a table, by property key. */
export function tableCodecs(table: Table): Map<string, ColumnCodec> {
  const out = new Map<string, ColumnCodec>()
  for (const [key, column] of Object.entries(getTableColumns(table) as Record<string, Column>)) {
    out.set(key, columnCodec(key, column as PgColumn))
  }
  return out
}
