import type { ColumnCodec } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import { Params, type PlannedSql, slot } from '../data/params.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import type { Row } from './records.js'
import type { FollowingWrite } from './row-store.js'

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
    for (const codec of resource.codecs.values()) parts.push(selected(codec, alias, prefix))
    list = parts.join(', ')
    byKey.set(cacheKey, list)
  }
  return list
}

/** One column of a select list: its value as PostgreSQL's text output (see SqlClient.queryText), named by key. */
function selected(codec: ColumnCodec, alias?: string, prefix = ''): string {
  const col = alias ? `${alias}.${quoteIdent(codec.name)}` : quoteIdent(codec.name)
  return `${col}::text AS ${quoteIdent(prefix + codec.key)}`
}

function codecOf(resource: AnyResource, key: string): ColumnCodec {
  const codec = resource.codecs.get(key)
  if (!codec) throw new Error(`unknown column ${key} of ${resource.name}`)
  return codec
}

export function selectByKey(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  lock: boolean,
): Statement {
  const params = new Params()
  const key = keyPlan(resource, params, id, tenant)
  return statementOf(
    resource,
    {
      shape: `s${lock ? 'l' : ''}${key.shape}`,
      text: () =>
        `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)} WHERE ${key.text()}${lock ? ' FOR UPDATE' : ''}`,
    },
    params,
  )
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
  /**
   * Return only what the insert cannot know: the columns it leaves to the database, the primary key, and those
   * whose stored value could differ from the value sent (ColumnCodec.storedAsSent); the caller completes the row
   * from the values it set (records.ts completedRow). Only where nothing else can change the row (the table has
   * no trigger of its own) and without `onConflict`.
   */
  readonly returnUnknown?: boolean
}

/**
 * The text of each statement shape a resource has written (see {@link PlannedSql}): an action's statements take
 * a few shapes, and building the text again on every call cost more than the rest of the statement's work in
 * JavaScript. Bounded per resource; past the bound, texts are built each time.
 */
const texts = new WeakMap<AnyResource, Map<string, string>>()
const MAX_SHAPES = 256

function cached(resource: AnyResource, plan: PlannedSql): string {
  let byShape = texts.get(resource)
  if (!byShape) {
    byShape = new Map()
    texts.set(resource, byShape)
  }
  let text = byShape.get(plan.shape)
  if (text === undefined) {
    text = plan.text()
    if (byShape.size < MAX_SHAPES) byShape.set(plan.shape, text)
  }
  return text
}

/** A planned part as a statement of its own. */
function statementOf(resource: AnyResource, plan: PlannedSql, params: Params): Statement {
  return { text: cached(resource, plan), params: params.values }
}

/** `$n::text::type` for a parameter at `n` of this column. */
const cast = (codec: ColumnCodec, n: number) => slot(n, `text::${codec.castType}`)

/** `pk = $n [AND tenant = $m]`: parameters added, shape and text (see {@link PlannedSql}). */
function keyPlan(
  resource: AnyResource,
  params: Params,
  id: Json,
  tenant: Json | undefined,
): { shape: string; text(alias?: string): string } {
  const pk = codecOf(resource, resource.primaryKey)
  const idAt = params.push(pk.toText(id))
  const t =
    resource.tenant !== undefined && tenant !== undefined ? codecOf(resource, resource.tenant) : undefined
  const tenantAt = t ? params.push(t.toText(tenant!)) : 0
  return {
    shape: `${idAt}${t ? `t${tenantAt}` : ''}`,
    text(alias) {
      const q = (name: string) => (alias ? `${alias}.${quoteIdent(name)}` : quoteIdent(name))
      return `${q(pk.name)} = ${cast(pk, idAt)}${t ? ` AND ${q(t.name)} = ${cast(t, tenantAt)}` : ''}`
    },
  }
}

export function insertPlan(
  resource: AnyResource,
  values: Row,
  options: InsertOptions,
  params: Params,
): PlannedSql {
  const first = params.values.length + 1
  const conflict = options.onConflict
  const onlyUnknown = options.returnUnknown === true && !conflict
  let shape = `i${options.overriding ? 'o' : ''}${onlyUnknown ? 'u' : ''}${first}|`
  for (const [key, value] of values) {
    const codec = codecOf(resource, key)
    params.push(codec.toText(value))
    // The shape says which columns are known as stored (when only the unknown ones are returned).
    shape += onlyUnknown && knownAsStored(resource, codec, value) ? `${key}\u0002` : `${key}\u0001`
  }
  if (conflict)
    shape += `|${conflict.target.join('\u0001')}|${conflict.update.join('\u0001')}|${conflict.onlyWhereSame ?? ''}`
  return {
    shape,
    text() {
      const cols: string[] = []
      const vals: string[] = []
      let n = first
      for (const key of values.keys()) {
        const codec = codecOf(resource, key)
        cols.push(quoteIdent(codec.name))
        vals.push(cast(codec, n++))
      }
      const table = qualifiedName(resource.table)
      let text =
        cols.length === 0
          ? `INSERT INTO ${table} DEFAULT VALUES`
          : `INSERT INTO ${table} (${cols.join(', ')})${options.overriding ? ' OVERRIDING SYSTEM VALUE' : ''} VALUES (${vals.join(', ')})`
      if (conflict) {
        const target = conflict.target.map((k) => quoteIdent(codecOf(resource, k).name)).join(', ')
        const updates = conflict.update.map((k) => {
          const name = quoteIdent(codecOf(resource, k).name)
          return `${name} = EXCLUDED.${name}`
        })
        // DO NOTHING would return no row; a no-op assignment returns the existing one.
        if (updates.length === 0) {
          const pk = quoteIdent(codecOf(resource, resource.primaryKey).name)
          updates.push(`${pk} = ${table}.${pk}`)
        }
        text += ` ON CONFLICT (${target}) DO UPDATE SET ${updates.join(', ')}`
        if (conflict.onlyWhereSame !== undefined) {
          const name = quoteIdent(codecOf(resource, conflict.onlyWhereSame).name)
          text += ` WHERE ${table}.${name} = EXCLUDED.${name}`
        }
      }
      // xmax = 0 tells an upsert's insert from its update; a plain insert needs only the row.
      text += conflict
        ? ` RETURNING ${selectList(resource)}, (xmax = 0)::text AS "__inserted"`
        : ` RETURNING ${onlyUnknown ? selectSome(resource, unknownOf(resource, values)) : selectList(resource)}`
      return text
    },
  }
}

/**
 * A column an insert sets whose stored value it knows: NULL, or a canonical value of a column that stores it as
 * sent (ColumnCodec.storedAsSent). The primary key is read back always.
 */
function knownAsStored(resource: AnyResource, codec: ColumnCodec, value: Json): boolean {
  return codec.key !== resource.primaryKey && (value === null || codec.storedAsSent)
}

/** {@link selectList} of the columns `keep` says, without a cache (built with a statement's text, once per shape). */
function selectSome(resource: AnyResource, keep: (codec: ColumnCodec) => boolean, alias?: string): string {
  const parts: string[] = []
  for (const codec of resource.codecs.values()) if (keep(codec)) parts.push(selected(codec, alias))
  return parts.join(', ')
}

export function insertRow(
  resource: AnyResource,
  values: Row,
  options: InsertOptions = {},
  params = new Params(),
): Statement {
  return statementOf(resource, insertPlan(resource, values, options, params), params)
}

/**
 * Updates one row and returns it before and after, in one statement. The sub-select locks the row, so the
 * "before" image is the row as it was at the moment of the write, whatever a concurrent writer did. With
 * `oldKeys` (a write that follows in the statement reads only those of the row as it was, and the table has no
 * trigger of its own), the sub-select reads only those columns and the key, the row as it was is returned as
 * those columns alone, and the row as it is only as what the update cannot know: the columns it does not set,
 * the key, and those whose stored value could differ from the value sent (see {@link knownAsStored}); the caller
 * completes the row from the values it set (records.ts completedRow). With `oldKeys` empty, nothing of the row as
 * it was is read: the update is a plain `UPDATE ... WHERE` (it locks its row itself), and `guards` are columns it
 * sets that it writes only if each changes (`IS DISTINCT FROM` the value set, checked on the row it locks): an
 * update that would not change one of them writes nothing and returns no row.
 */
export function updatePlan(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  values: Row,
  expectedLock: { readonly key: string; readonly value: Json } | undefined,
  params: Params,
  oldKeys?: readonly string[],
  guards?: readonly string[],
): PlannedSql {
  if (guards?.length && oldKeys?.length !== 0)
    throw new Error('updatePlan: guards are for an update that reads nothing of the row as it was')
  const key = keyPlan(resource, params, id, tenant)
  const expected = expectedLock ? codecOf(resource, expectedLock.key) : undefined
  const expectedAt = expected ? params.push(expected.toText(expectedLock!.value)) : 0
  const first = params.values.length + 1
  let shape = `u${key.shape}|${expected ? `${expectedLock!.key}\u0001${expectedAt}` : ''}|${first}|`
  for (const [k, value] of values) {
    const codec = codecOf(resource, k)
    params.push(codec.toText(value))
    // With `oldKeys`, the shape says which columns are known as stored (only the unknown ones are returned).
    shape += oldKeys && knownAsStored(resource, codec, value) ? `${k}\u0002` : `${k}\u0001`
  }
  if (oldKeys) shape += `|o${oldKeys.join('\u0001')}`
  if (guards) shape += `|g${guards.join('\u0001')}`
  return {
    shape,
    text() {
      const table = qualifiedName(resource.table)
      const pk = quoteIdent(codecOf(resource, resource.primaryKey).name)
      let oldWhere = key.text()
      if (expected) oldWhere += ` AND ${quoteIdent(expected.name)} = ${cast(expected, expectedAt)}`
      const sets: string[] = []
      const guarded: string[] = []
      let n = first
      for (const k of values.keys()) {
        const codec = codecOf(resource, k)
        const set = cast(codec, n++)
        sets.push(`${quoteIdent(codec.name)} = ${set}`)
        if (guards?.includes(k)) guarded.push(`t.${quoteIdent(codec.name)} IS DISTINCT FROM ${set}`)
      }
      // Nothing to write: lock the row and read it, so the action still conflicts and orders like a write.
      if (sets.length === 0)
        return `SELECT ${selectList(resource, undefined, 'old:')}, ${selectList(resource)} FROM ${table} WHERE ${oldWhere} FOR UPDATE`
      // Nothing of the row as it was to read: the update alone, which locks its row (and checks its conditions on
      // the row it locks, the newest, under concurrent writes).
      if (oldKeys?.length === 0)
        return `UPDATE ${table} AS t SET ${sets.join(', ')} WHERE ${[oldWhere, ...guarded].join(' AND ')} RETURNING ${selectSome(resource, unknownOf(resource, values), 't')}`
      // With `oldKeys`: the key and those columns read and returned as they were, and of the row as it is only
      // what the update cannot know; else both images whole.
      const olds = oldKeys?.map((k) => codecOf(resource, k))
      const read = olds
        ? [pk, ...olds.filter((c) => c.key !== resource.primaryKey).map((c) => quoteIdent(c.name))].join(', ')
        : '*'
      const returned = olds
        ? [
            ...olds.map((c) => selected(c, 'o', 'old:')),
            selectSome(resource, unknownOf(resource, values), 't'),
          ]
        : [selectList(resource, 'o', 'old:'), selectList(resource, 't')]
      return (
        `UPDATE ${table} AS t SET ${sets.join(', ')} FROM (SELECT ${read} FROM ${table} WHERE ${oldWhere} FOR UPDATE) AS o ` +
        `WHERE t.${pk} = o.${pk} RETURNING ${returned.join(', ')}`
      )
    },
    ...(oldKeys && { columns: () => keyList(resource, unknownOf(resource, values)) }),
  }
}

/** What a write that sets `values` cannot know of the row it writes: the columns {@link knownAsStored} leaves out. */
function unknownOf(resource: AnyResource, values: Row): (codec: ColumnCodec) => boolean {
  return (c) => !values.has(c.key) || !knownAsStored(resource, c, values.get(c.key)!)
}

export function updateRow(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  values: Row,
  expectedLock?: { readonly key: string; readonly value: Json },
  params = new Params(),
): Statement {
  return statementOf(resource, updatePlan(resource, id, tenant, values, expectedLock, params), params)
}

export function deletePlan(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  params: Params,
): PlannedSql {
  const key = keyPlan(resource, params, id, tenant)
  return {
    shape: `d${key.shape}`,
    text: () =>
      `DELETE FROM ${qualifiedName(resource.table)} WHERE ${key.text()} RETURNING ${selectList(resource)}`,
  }
}

export function deleteRow(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  params = new Params(),
): Statement {
  return statementOf(resource, deletePlan(resource, id, tenant, params), params)
}

/**
 * A row write and what follows it in one statement: `WITH w AS (<write>), f AS (<following>) SELECT * FROM w`.
 * Data-modifying CTEs run once each, to completion, whether or not the main query reads them; the following
 * part reads the written row from `w`, so it runs after the row write (and its row lock). With `rowOnly`, the
 * statement returns the written row's columns alone: an update's `"old:..."` columns, which the following part
 * reads in SQL, are not sent back.
 */
export function withFollowing(
  resource: AnyResource,
  write: (params: Params) => PlannedSql,
  following: FollowingWrite,
  rowOnly: boolean,
): Statement {
  const params = new Params()
  const w = write(params)
  const f = following.plan('w', params)
  const plan: PlannedSql = {
    shape: `w${rowOnly ? 'r' : ''}\u0003${w.shape}\u0003${f.shape}`,
    text: () =>
      `WITH w AS (${w.text()}), f AS (${f.text()}) SELECT ${rowOnly ? (w.columns?.() ?? columnsOf(resource)) : '*'} FROM w`,
  }
  return statementOf(resource, plan, params)
}

/** `"key", ...`: the written row's columns of a CTE built on {@link selectList} (no prefix). */
const columnsCache = new WeakMap<AnyResource, string>()
function columnsOf(resource: AnyResource): string {
  let list = columnsCache.get(resource)
  if (list === undefined) {
    list = keyList(resource, () => true)
    columnsCache.set(resource, list)
  }
  return list
}

/** `"key", ...` of the columns `keep` says (see {@link columnsOf}). */
function keyList(resource: AnyResource, keep: (codec: ColumnCodec) => boolean): string {
  const keys: string[] = []
  for (const codec of resource.codecs.values()) if (keep(codec)) keys.push(quoteIdent(codec.key))
  return keys.join(', ')
}
