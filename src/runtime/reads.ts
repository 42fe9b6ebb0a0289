import { castMessage } from '../columns/messages.js'
import type { Database } from '../data/database.js'
import { Params } from '../data/params.js'
import { inContext } from '../errors/database-failure.js'
import { RewindError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import { appRecord, canonicalRow } from '../rows/records.js'
import { selectByKey, selectList } from '../rows/row-statements.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'

/** Filters, sort and paging of {@link Rewind.list}. */
export interface ListOptions<Rec> {
  /** Equality filters on columns (`null` matches NULL). */
  readonly where?: { readonly [K in keyof Rec]?: Rec[K] | null }
  /** Sort keys, first wins; the primary key is always added last so pages are stable. */
  readonly orderBy?: readonly (readonly [keyof Rec & string, 'asc' | 'desc'])[]
  readonly limit?: number
  readonly offset?: number
  readonly tenant?: unknown
}

const MAX_LIMIT = 10_000

function invalid(resource: AnyResource, message: string, path: string[]): RewindError {
  return new RewindError('VALIDATION', `${resource.name}.list: ${message}`, {
    resource: resource.name,
    issues: [{ path, message }],
  })
}

function tenantValue(resource: AnyResource, tenant: unknown, op: string) {
  if (resource.tenant === undefined) return undefined
  if (tenant === undefined || tenant === null) {
    throw new RewindError(
      'TENANT_REQUIRED',
      `${resource.name}.${op}: ${resource.name} is multitenant; pass { tenant }`,
      {
        resource: resource.name,
      },
    )
  }
  const cast = resource.codecs.get(resource.tenant)!.fromApp(tenant)
  if (!cast.ok) {
    const message = castMessage(cast, resource.sensitive.has(resource.tenant))
    throw invalid(resource, `invalid tenant: ${message}`, ['tenant'])
  }
  return cast.value
}

/** One record by primary key (tenant-scoped), or undefined. */
export async function readOne(
  db: Database,
  resource: AnyResource,
  id: unknown,
  tenant: unknown,
): Promise<Record<string, unknown> | undefined> {
  const t = tenantValue(resource, tenant, 'get')
  const cast = resource.codecs.get(resource.primaryKey)!.fromApp(id)
  if (!cast.ok) {
    const message = castMessage(cast, resource.sensitive.has(resource.primaryKey))
    throw new RewindError('VALIDATION', `${resource.name}.get: invalid id: ${message}`, {
      resource: resource.name,
      issues: [{ path: ['id'], message }],
    })
  }
  const q = selectByKey(resource, cast.value, t, false)
  const rows = await db.queryText(q.text, q.params).catch((error: unknown) => {
    throw inContext(error, `${resource.name}.get`, resource.name) ?? error
  })
  return rows[0] ? appRecord(resource, canonicalRow(resource, rows[0])) : undefined
}

/** Records matching equality filters (tenant-scoped), sorted and limited. */
export async function readList(
  db: Database,
  resource: AnyResource,
  options: ListOptions<Record<string, unknown>>,
): Promise<Record<string, unknown>[]> {
  const t = tenantValue(resource, options.tenant, 'list')
  const params = new Params()
  const conds: string[] = []
  for (const [key, value] of Object.entries(options.where ?? {})) {
    const codec = resource.codecs.get(key)
    if (!codec)
      throw invalid(resource, `cannot filter on "${key}": not a column of ${resource.name}`, ['where', key])
    if (value === undefined) continue
    if (value === null) {
      conds.push(`${quoteIdent(codec.name)} IS NULL`)
      continue
    }
    const cast = codec.fromApp(value)
    if (!cast.ok) {
      const message = castMessage(cast, resource.sensitive.has(key))
      throw invalid(resource, `where.${key}: ${message}`, ['where', key])
    }
    conds.push(`${quoteIdent(codec.name)} = ${params.add(codec, cast.value)}`)
  }
  if (t !== undefined) {
    const codec = resource.codecs.get(resource.tenant!)!
    conds.push(`${quoteIdent(codec.name)} = ${params.add(codec, t)}`)
  }
  const order: string[] = []
  for (const entry of options.orderBy ?? []) {
    const [key, dir] = entry
    const codec = resource.codecs.get(key)
    if (!codec)
      throw invalid(resource, `cannot sort on "${key}": not a column of ${resource.name}`, ['orderBy', key])
    if (dir !== 'asc' && dir !== 'desc')
      throw invalid(resource, `sort direction must be 'asc' or 'desc', got ${String(dir)}`, ['orderBy', key])
    // Qualified: the select list has text aliases of the same names, which ORDER BY would otherwise sort.
    order.push(`${qualifiedName(resource.table)}.${quoteIdent(codec.name)} ${dir.toUpperCase()}`)
  }
  order.push(
    `${qualifiedName(resource.table)}.${quoteIdent(resource.codecs.get(resource.primaryKey)!.name)} ASC`,
  )
  for (const [name, value] of [
    ['limit', options.limit],
    ['offset', options.offset],
  ] as const) {
    if (
      value !== undefined &&
      (!Number.isInteger(value) || value < 0 || (name === 'limit' && value > MAX_LIMIT))
    ) {
      throw invalid(
        resource,
        `${name} must be an integer from 0${name === 'limit' ? ` to ${MAX_LIMIT}` : ''}, got ${String(value)}`,
        [name],
      )
    }
  }
  let text = `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)}`
  if (conds.length) text += ` WHERE ${conds.join(' AND ')}`
  text += ` ORDER BY ${order.join(', ')}`
  text += ` LIMIT ${options.limit ?? MAX_LIMIT}`
  if (options.offset) text += ` OFFSET ${options.offset}`
  const rows = await db.queryText(text, params.values).catch((error: unknown) => {
    throw inContext(error, `${resource.name}.list`, resource.name) ?? error
  })
  return rows.map((row) => appRecord(resource, canonicalRow(resource, row)))
}
