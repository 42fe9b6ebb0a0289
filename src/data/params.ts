import { quoteIdent } from '../schema/names.js'

/** What a parameter needs of its column: the text to send, and the type to cast it to in SQL. */
export interface ParamCodec {
  toText(value: any): string | null
  readonly column: unknown
  readonly dims: number
}

/**
 * The type to cast a text parameter to: the column type without modifiers, so that an oversized value fails
 * on assignment instead of being truncated by an explicit cast to varchar(n).
 */
const castCache = new WeakMap<ParamCodec, string>()

export function castType(codec: ParamCodec): string {
  let cast = castCache.get(codec)
  if (cast === undefined) {
    cast = computeCastType(codec)
    castCache.set(codec, cast)
  }
  return cast
}

function computeCastType(codec: ParamCodec): string {
  const col = codec.column as { enum?: { enumName: string; schema?: string } }
  const dims = '[]'.repeat(codec.dims)
  if (col.enum) {
    const name = col.enum.schema
      ? `${quoteIdent(col.enum.schema)}.${quoteIdent(col.enum.enumName)}`
      : quoteIdent(col.enum.enumName)
    return `${name}${dims}`
  }
  let base = codec.column as { baseColumn?: unknown; getSQLType(): string }
  while (base.baseColumn) base = base.baseColumn as typeof base
  const plain = base
    .getSQLType()
    .replace(/\([^)]*\)/g, '')
    .trim()
  return `${plain}${dims}`
}

/**
 * Collects text parameters and hands out `$n::text::type` placeholders. Every parameter Rewind sends is text,
 * cast to the column type in SQL, so nothing passes through a JavaScript type that would round it.
 */
export class Params {
  readonly values: (string | null)[] = []
  add(codec: ParamCodec, value: unknown): string {
    this.values.push(codec.toText(value))
    return `$${this.values.length}::text::${castType(codec)}`
  }
  raw(value: string | null, type = 'text'): string {
    this.values.push(value)
    return `$${this.values.length}::${type}`
  }
}
