import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'

/** Quotes an SQL identifier: `"name"`, doubling any quote inside. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

// Statements are built per action: Drizzle's getTableConfig copies the table's whole config on every call.
const qualifiedNames = new WeakMap<PgTable, string>()

/** The table's name as SQL: `"schema"."table"` or `"table"`. */
export function qualifiedName(table: PgTable): string {
  let qualified = qualifiedNames.get(table)
  if (qualified === undefined) {
    const { name, schema } = getTableConfig(table)
    qualified = schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name)
    qualifiedNames.set(table, qualified)
  }
  return qualified
}
