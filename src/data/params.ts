/** What a parameter needs of its column: the text to send, and the type to cast it to in SQL. */
export interface ParamCodec {
  toText(value: any): string | null
  /** The SQL type the text is cast to (a column codec's `castType`, see src/columns/codec.ts). */
  readonly castType: string
}

/**
 * Collects text parameters and hands out `$n::text::type` placeholders. Every parameter Rewind sends is text,
 * cast to the column type in SQL, so nothing passes through a JavaScript type that would round it.
 */
export class Params {
  readonly values: (string | null)[] = []
  add(codec: ParamCodec, value: unknown): string {
    return slot(this.push(codec.toText(value)), `text::${codec.castType}`)
  }
  raw(value: string | null, type = 'text'): string {
    return slot(this.push(value), type)
  }
  /** Adds a value and gives its number (1-based), for text built later (see {@link PlannedSql}). */
  push(value: string | null): number {
    return this.values.push(value)
  }
}

/**
 * Part of a statement whose parameters are already added: `shape` says everything its text depends on (with
 * the parameters' numbers), so a statement of the same shape can take the text built before; `text` builds it.
 */
export interface PlannedSql {
  readonly shape: string
  text(): string
  /**
   * A row write's result columns as the statement's own, when the write is a CTE another statement reads (`"key",
   * ...`, see rows/row-statements.ts withFollowing); absent: every column of the row.
   */
  columns?(): string
}

/** `$n::type`: the placeholder of the parameter at `n` (1-based), cast. */
export function slot(n: number, type = 'text'): string {
  return `$${n}::${type}`
}
