import type { Json } from '../../columns/values.js'
import { Params } from '../../data/params.js'
import { RewindError } from '../../errors/rewind-error.js'
import { type EventFilter, recordIdText } from '../event.js'
import type { EventTable } from './event-table.js'

/**
 * Which events a read takes, every part optional and combined with AND. Values are already checked and
 * canonical ({@link selectionOf} checks a caller's {@link EventFilter}); the log turns them into SQL here
 * and nowhere else.
 */
export interface EventSelection {
  /** Events of any of these resources (or of one action of a resource). */
  readonly sources?: readonly { readonly resource: string; readonly action?: string }[]
  readonly recordId?: string
  readonly action?: string
  readonly actionType?: string
  /** The tenant as a caller spells it: matched in each form a tenant column of the app gives it. */
  readonly tenant?: unknown
  /** Actor columns and their canonical values. */
  readonly actors?: readonly (readonly [key: string, value: Json])[]
  /** Canonical timestamptz bounds of `occurred_at`, inclusive. */
  readonly from?: string
  readonly to?: string
  /** Positions after this one (exclusive). */
  readonly afterPosition?: number
  /** Positions up to this one (inclusive). */
  readonly untilPosition?: number
}

/** The WHERE clause (without the keyword, '' for every event) and its parameters. */
export function whereOf(table: EventTable, s: EventSelection, params = new Params()): string {
  const conds: string[] = []
  const col = (key: string) => table.col(key)
  if (s.sources !== undefined) {
    const any = s.sources.map((src) =>
      src.action === undefined
        ? `${col('resource')} = ${params.raw(src.resource)}`
        : `(${col('resource')} = ${params.raw(src.resource)} AND ${col('action')} = ${params.raw(src.action)})`,
    )
    conds.push(any.length === 1 ? any[0]! : `(${any.join(' OR ')})`)
  }
  if (s.recordId !== undefined) conds.push(`${col('recordId')} = ${params.raw(s.recordId)}`)
  if (s.action !== undefined) conds.push(`${col('action')} = ${params.raw(s.action)}`)
  if (s.actionType !== undefined) conds.push(`${col('actionType')} = ${params.raw(s.actionType)}`)
  if (s.tenant !== undefined) conds.push(tenantCondition(table, params, s.tenant))
  for (const [key, value] of s.actors ?? [])
    conds.push(`${col(key)} = ${params.add(table.codecs.get(key)!, value)}`)
  if (s.from !== undefined) conds.push(`${col('occurredAt')} >= ${params.raw(s.from, 'timestamptz')}`)
  if (s.to !== undefined) conds.push(`${col('occurredAt')} <= ${params.raw(s.to, 'timestamptz')}`)
  if (s.afterPosition !== undefined)
    conds.push(`${col('position')} > ${params.raw(String(s.afterPosition), 'int8')}`)
  if (s.untilPosition !== undefined)
    conds.push(`${col('position')} <= ${params.raw(String(s.untilPosition), 'int8')}`)
  return conds.join(' AND ')
}

/** The text of a tenant as the log stores it. */
export function tenantText(tenant: unknown): string {
  return typeof tenant === 'string' ? tenant : JSON.stringify(tenant)
}

/**
 * `tenant = ...` for a tenant as a caller spells it. Events store the tenant as its column does (a uuid in
 * lower case), so the value is matched in each form a tenant column of the app gives it.
 */
function tenantCondition(table: EventTable, params: Params, tenant: unknown): string {
  const forms = new Set<string>()
  for (const r of table.resources.values()) {
    if (r.tenant === undefined) continue
    const cast = r.codecs.get(r.tenant)!.fromApp(tenant)
    if (cast.ok && cast.value !== null) forms.add(tenantText(cast.value))
  }
  if (forms.size === 0) forms.add(tenantText(tenant))
  const list = [...forms].map((f) => params.raw(f))
  return list.length === 1
    ? `${table.col('tenant')} = ${list[0]}`
    : `${table.col('tenant')} IN (${list.join(', ')})`
}

/** A caller's filter of `rewind.events()`, checked: VALIDATION naming the field of the first problem. */
export function selectionOf(table: EventTable, filter: EventFilter): EventSelection {
  const bad = (field: string, message: string) =>
    new RewindError('VALIDATION', `events: ${field} ${message}`, { issues: [{ path: [field], message }] })
  const actors: [string, Json][] = []
  for (const [key, value] of Object.entries(filter.actor ?? {})) {
    const codec = table.codecs.get(key)
    if (!codec || !table.config.actorKeys.includes(key)) {
      throw bad(
        'actor',
        `"${key}" is not an actor column (actor columns: ${table.config.actorKeys.join(', ') || 'none'})`,
      )
    }
    const cast = codec.fromApp(value)
    if (!cast.ok) throw bad(`actor.${key}`, cast.message)
    actors.push([key, cast.value])
  }
  const time = (field: 'from' | 'to') => {
    const v = filter[field]
    if (v === undefined) return undefined
    const cast = table.codecs.get('occurredAt')!.fromApp(v)
    if (!cast.ok || cast.value === null) throw bad(field, cast.ok ? 'is required' : cast.message)
    return cast.value as string
  }
  const position = (field: 'afterPosition' | 'untilPosition') => {
    const v = filter[field]
    if (v !== undefined && !Number.isSafeInteger(v)) throw bad(field, `must be an integer, got ${String(v)}`)
    return v
  }
  const from = time('from')
  const to = time('to')
  const afterPosition = position('afterPosition')
  const untilPosition = position('untilPosition')
  return {
    ...(filter.resource !== undefined
      ? {
          sources: [
            { resource: typeof filter.resource === 'string' ? filter.resource : filter.resource.name },
          ],
        }
      : {}),
    ...(filter.recordId !== undefined
      ? {
          recordId:
            typeof filter.recordId === 'string' ? filter.recordId : recordIdText(filter.recordId as Json),
        }
      : {}),
    ...(filter.action !== undefined ? { action: filter.action } : {}),
    ...(filter.actionType !== undefined ? { actionType: filter.actionType } : {}),
    ...(filter.tenant !== undefined ? { tenant: filter.tenant } : {}),
    ...(actors.length > 0 ? { actors } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(afterPosition !== undefined ? { afterPosition } : {}),
    ...(untilPosition !== undefined ? { untilPosition } : {}),
  }
}
