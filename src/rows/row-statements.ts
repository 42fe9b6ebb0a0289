import type { ColumnCodec } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import { Params } from '../data/params.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import type { Row } from './records.js'

/**
 * The single-row statements of a resource's table. Every parameter is text, cast to the column type in SQL,
 * and every value comes back as PostgreSQL's text output: nothing passes through a JavaScript type that
 * would round it.
 */
export interface Statement {
  readonly text: string
  readonly params: (string | null)[]
}

/** `"col"::text AS "key", ...` for every column, with an optional table alias and key prefix. */
const selectCache = new WeakMap<AnyResource, Map<string, string>>()

export function selectList(resource: AnyResource, alias?: string, prefix = ''): string {
  let byKey = selectCache.get(resource)
  if (!byKey) {
    byKey = new Map()
    selectCache.set(resource, byKey)
  }
  const cacheKey = `${alias ?? ''}\u0000${prefix}`
  let list = byKey.get(cacheKey)
  if (list === undefined) {
    const parts: string[] = []
    for (const codec of resource.codecs.values()) {
      const col = alias ? `${alias}.${quoteIdent(codec.name)}` : quoteIdent(codec.name)
      // Every value as PostgreSQL's text output (see SqlClient.queryText).
      parts.push(`${col}::text AS ${quoteIdent(prefix + codec.key)}`)
    }
    list = parts.join(', ')
    byKey.set(cacheKey, list)
  }
  return list
}

function codecOf(resource: AnyResource, key: string): ColumnCodec {
  const codec = resource.codecs.get(key)
  if (!codec) throw new Error(`unknown column ${key} of ${resource.name}`)
  return codec
}

/** `pk = $1 [AND tenant = $2]` */
export function keyCondition(
  resource: AnyResource,
  params: Params,
  id: Json,
  tenant: Json | undefined,
  alias?: string,
): string {
  const q = (name: string) => (alias ? `${alias}.${quoteIdent(name)}` : quoteIdent(name))
  const pk = codecOf(resource, resource.primaryKey)
  let where = `${q(pk.name)} = ${params.add(pk, id)}`
  if (resource.tenant !== undefined && tenant !== undefined) {
    const t = codecOf(resource, resource.tenant)
    where += ` AND ${q(t.name)} = ${params.add(t, tenant)}`
  }
  return where
}

export function selectByKey(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  lock: boolean,
): Statement {
  const params = new Params()
  const where = keyCondition(resource, params, id, tenant)
  return {
    text: `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)} WHERE ${where}${lock ? ' FOR UPDATE' : ''}`,
    params: params.values,
  }
}

/** The row whose identity columns have these values (in the tenant), locked; undefined when a value is missing. */
export function selectByIdentity(
  resource: AnyResource,
  columns: readonly string[],
  values: Row,
  tenant: Json | undefined,
): Statement | undefined {
  const params = new Params()
  const conds: string[] = []
  for (const key of columns) {
    const codec = codecOf(resource, key)
    const v = values.get(key)
    if (v === undefined || v === null) return undefined
    conds.push(`${quoteIdent(codec.name)} = ${params.add(codec, v)}`)
  }
  if (resource.tenant !== undefined && tenant !== undefined && !columns.includes(resource.tenant)) {
    const codec = codecOf(resource, resource.tenant)
    conds.push(`${quoteIdent(codec.name)} = ${params.add(codec, tenant)}`)
  }
  return {
    text: `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)} WHERE ${conds.join(' AND ')} FOR UPDATE`,
    params: params.values,
  }
}

export interface InsertOptions {
  /** Write identity columns declared GENERATED ALWAYS (replay restores their values). */
  readonly overriding?: boolean
  /**
   * ON CONFLICT on these columns, updating these columns from the proposed row; with `onlyWhereSame`, only a
   * row whose value of that column equals the proposed row's is updated (another row gives no row back).
   */
  readonly onConflict?: {
    readonly target: readonly string[]
    readonly update: readonly string[]
    readonly onlyWhereSame?: string
  }
}

export function insertRow(
  resource: AnyResource,
  values: Row,
  options: InsertOptions = {},
  params = new Params(),
): Statement {
  const cols: string[] = []
  const vals: string[] = []
  for (const [key, value] of values) {
    const codec = codecOf(resource, key)
    cols.push(quoteIdent(codec.name))
    vals.push(params.add(codec, value))
  }
  const table = qualifiedName(resource.table)
  let text =
    cols.length === 0
      ? `INSERT INTO ${table} DEFAULT VALUES`
      : `INSERT INTO ${table} (${cols.join(', ')})${options.overriding ? ' OVERRIDING SYSTEM VALUE' : ''} VALUES (${vals.join(', ')})`
  if (options.onConflict) {
    const target = options.onConflict.target.map((k) => quoteIdent(codecOf(resource, k).name)).join(', ')
    const updates = options.onConflict.update.map((k) => {
      const name = quoteIdent(codecOf(resource, k).name)
      return `${name} = EXCLUDED.${name}`
    })
    // DO NOTHING would return no row; a no-op assignment returns the existing one.
    if (updates.length === 0) {
      const pk = quoteIdent(codecOf(resource, resource.primaryKey).name)
      updates.push(`${pk} = ${table}.${pk}`)
    }
    text += ` ON CONFLICT (${target}) DO UPDATE SET ${updates.join(', ')}`
    if (options.onConflict.onlyWhereSame !== undefined) {
      const name = quoteIdent(codecOf(resource, options.onConflict.onlyWhereSame).name)
      text += ` WHERE ${table}.${name} = EXCLUDED.${name}`
    }
  }
  // xmax = 0 tells an upsert's insert from its update; a plain insert needs only the row.
  text += options.onConflict
    ? ` RETURNING ${selectList(resource)}, (xmax = 0)::text AS "__inserted"`
    : ` RETURNING ${selectList(resource)}`
  return { text, params: params.values }
}

/**
 * Updates one row and returns it before and after, in one statement. The sub-select locks the row, so the
 * "before" image is the row as it was at the moment of the write, whatever a concurrent writer did.
 */
export function updateRow(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  values: Row,
  expectedLock?: { readonly key: string; readonly value: Json },
  params = new Params(),
): Statement {
  const table = qualifiedName(resource.table)
  const pk = quoteIdent(codecOf(resource, resource.primaryKey).name)
  let oldWhere = keyCondition(resource, params, id, tenant)
  if (expectedLock) {
    const c = codecOf(resource, expectedLock.key)
    oldWhere += ` AND ${quoteIdent(c.name)} = ${params.add(c, expectedLock.value)}`
  }
  const sets: string[] = []
  for (const [key, value] of values) {
    const codec = codecOf(resource, key)
    sets.push(`${quoteIdent(codec.name)} = ${params.add(codec, value)}`)
  }
  if (sets.length === 0) {
    // Nothing to write: lock the row and read it, so the action still conflicts and orders like a write.
    return {
      text: `SELECT ${selectList(resource, undefined, 'old:')}, ${selectList(resource)} FROM ${table} WHERE ${oldWhere} FOR UPDATE`,
      params: params.values,
    }
  }
  const text =
    `UPDATE ${table} AS t SET ${sets.join(', ')} FROM (SELECT * FROM ${table} WHERE ${oldWhere} FOR UPDATE) AS o ` +
    `WHERE t.${pk} = o.${pk} RETURNING ${selectList(resource, 'o', 'old:')}, ${selectList(resource, 't')}`
  return { text, params: params.values }
}

export function deleteRow(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  params = new Params(),
): Statement {
  const where = keyCondition(resource, params, id, tenant)
  return {
    text: `DELETE FROM ${qualifiedName(resource.table)} WHERE ${where} RETURNING ${selectList(resource)}`,
    params: params.values,
  }
}

/**
 * A row write and what follows it in one statement: `WITH w AS (<write>), f AS (<following>) SELECT * FROM w`.
 * Data-modifying CTEs run once each, to completion, whether or not the main query reads them; the following
 * part reads the written row from `w`, so it runs after the row write (and its row lock). With `rowOnly`, the
 * statement returns the written row's columns alone: an update's `"old:..."` columns, which the following part
 * reads in SQL, are not sent back.
 */
export function withFollowing(
  write: (params: Params) => Statement,
  following: { sql(row: string, params: Params): string },
  rowOnly?: AnyResource,
): Statement {
  const params = new Params()
  const w = write(params)
  return {
    text: `WITH w AS (${w.text}), f AS (${following.sql('w', params)}) SELECT ${rowOnly ? columnsOf(rowOnly) : '*'} FROM w`,
    params: params.values,
  }
}

/** `"key", ...`: the written row's columns of a CTE built on {@link selectList} (no prefix). */
const columnsCache = new WeakMap<AnyResource, string>()
function columnsOf(resource: AnyResource): string {
  let list = columnsCache.get(resource)
  if (list === undefined) {
    list = [...resource.codecs.values()].map((codec) => quoteIdent(codec.key)).join(', ')
    columnsCache.set(resource, list)
  }
  return list
}
