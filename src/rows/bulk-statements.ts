import type { ColumnCodec } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import { printArrayLiteral } from '../data/pg-text.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import type { Row } from './records.js'
import { type Statement, selectList } from './row-statements.js'

/**
 * The statements that write many rows of one table at once (batched replay): one text-array parameter per
 * column, unnested and cast in SQL, so a batch of rows costs one statement per table and column set.
 */

/** `pk = ANY($1)`, for canonical primary-key values given as text (see rowKey). */
function anyKey(resource: AnyResource, ids: readonly string[]): { where: string; params: string[] } {
  const pk = resource.codecs.get(resource.primaryKey)!
  return {
    where: `${quoteIdent(pk.name)} = ANY(CAST($1::text AS ${pk.castType}[]))`,
    params: [printArrayLiteral(ids)],
  }
}

/** The rows with these primary keys (given as text). */
export function selectByKeys(resource: AnyResource, ids: readonly string[]): Statement {
  const { where, params } = anyKey(resource, ids)
  return {
    text: `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)} WHERE ${where}`,
    params,
  }
}

/** Deletes the rows with these primary keys (given as text). */
export function deleteByKeys(resource: AnyResource, ids: readonly string[]): Statement {
  const { where, params } = anyKey(resource, ids)
  return { text: `DELETE FROM ${qualifiedName(resource.table)} WHERE ${where}`, params }
}

/** One INSERT ... SELECT FROM unnest(...) per set of columns. */
export function insertRows(resource: AnyResource, rows: readonly Row[]): Statement[] {
  return groupByColumns(rows).map((group) => {
    const codecs = group.columns.map((k) => resource.codecs.get(k)!)
    const overriding = group.columns.some((k) => resource.identityAlwaysColumns.has(k))
    const { params, selects, names } = unnestParams(codecs, group.rows)
    return {
      text: `INSERT INTO ${qualifiedName(resource.table)} (${codecs.map((c) => quoteIdent(c.name)).join(', ')})${overriding ? ' OVERRIDING SYSTEM VALUE' : ''} SELECT ${selects.join(', ')} FROM unnest(${params.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${names.join(', ')})`,
      params,
    }
  })
}

/** One UPDATE ... FROM unnest(...) per set of written columns. */
export function updateRows(
  resource: AnyResource,
  updates: readonly { readonly id: Json; readonly values: Row }[],
): Statement[] {
  const pk = resource.codecs.get(resource.primaryKey)!
  const rows = updates.map((u) => new Map([[PK, u.id], ...u.values]))
  const out: Statement[] = []
  for (const group of groupByColumns(rows)) {
    const cols = group.columns.filter((k) => k !== PK)
    if (cols.length === 0) continue
    const codecs = [pk, ...cols.map((k) => resource.codecs.get(k)!)]
    const { params, selects, names } = unnestParams(codecs, group.rows, [PK, ...cols])
    const sets = cols.map((k, i) => `${quoteIdent(resource.codecs.get(k)!.name)} = ${selects[i + 1]}`)
    out.push({
      text: `UPDATE ${qualifiedName(resource.table)} AS t SET ${sets.join(', ')} FROM unnest(${params.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${names.join(', ')}) WHERE t.${quoteIdent(pk.name)} = ${selects[0]}`,
      params,
    })
  }
  return out
}

/** The primary key's place in an update's row (a key no column can have). */
const PK = '\u0000pk'

function groupByColumns(rows: readonly Row[]): { columns: string[]; rows: Row[] }[] {
  const groups = new Map<string, { columns: string[]; rows: Row[] }>()
  for (const row of rows) {
    const columns = [...row.keys()].sort()
    const sig = columns.join('\u0001')
    let g = groups.get(sig)
    if (!g) {
      g = { columns, rows: [] }
      groups.set(sig, g)
    }
    g.rows.push(row)
  }
  return [...groups.values()]
}

function unnestParams(codecs: ColumnCodec[], rows: Row[], keys: string[] = codecs.map((c) => c.key)) {
  const names = codecs.map((_, i) => `c${i}`)
  const params = codecs.map((codec, i) =>
    printArrayLiteral(rows.map((r) => codec.toText(r.get(keys[i]!) ?? null))),
  )
  const selects = codecs.map((codec, i) => `u.${names[i]}::${codec.castType}`)
  return { params, selects, names }
}
