import { is, SQL } from 'drizzle-orm'
import { getTableConfig, PgArray, type PgColumn, PgDialect, type PgTable } from 'drizzle-orm/pg-core'
import { qualifiedName, quoteIdent } from './names.js'

/**
 * DDL for Drizzle tables, for the embedded default and for tests: `CREATE TABLE IF NOT EXISTS` with columns,
 * defaults, identities, generated columns, keys, unique and check constraints, foreign keys and indexes, in
 * foreign-key order. Production schemas belong to drizzle-kit migrations; this only creates what is missing.
 */

const dialect = new PgDialect()

/** Renders a drizzle `SQL` fragment with its parameters inlined (for DDL, which takes no parameters). */
function inlineSql(fragment: SQL): string {
  const query = dialect.sqlToQuery(fragment.inlineParams())
  return query.sql
}

function literal(value: unknown): string {
  if (value === null) return 'NULL'
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (value instanceof Date) return `'${value.toISOString()}'`
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`
  return `'${JSON.stringify(value).replace(/'/g, "''")}'`
}

function arrayLiteral(value: unknown[]): string {
  const item = (v: unknown): string => {
    if (v === null) return 'NULL'
    if (Array.isArray(v)) return arrayLiteral(v).slice(1, -1)
    return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
  }
  return `'{${value.map(item).join(',')}}'`
}

function enumOf(column: PgColumn): { enumName: string; schema?: string; enumValues: string[] } | undefined {
  let c = column as unknown as {
    enum?: { enumName: string; schema?: string; enumValues: string[] }
    baseColumn?: unknown
  }
  while (!c.enum && c.baseColumn) c = c.baseColumn as typeof c
  return c.enum
}

function columnType(column: PgColumn): string {
  const e = enumOf(column)
  if (e) {
    const dims = (column.getSQLType().match(/\[\]/g) ?? []).length
    const name = e.schema ? `${quoteIdent(e.schema)}.${quoteIdent(e.enumName)}` : quoteIdent(e.enumName)
    return name + '[]'.repeat(dims)
  }
  return column.getSQLType()
}

function columnDefinition(column: PgColumn): string {
  const c = column as unknown as {
    generatedIdentity?: { type: 'always' | 'byDefault'; sequenceOptions?: Record<string, unknown> }
    generated?: { as: SQL | (() => SQL) | string; type: string }
    isUnique: boolean
    uniqueName?: string
    uniqueType?: string
  }
  const parts = [quoteIdent(column.name), columnType(column)]
  if (column.primary) parts.push('PRIMARY KEY')
  if (column.notNull && !column.primary) parts.push('NOT NULL')
  if (c.generatedIdentity) {
    parts.push(`GENERATED ${c.generatedIdentity.type === 'always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`)
  } else if (c.generated) {
    const as = typeof c.generated.as === 'function' ? c.generated.as() : c.generated.as
    parts.push(`GENERATED ALWAYS AS (${is(as, SQL) ? inlineSql(as) : String(as)}) STORED`)
  } else if (column.default !== undefined) {
    const d = column.default
    let rendered: string
    if (is(d, SQL)) rendered = inlineSql(d)
    else if (is(column, PgArray) && Array.isArray(d)) rendered = arrayLiteral(d)
    else if (column.dataType === 'json') rendered = literal(JSON.stringify(d))
    else rendered = literal(d)
    parts.push(`DEFAULT ${rendered}`)
  }
  if (c.isUnique) {
    parts.push(
      `CONSTRAINT ${quoteIdent(c.uniqueName ?? `${column.name}_unique`)} UNIQUE${c.uniqueType === 'not distinct' ? ' NULLS NOT DISTINCT' : ''}`,
    )
  }
  return parts.join(' ')
}

function foreignKeyClause(
  table: PgTable,
  fk: ReturnType<typeof getTableConfig>['foreignKeys'][number],
): string {
  const ref = fk.reference()
  const name = fk.getName()
  let clause = `CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${ref.columns.map((c) => quoteIdent(c.name)).join(', ')}) REFERENCES ${qualifiedName(ref.foreignTable)} (${ref.foreignColumns.map((c) => quoteIdent(c.name)).join(', ')})`
  if (fk.onDelete) clause += ` ON DELETE ${fk.onDelete.toUpperCase()}`
  if (fk.onUpdate) clause += ` ON UPDATE ${fk.onUpdate.toUpperCase()}`
  void table
  return clause
}

/** Tables ordered so each comes after the tables its foreign keys reference (input order for ties). */
export function sortTablesByDependencies(tables: readonly PgTable[]): PgTable[] {
  const names = new Map(tables.map((t) => [qualifiedName(t), t]))
  const deps = new Map<PgTable, Set<PgTable>>()
  for (const t of tables) {
    const set = new Set<PgTable>()
    for (const fk of getTableConfig(t).foreignKeys) {
      const target = names.get(qualifiedName(fk.reference().foreignTable))
      if (target && target !== t) set.add(target)
    }
    deps.set(t, set)
  }
  const out: PgTable[] = []
  const done = new Set<PgTable>()
  const visiting = new Set<PgTable>()
  const visit = (t: PgTable) => {
    if (done.has(t) || visiting.has(t)) return // a cycle: broken at the first table met
    visiting.add(t)
    for (const d of deps.get(t) ?? []) visit(d)
    visiting.delete(t)
    done.add(t)
    out.push(t)
  }
  for (const t of tables) visit(t)
  return out
}

/** The statements that create the tables (and their enums, schemas and indexes) if they do not exist. */
export function createTableStatements(tables: readonly PgTable[]): string[] {
  const statements: string[] = []
  const ordered = sortTablesByDependencies(tables)
  const position = new Map(ordered.map((t, i) => [qualifiedName(t), i]))
  const schemas = new Set<string>()
  const enums = new Map<string, string>()
  for (const table of ordered) {
    const config = getTableConfig(table)
    if (config.schema) schemas.add(config.schema)
    for (const column of config.columns) {
      const e = enumOf(column)
      if (!e) continue
      const name = e.schema ? `${quoteIdent(e.schema)}.${quoteIdent(e.enumName)}` : quoteIdent(e.enumName)
      if (e.schema) schemas.add(e.schema)
      enums.set(
        name,
        `DO $$ BEGIN CREATE TYPE ${name} AS ENUM (${e.enumValues.map((v) => literal(v)).join(', ')}); EXCEPTION WHEN duplicate_object THEN null; END $$`,
      )
    }
  }
  for (const schema of schemas) statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
  statements.push(...enums.values())

  const deferred: string[] = []
  for (const table of ordered) {
    const config = getTableConfig(table)
    const name = qualifiedName(table)
    const lines = config.columns.map((c) => columnDefinition(c))
    for (const pk of config.primaryKeys) {
      lines.push(
        `CONSTRAINT ${quoteIdent(pk.getName())} PRIMARY KEY (${pk.columns.map((c) => quoteIdent(c.name)).join(', ')})`,
      )
    }
    for (const u of config.uniqueConstraints) {
      lines.push(
        `CONSTRAINT ${quoteIdent(u.getName() ?? `${config.name}_unique`)} UNIQUE${u.nullsNotDistinct ? ' NULLS NOT DISTINCT' : ''} (${u.columns.map((c) => quoteIdent(c.name)).join(', ')})`,
      )
    }
    for (const check of config.checks)
      lines.push(`CONSTRAINT ${quoteIdent(check.name)} CHECK (${inlineSql(check.value)})`)
    for (const fk of config.foreignKeys) {
      const target = qualifiedName(fk.reference().foreignTable)
      const targetPos = position.get(target)
      // A reference to a table created later (a cycle) is added once both exist.
      if (targetPos !== undefined && targetPos > (position.get(name) ?? 0)) {
        deferred.push(
          `DO $$ BEGIN ALTER TABLE ${name} ADD ${foreignKeyClause(table, fk)}; EXCEPTION WHEN duplicate_object THEN null; END $$`,
        )
      } else {
        lines.push(foreignKeyClause(table, fk))
      }
    }
    statements.push(`CREATE TABLE IF NOT EXISTS ${name} (\n  ${lines.join(',\n  ')}\n)`)
    for (const index of config.indexes) {
      const ic = index.config
      const cols = ic.columns.map((col) => {
        if (is(col, SQL)) return `(${inlineSql(col)})`
        const c = col as unknown as {
          name: string
          indexConfig?: { order?: string; nulls?: string; opClass?: string }
        }
        let s = quoteIdent(c.name)
        if (c.indexConfig?.opClass) s += ` ${c.indexConfig.opClass}`
        if (c.indexConfig?.order) s += ` ${c.indexConfig.order.toUpperCase()}`
        if (c.indexConfig?.nulls) s += ` NULLS ${c.indexConfig.nulls.toUpperCase()}`
        return s
      })
      let s = `CREATE ${ic.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quoteIdent(ic.name ?? `${config.name}_idx`)} ON ${name}`
      if (ic.method && ic.method !== 'btree') s += ` USING ${ic.method}`
      s += ` (${cols.join(', ')})`
      if (ic.where) s += ` WHERE ${inlineSql(ic.where)}`
      statements.push(s)
    }
  }
  statements.push(...deferred)
  return statements
}
