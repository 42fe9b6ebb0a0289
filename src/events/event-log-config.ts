import { getTableName } from 'drizzle-orm'
import type { PgTable } from 'drizzle-orm/pg-core'
import { definitionError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import { type KeyProvider, type KeyRing, keyRing } from './encryption.js'
import type { ActionEvent } from './event.js'
import { eventLogInfo } from './event-log-table.js'

/** Routes events of one (resource, action, versions) to other actions at replay. */
export interface ReplayOverride {
  /** The resource name the events were recorded under (it need not exist any more). */
  readonly resource: string | AnyResource
  /** The action name the events were recorded under. */
  readonly action: string
  /** The event versions this override applies to. */
  readonly versions: readonly number[]
  /** Every target runs, in order, with the event's input. */
  readonly routeTo: readonly (readonly [AnyResource, string])[]
}

/** How event positions are kept in commit order. */
export type Ordering =
  /** Default: no global lock. The event is inserted after the row write, so row locks order events of the same records. */
  | 'rowLocks'
  /** AshEvents' design: a transaction-scoped advisory lock before every event insert. */
  | {
      readonly advisoryLock:
        | 'global'
        | 'tenant'
        | ((event: ActionEvent) => bigint | number | readonly [number, number])
      /** The key of the global lock (and of events without a tenant). Default 2147483647. */
      readonly key?: number | bigint
    }

/** What the event log of a Rewind instance is configured with. */
export interface EventLogConfig {
  /** The table made with {@link eventLogTable}. */
  readonly table: PgTable
  /** For each actor column of the table: the value to store for an actor, or undefined when it is not that type. */
  readonly actors?: Readonly<Record<string, (actor: unknown) => unknown>>
  /** Default `'rowLocks'`. */
  readonly ordering?: Ordering
  /** Encrypts sensitive values (AES-256-GCM) instead of redacting them. */
  readonly encryption?: KeyRing | KeyProvider
  /** Routes old event versions to other actions at replay. */
  readonly replayOverrides?: readonly ReplayOverride[]
  /** Replaces the default clearing of tracked tables at the start of a replay. */
  readonly clearRecords?: (ctx: {
    sql(text: string, params?: readonly (string | null)[]): Promise<unknown>
  }) => Promise<void>
}

export interface ResolvedEventLog {
  readonly table: PgTable
  readonly tableName: string
  readonly idMode: 'bigint' | 'uuidv7'
  readonly actorKeys: readonly string[]
  readonly actors: Readonly<Record<string, (actor: unknown) => unknown>>
  readonly ordering: Ordering
  readonly keys: KeyProvider | undefined
  readonly replayOverrides: readonly ReplayOverride[]
  readonly clearRecords: EventLogConfig['clearRecords']
}

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

function isKeyProvider(value: unknown): value is KeyProvider {
  return (
    typeof (value as KeyProvider)?.current === 'function' && typeof (value as KeyProvider)?.get === 'function'
  )
}

/**
 * Checks the log's configuration and every tracked resource's event options, as AshEvents' verifiers do,
 * at definition time; each message says what is wrong and how to fix it.
 */
export function resolveEventLog(
  config: EventLogConfig,
  resources: ReadonlyMap<string, AnyResource>,
): ResolvedEventLog {
  const info = eventLogInfo(config.table)
  if (!info) throw definitionError('eventLog.table must be a table made with eventLogTable(name, options)')
  const tableName = getTableName(config.table)
  const actors = config.actors ?? {}
  for (const key of info.actorKeys) {
    if (typeof actors[key] !== 'function') {
      throw definitionError(
        `eventLog.actors: the event table has actor column "${key}" but no resolver for it; add actors: { ${key}: (actor) => ... }`,
      )
    }
  }
  for (const key of Object.keys(actors)) {
    if (!info.actorKeys.includes(key)) {
      throw definitionError(
        `eventLog.actors: "${key}" is not an actor column of the event table (actor columns: ${info.actorKeys.join(', ') || 'none'}); add it to eventLogTable(..., { actors })`,
      )
    }
  }
  const ordering = config.ordering ?? 'rowLocks'
  if (ordering !== 'rowLocks') {
    if (typeof ordering !== 'object' || ordering === null || !('advisoryLock' in ordering)) {
      throw definitionError(
        `eventLog.ordering must be 'rowLocks' or { advisoryLock: 'global' | 'tenant' | (event) => key }`,
      )
    }
    const mode = ordering.advisoryLock
    if (mode !== 'global' && mode !== 'tenant' && typeof mode !== 'function') {
      throw definitionError(
        `eventLog.ordering.advisoryLock must be 'global', 'tenant' or a function, got ${JSON.stringify(mode)}`,
      )
    }
    if (ordering.key !== undefined) {
      const k = BigInt(ordering.key)
      if (k < INT64_MIN || k > INT64_MAX) {
        throw definitionError(
          `eventLog.ordering.key must be a signed 64-bit integer, got ${String(ordering.key)}`,
        )
      }
    }
  }
  let keys: KeyProvider | undefined
  if (config.encryption !== undefined)
    keys = isKeyProvider(config.encryption) ? config.encryption : keyRing(config.encryption)

  const overrides = config.replayOverrides ?? []
  overrides.forEach((o, i) => {
    const where = `eventLog.replayOverrides[${i}]`
    if (!o || typeof o.action !== 'string' || !o.resource)
      throw definitionError(`${where} needs resource, action, versions and routeTo`)
    if (
      !Array.isArray(o.versions) ||
      o.versions.length === 0 ||
      !o.versions.every((v) => Number.isInteger(v) && v > 0)
    ) {
      throw definitionError(
        `${where}: versions must be a non-empty list of positive integers, got ${JSON.stringify(o.versions)}`,
      )
    }
    if (!Array.isArray(o.routeTo) || o.routeTo.length === 0)
      throw definitionError(`${where}: routeTo must list at least one [resource, action]`)
    for (const [target, action] of o.routeTo) {
      if (!target || !resources.has(target.name) || resources.get(target.name) !== target) {
        throw definitionError(
          `${where}: routeTo resource ${target?.name ?? String(target)} is not registered in createRewind({ resources }); add it`,
        )
      }
      const def = Object.hasOwn(target.actions, action) ? target.actions[action] : undefined
      if (!def) {
        throw definitionError(
          `${where}: routeTo action "${action}" does not exist on ${target.name} (actions: ${Object.keys(target.actions).join(', ')})`,
        )
      }
      if (def.kind === 'action')
        throw definitionError(
          `${where}: routeTo action "${action}" of ${target.name} is a generic action; route to a create, update or destroy`,
        )
    }
  })

  for (const resource of resources.values()) verifyResourceEvents(resource)

  return {
    table: config.table,
    tableName,
    idMode: info.idMode,
    actorKeys: info.actorKeys,
    actors,
    ordering,
    keys,
    replayOverrides: overrides,
    clearRecords: config.clearRecords,
  }
}

/** The event options of one resource (ignore/only, versions, strategies, timestamps, replay hooks). */
export function verifyResourceEvents(resource: AnyResource): void {
  const ev = resource.events
  const actions = resource.actions as Record<string, { kind: string; changes: readonly unknown[] }>
  const names = Object.keys(actions)
  const fail = (message: string) => {
    throw definitionError(`Resource ${resource.name}, events: ${message}`, resource.name)
  }
  const unknown = (list: readonly string[] | undefined) => (list ?? []).filter((a) => !names.includes(a))
  if (ev.only && ev.ignore && ev.ignore.length > 0)
    fail('only and ignore are mutually exclusive; use one or the other')
  for (const [option, list] of [
    ['only', ev.only],
    ['ignore', ev.ignore],
  ] as const) {
    const missing = unknown(list)
    if (missing.length)
      fail(`actions ${JSON.stringify(missing)} in ${option} do not exist (actions: ${names.join(', ')})`)
  }
  for (const name of ev.only ?? []) {
    if (actions[name]!.kind === 'action')
      fail(
        `action "${name}" in only is a generic action; only create, update and destroy actions record events`,
      )
  }
  for (const [name, version] of Object.entries(ev.versions ?? {})) {
    if (!names.includes(name))
      fail(`action "${name}" in versions does not exist (actions: ${names.join(', ')})`)
    if (!Number.isInteger(version) || (version as number) < 1)
      fail(`version ${JSON.stringify(version)} of action "${name}" must be a positive integer`)
    if (ev.ignore?.includes(name))
      fail(
        `action "${name}" is in ignore but has a version; an ignored action records no events, so remove one`,
      )
    if (ev.only && !ev.only.includes(name))
      fail(`action "${name}" has a version but is not in only; add it to only or remove its version`)
  }
  for (const [name, strategy] of Object.entries(ev.replayStrategy ?? {})) {
    if (!names.includes(name))
      fail(`action "${name}" in replayStrategy does not exist (actions: ${names.join(', ')})`)
    if (strategy !== 'forceChange' && strategy !== 'asArguments') {
      fail(
        `replay strategy ${JSON.stringify(strategy)} of action "${name}" must be 'forceChange' or 'asArguments'`,
      )
    }
  }
  for (const option of ['createTimestamp', 'updateTimestamp'] as const) {
    const key = ev[option]
    if (key === undefined) continue
    const codec = resource.codecs.get(key)
    if (!codec)
      fail(`${option} "${key}" is not a column (columns: ${[...resource.codecs.keys()].join(', ')})`)
    if (codec!.dims > 0 || (codec!.kind !== 'timestamptz' && codec!.kind !== 'timestamp')) {
      fail(`${option} "${key}" must be a timestamp column, got ${codec!.sqlType}`)
    }
  }
  for (const [name, allowed] of Object.entries(ev.allowHooksInReplay ?? {})) {
    if (!names.includes(name))
      fail(`action "${name}" in allowHooksInReplay does not exist (actions: ${names.join(', ')})`)
    if (!Array.isArray(allowed)) fail(`allowHooksInReplay.${name} must be a list of change names`)
    const changeNames = actions[name]!.changes.map((c) => (c as { name?: string }).name).filter(Boolean)
    for (const changeName of allowed as string[]) {
      if (!changeNames.includes(changeName)) {
        fail(
          `allowHooksInReplay.${name} names change "${changeName}", which action "${name}" does not have (named changes: ${changeNames.join(', ') || 'none'}); name it with change('${changeName}', fn)`,
        )
      }
    }
  }
}

/** The advisory-lock key of an event, or undefined in the default mode. */
export function advisoryKey(
  ordering: Ordering,
  event: ActionEvent,
): readonly [bigint] | readonly [number, number] | undefined {
  if (ordering === 'rowLocks') return undefined
  const fallback = BigInt(ordering.key ?? 2147483647)
  const mode = ordering.advisoryLock
  if (mode === 'global') return [fallback]
  if (mode === 'tenant') {
    const t = event.tenant
    if (t === undefined || t === null) return [fallback]
    if (typeof t === 'number' && Number.isInteger(t)) return [BigInt(t)]
    // Any other tenant: a stable 64-bit hash of its text, so each tenant has its own lock.
    return [hash64(String(t))]
  }
  const k = mode(event)
  if (Array.isArray(k)) {
    const [a, b] = k as readonly [number, number]
    if (![a, b].every((x) => Number.isInteger(x) && x >= INT32_MIN && x <= INT32_MAX)) {
      throw definitionError(
        `advisory lock key function returned ${JSON.stringify(k)}; expected two 32-bit integers or one 64-bit integer`,
      )
    }
    return [a, b]
  }
  return [BigInt(k as bigint | number)]
}

function hash64(text: string): bigint {
  // FNV-1a, 64 bit, folded to a signed value.
  let h = 0xcbf29ce484222325n
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte)
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return h >= 2n ** 63n ? h - 2n ** 64n : h
}
