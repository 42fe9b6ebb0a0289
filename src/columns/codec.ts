import type { PgColumn } from 'drizzle-orm/pg-core'
import type { CastResult } from './messages.js'
import type { Json } from './values.js'

/** The value families Rewind knows how to read, write and compare exactly (one file per kind in this folder). */
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
 * How one column's values move between the app, the database text format and canonical JSON. Built once per
 * column by `columnCodec` (column-codec.ts): a scalar codec (scalar.ts) or an array codec (array.ts) around the
 * element codec of the column's kind.
 */
export abstract class ColumnCodec {
  /** The property name in the Drizzle table (and in records and inputs). */
  readonly key: string
  /** The column name in the database. */
  readonly name: string
  readonly sqlType: string
  /**
   * The SQL type a text parameter is cast to (`$1::text::timestamptz`): the column type without modifiers, so an
   * oversized value fails on assignment instead of being truncated by an explicit cast to `varchar(n)`; enum
   * types quoted and schema-qualified; `[]` per array dimension.
   */
  readonly castType: string
  readonly kind: ValueKind
  /** Array dimensions (0 for a scalar column). */
  readonly dims: number
  /** `'base64'` when canonical values are base64 text of binary data (bytea and bytea arrays). */
  readonly encoder: 'base64' | undefined
  readonly notNull: boolean
  readonly column: PgColumn
  /** Whether a canonical value is stored and printed back exactly as sent (see {@link storesAsSent}). */
  readonly storedAsSent: boolean

  constructor(
    info: ColumnInfo,
    protected readonly element: ElementCodec,
  ) {
    this.key = info.key
    this.name = info.name
    this.sqlType = info.sqlType
    this.castType = info.castType
    this.kind = info.kind
    this.dims = info.dims
    this.encoder = info.encoder
    this.notNull = info.notNull
    this.column = info.column
    this.storedAsSent = storesAsSent(info)
  }

  /** Database text output to canonical JSON. */
  abstract fromText(text: string | null): Json
  /** Canonical JSON to the text Rewind sends as a parameter (cast to {@link castType} in SQL). */
  abstract toText(value: Json): string | null
  /** Canonical JSON to the value the app sees in records (what Drizzle would give for this column). */
  abstract toApp(value: Json): unknown
  /** An app value (input) to canonical JSON, or why it does not fit the column. */
  abstract fromApp(value: unknown): CastResult
  /**
   * An SQL expression giving the canonical JSON (jsonb; JSON null for NULL) of the column's value `x`: what
   * {@link fromText} gives from the column's text. Undefined for a column whose JSON SQL cannot give exactly.
   */
  abstract jsonSql(x: string): string | undefined
}

/**
 * Whether two values of the column are the same canonical value exactly when SQL says they are not distinct
 * (`IS NOT DISTINCT FROM` on {@link ColumnCodec.castType}): timestamps, the same instant (or local time) to the
 * microsecond, which is what their canonical text says. Such a column's value is compared in SQL as itself,
 * not as its canonical JSON (which for a timestamp takes a `to_char`). Other kinds are compared as JSON: text
 * under a collation, numerics of different scales, floats' -0 are equal in SQL but not as canonical values.
 */
export function comparesNatively(codec: ColumnCodec): boolean {
  return (
    codec.dims === 0 &&
    (codec.kind === 'timestamp' || codec.kind === 'timestamptz') &&
    codec.column.columnType !== 'PgCustomColumn'
  )
}

/**
 * Whether the database stores a canonical value of the column exactly as its parameter text says, and prints it
 * back as text that {@link ColumnCodec.fromText} turns into the same value: a uuid, integer, bigint, boolean,
 * `text` or `varchar` column (assignment refuses a value too long: nothing is cut) or a timestamp (`fromApp`
 * refuses what the column would round; `timestamps()` reads the clock at the column's precision). Not `char(n)`
 * (blank-padded), numerics, floats, JSON (jsonb orders keys), bytes, dates, arrays, custom types or other kinds.
 * It holds for canonical values (what `fromApp` gives), not for one given with `exact()` (an action that sets one
 * is written in two statements, see actions/event-with-row.ts). An insert that sets such a column knows what it
 * stored without reading it back (rows/row-statements.ts). Decided once per column: see
 * {@link ColumnCodec.storedAsSent}.
 */
function storesAsSent(info: ColumnInfo): boolean {
  if (info.dims !== 0 || info.column.columnType === 'PgCustomColumn') return false
  switch (info.kind) {
    case 'uuid':
    case 'int':
    case 'bigint':
    case 'bool':
    case 'timestamp':
    case 'timestamptz':
      return true
    case 'text':
      return /^(text|varchar|character varying)\b/i.test(info.sqlType)
    default:
      return false
  }
}

/** The text a value is compared as in SQL: its parameter text when {@link comparesNatively}, else its JSON. */
export function comparedText(codec: ColumnCodec, value: Json): string | null {
  return comparesNatively(codec) ? codec.toText(value) : JSON.stringify(value)
}

/**
 * An SQL expression (text) that fails the statement (22P02, its message holding {@link JSON_SQL_FALLBACK_MARK})
 * for a value whose exact JSON SQL cannot give: the caller then writes the row and its event the other way. It
 * is not constant, so never folded at plan time, and quotes no value.
 */
export const JSON_SQL_FALLBACK_MARK = 'rewind:fallback'
export const JSON_SQL_FALLBACK = `(('${JSON_SQL_FALLBACK_MARK}:' || pg_backend_pid()::text)::int)::text`

/** Whether an error (or its cause) is the {@link JSON_SQL_FALLBACK} failure. */
export function isJsonSqlFallback(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown } | null
  if (e?.code === '22P02' && typeof e.message === 'string' && e.message.includes(JSON_SQL_FALLBACK_MARK))
    return true
  return e?.cause !== undefined && e.cause !== e && isJsonSqlFallback(e.cause)
}

/** What a column codec is built from: everything but the moves. */
export type ColumnInfo = Pick<
  ColumnCodec,
  'key' | 'name' | 'sqlType' | 'castType' | 'kind' | 'dims' | 'encoder' | 'notNull' | 'column'
>

/**
 * One non-null value of a column kind: the whole value of a scalar column, or one element of an array column.
 * Each kind implements it in its own file; the scalar and array codecs handle null and nesting around it.
 */
export interface ElementCodec {
  fromText(text: string): Json
  toText(value: Json): string
  toApp(value: Json): unknown
  fromApp(value: unknown): CastResult
  /** What the database driver would hand to Drizzle for this canonical value (a `customType`'s fromDriver gets it). */
  driverValue(value: Json): unknown
  /**
   * An SQL expression giving, for the non-null value `x` of this kind, the JSON (jsonb) that {@link fromText}
   * gives from its text; undefined when SQL cannot give it exactly. Capture uses it to record an event in the
   * same statement as its row (see events/store/append-following.ts).
   */
  jsonSql(x: string): string | undefined
}

/**
 * What most kinds do, which a kind overrides where it differs: the text is the canonical value, the app value
 * is what the Drizzle column maps it to.
 */
export abstract class BaseElement implements ElementCodec {
  /** The column's SQL type as declared (`varchar(10)`), as messages name it. */
  protected readonly expected: string

  constructor(protected readonly column: PgColumn) {
    this.expected = column.getSQLType()
  }

  fromText(text: string): Json {
    return text
  }

  toText(value: Json): string {
    return String(value)
  }

  toApp(value: Json): unknown {
    return this.column.mapFromDriverValue(value)
  }

  driverValue(value: Json): unknown {
    return value
  }

  /** The text is the canonical value: the JSON string of its text. */
  jsonSql(x: string): string | undefined {
    return `to_jsonb((${x})::text)`
  }

  abstract fromApp(value: unknown): CastResult
}
