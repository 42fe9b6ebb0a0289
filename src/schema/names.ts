import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'

/** Quotes an SQL identifier: `"name"`, doubling any quote inside. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** The table's name as SQL: `"schema"."table"` or `"table"`. */
export function qualifiedName(table: PgTable): string {
  const { name, schema } = getTableConfig(table)
  return schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name)
}
