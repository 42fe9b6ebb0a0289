import { getTableName } from 'drizzle-orm'
import { getTableConfig } from 'drizzle-orm/pg-core'
import type { ColumnCodec } from '../columns/codec.js'
import { tableCodecs } from '../columns/column-codec.js'
import { definitionError } from '../errors/rewind-error.js'
import { type ActionBuilders, type ActionDefinition, actionBuilders } from './action.js'
import type { Relationship } from './relationships.js'
import type { AnyTable, ColumnKey, PrimaryKeyOf } from './types.js'

/** Event options of a resource (how its actions are recorded in the event log). */
export interface ResourceEventsConfig<Actions extends string, Columns extends string> {
  /** Actions that write no event (legacy actions kept as replay targets). Exclusive with `only`. */
  readonly ignore?: readonly Actions[]
  /** Only these create/update/destroy actions write events. Exclusive with `ignore`. */
  readonly only?: readonly Actions[]
  /** The current version of each action, written to its events (default 1). */
  readonly versions?: Partial<Record<Actions, number>>
  /** How replay applies changed attributes, per action (default `'forceChange'`). */
  readonly replayStrategy?: Partial<Record<Actions, 'forceChange' | 'asArguments'>>
  /** The create-timestamp column: events of creates take it as `occurred_at`. */
  readonly createTimestamp?: Columns
  /** The update-timestamp column: events of updates take it as `occurred_at`. */
  readonly updateTimestamp?: Columns
  /** Named changes whose hooks still run during replay, per action. */
  readonly allowHooksInReplay?: Partial<Record<Actions, readonly string[]>>
  /** Record nothing for this resource. */
  readonly track?: boolean
}

/** What `defineResource` takes besides the table. */
export interface ResourceConfig<T extends AnyTable, A extends Record<string, ActionDefinition>> {
  /** The resource's name in events and errors (default: the table name). */
  readonly name?: string
  /** The actions, built with the builders for this table. */
  readonly actions: (builders: ActionBuilders<T>) => A
  /** Columns and arguments whose values never reach the event log in plain text (encrypted or redacted). */
  readonly sensitive?: readonly (ColumnKey<T> | (string & {}))[]
  /** Named unique column sets (for upserts and lookups). */
  readonly identities?: Readonly<Record<string, readonly ColumnKey<T>[]>>
  /** Attribute-based multitenancy: the column holding the tenant. Reads and writes are scoped to it. */
  readonly tenant?: ColumnKey<T>
  readonly relationships?: Readonly<Record<string, Relationship>>
  /**
   * How this resource's actions are recorded (defaults: every create/update/destroy, version 1). Its action
   * names are checked against `actions`, never inferred from here (NoInfer): naming one action in `ignore`
   * must not narrow the resource's actions to that one.
   */
  readonly events?: ResourceEventsConfig<NoInfer<Extract<keyof A, string>>, ColumnKey<T>>
}

/** A resource: a table plus named actions, with everything Rewind derives from them. */
export interface Resource<
  T extends AnyTable = AnyTable,
  A extends Record<string, ActionDefinition> = Record<string, ActionDefinition>,
> {
  readonly kind: 'rewind.resource'
  readonly name: string
  readonly table: T
  readonly actions: A
  readonly primaryKey: PrimaryKeyOf<T>
  readonly codecs: ReadonlyMap<string, ColumnCodec>
  readonly sensitive: ReadonlySet<string>
  readonly identities: Readonly<Record<string, readonly string[]>>
  readonly tenant: string | undefined
  readonly relationships: Readonly<Record<string, Relationship>>
  readonly events: ResourceEventsConfig<string, string>
  /** Keys of columns with app-side defaults (`$defaultFn`) and update values (`$onUpdateFn`). */
  readonly appDefaults: ReadonlyMap<string, () => unknown>
  readonly appOnUpdate: ReadonlyMap<string, () => unknown>
  /** Columns that hold foreign keys: always recorded in changed attributes (replay does not re-run related writes). */
  readonly foreignKeys: ReadonlySet<string>
  /** Columns the database computes and never accepts (GENERATED ALWAYS AS ... STORED). */
  readonly generatedColumns: ReadonlySet<string>
  /** Columns with GENERATED ALWAYS AS IDENTITY (writable only with OVERRIDING SYSTEM VALUE). */
  readonly identityAlwaysColumns: ReadonlySet<string>
  /** Columns an insert must give: NOT NULL, with no default, identity or generation of the database's. */
  readonly requiredColumns: readonly string[]
  /** Columns whose values events store with an encoder (base64 bytes, see ColumnCodec.encoder). */
  readonly encodedColumns: ReadonlySet<string>
}

export type AnyResource = Resource<any, any>

const PK_KINDS = new Set(['uuid', 'text', 'int', 'bigint'])

/**
 * Defines a resource over a Drizzle table. Record and input types are inferred from the table and the
 * actions; every mistake in the definition fails here, with a message that says how to fix it.
 *
 * ```ts
 * export const User = defineResource(users, {
 *   sensitive: ['hashedPassword'],
 *   actions: (a) => ({
 *     create: a.create({ accept: ['email', 'name'] }),
 *     rename: a.update({ accept: ['name'] }),
 *     destroy: a.destroy(),
 *   }),
 * })
 * ```
 */
export function defineResource<T extends AnyTable, const A extends Record<string, ActionDefinition>>(
  table: T,
  config: ResourceConfig<T, A>,
): Resource<T, A> {
  const tableName = getTableName(table)
  const name = config.name ?? tableName
  const fail = (message: string, action?: string) => {
    throw definitionError(`Resource ${name}: ${message}`, name, action)
  }
  if (typeof config.actions !== 'function')
    fail('`actions` must be a function of the action builders: actions: (a) => ({ create: a.create({...}) })')
  const tableConfig = getTableConfig(table)
  const codecs = tableCodecs(table)
  const columnKeys = [...codecs.keys()]
  const hasColumn = (key: string) => codecs.has(key)
  const known = columnKeys.join(', ')

  // Primary key: exactly one column; a composite key is rejected here rather than failing later.
  const pkColumns = [...codecs.values()].filter((c) => c.column.primary)
  const composite = tableConfig.primaryKeys.flatMap((pk) => pk.columns)
  if (composite.length > 0) {
    fail(
      `table "${tableName}" has a composite primary key (${composite.map((c) => c.name).join(', ')}). Rewind needs a single-column primary key: add an id column with .primaryKey() and make the pair a unique index (declare it as an identity).`,
    )
  }
  if (pkColumns.length !== 1) {
    fail(
      `table "${tableName}" has no primary key. Give one column .primaryKey() (uuid, text, integer or bigint).`,
    )
  }
  const pk = pkColumns[0]!
  if (pk.dims > 0 || !PK_KINDS.has(pk.kind)) {
    fail(`the primary key "${pk.key}" is ${pk.sqlType}; expected uuid, text, integer or bigint.`)
  }

  const actions = config.actions(actionBuilders<T>())
  if (!actions || typeof actions !== 'object') fail('`actions` must return an object of actions')
  for (const [actionName, def] of Object.entries(actions)) {
    if (!def || typeof def !== 'object' || !('kind' in def)) {
      fail(
        `action "${actionName}" is not an action: build it with a.create / a.update / a.destroy / a.action`,
        actionName,
      )
    }
    for (const key of def.accept) {
      if (!hasColumn(key)) {
        fail(
          `action "${actionName}" accepts "${key}", which is not a column of "${tableName}". Columns: ${known}.`,
          actionName,
        )
      }
    }
    for (const argName of Object.keys(def.arguments)) {
      const schema = def.arguments[argName] as { '~standard'?: { validate?: unknown } } | undefined
      if (!schema || typeof schema['~standard']?.validate !== 'function') {
        fail(
          `argument "${argName}" of action "${actionName}" is not a Standard Schema (zod, valibot, arktype, ...)`,
          actionName,
        )
      }
      if (def.accept.includes(argName)) {
        fail(
          `action "${actionName}" has "${argName}" both as an accepted column and as an argument; rename the argument`,
          actionName,
        )
      }
    }
    for (const change of def.changes) {
      if (typeof change !== 'function' && (typeof change !== 'object' || typeof change.run !== 'function')) {
        fail(`action "${actionName}" has a change that is neither a function nor { run }`, actionName)
      }
    }
    for (const validation of def.validations) {
      if (
        typeof validation !== 'function' &&
        (typeof validation !== 'object' || typeof validation.validate !== 'function')
      ) {
        fail(
          `action "${actionName}" has a validation that is neither a function nor { validate }`,
          actionName,
        )
      }
    }
    if (def.kind === 'action' && typeof def.run !== 'function')
      fail(`generic action "${actionName}" needs a run function`, actionName)
    if ((def.kind === 'update' || def.kind === 'destroy') && def.accept.includes(pk.key)) {
      fail(
        `action "${actionName}" accepts the primary key "${pk.key}"; an update cannot change a record's primary key (its events are kept by id, so its history would split in two). Remove it from accept, or create a new record and destroy the old one.`,
        actionName,
      )
    }
    if (def.upsert) {
      if (def.kind !== 'create') fail(`action "${actionName}": only create actions can upsert`, actionName)
      if (def.upsert.update.includes(pk.key as never)) {
        fail(
          `action "${actionName}" upsert updates the primary key "${pk.key}"; an update cannot change a record's primary key. Remove it from upsert.update.`,
          actionName,
        )
      }
      const identity = config.identities?.[def.upsert.identity]
      if (!identity) {
        fail(
          `action "${actionName}" upserts on identity "${def.upsert.identity}", which is not declared. Declared identities: ${Object.keys(config.identities ?? {}).join(', ') || 'none'}.`,
          actionName,
        )
      }
      for (const key of def.upsert.update) {
        if (!hasColumn(key))
          fail(
            `action "${actionName}" upsert updates "${key}", which is not a column. Columns: ${known}.`,
            actionName,
          )
      }
    }
    if (def.optimisticLock !== undefined) {
      const c = codecs.get(def.optimisticLock)
      if (c?.kind !== 'int' || c.dims > 0) {
        fail(
          `action "${actionName}": optimisticLock "${def.optimisticLock}" must be an integer column`,
          actionName,
        )
      }
    }
  }

  const argumentNames = new Set(Object.values(actions).flatMap((d) => Object.keys(d.arguments)))
  for (const key of config.sensitive ?? []) {
    if (!hasColumn(key) && !argumentNames.has(key)) {
      fail(`sensitive "${key}" is neither a column nor an argument of any action. Columns: ${known}.`)
    }
  }
  const identities: Record<string, readonly string[]> = {}
  for (const [identity, cols] of Object.entries(config.identities ?? {})) {
    if (!Array.isArray(cols) || cols.length === 0)
      fail(`identity "${identity}" must list at least one column`)
    for (const key of cols) {
      if (!hasColumn(key))
        fail(`identity "${identity}" names "${key}", which is not a column. Columns: ${known}.`)
    }
    identities[identity] = [...cols]
  }
  if (config.tenant !== undefined && !hasColumn(config.tenant)) {
    fail(`tenant column "${config.tenant}" does not exist. Columns: ${known}.`)
  }
  for (const [relName, rel] of Object.entries(config.relationships ?? {})) {
    if (!rel || typeof rel.target !== 'function')
      fail(`relationship "${relName}" must be built with belongsTo / hasOne / hasMany`)
    if (rel.kind === 'belongsTo' && !hasColumn(rel.foreignKey)) {
      fail(
        `relationship "${relName}" (belongsTo) uses foreign key "${rel.foreignKey}", which is not a column. Columns: ${known}.`,
      )
    }
  }

  const appDefaults = new Map<string, () => unknown>()
  const appOnUpdate = new Map<string, () => unknown>()
  const generatedColumns = new Set<string>()
  const identityAlwaysColumns = new Set<string>()
  const requiredColumns: string[] = []
  const encodedColumns = new Set<string>()
  for (const c of codecs.values()) {
    const col = c.column as unknown as {
      hasDefault?: boolean
      defaultFn?: () => unknown
      onUpdateFn?: () => unknown
      generated?: unknown
      generatedIdentity?: { type: 'always' | 'byDefault' }
    }
    if (c.notNull && !col.hasDefault && !col.generatedIdentity && !col.generated) requiredColumns.push(c.key)
    if (col.defaultFn) appDefaults.set(c.key, col.defaultFn)
    if (col.onUpdateFn) appOnUpdate.set(c.key, col.onUpdateFn)
    if (col.generated) generatedColumns.add(c.key)
    if (col.generatedIdentity?.type === 'always') identityAlwaysColumns.add(c.key)
    if (c.encoder !== undefined) encodedColumns.add(c.key)
  }
  for (const [actionName, def] of Object.entries(actions)) {
    for (const key of def.accept) {
      if (generatedColumns.has(key))
        fail(`action "${actionName}" accepts "${key}", a generated column the database computes`, actionName)
    }
  }

  const fkNames = new Set(tableConfig.foreignKeys.flatMap((fk) => fk.reference().columns.map((c) => c.name)))
  const foreignKeys = new Set([...codecs.values()].filter((c) => fkNames.has(c.name)).map((c) => c.key))
  for (const rel of Object.values(config.relationships ?? {}))
    if (rel.kind === 'belongsTo') foreignKeys.add(rel.foreignKey)

  return Object.freeze({
    kind: 'rewind.resource' as const,
    foreignKeys,
    name,
    table,
    actions,
    primaryKey: pk.key as PrimaryKeyOf<T>,
    codecs,
    sensitive: new Set<string>(config.sensitive ?? []),
    identities,
    tenant: config.tenant,
    relationships: config.relationships ?? {},
    events: (config.events ?? {}) as ResourceEventsConfig<string, string>,
    appDefaults,
    appOnUpdate,
    generatedColumns,
    identityAlwaysColumns,
    requiredColumns,
    encodedColumns,
  })
}

/** The names of a resource's actions. */
export type ActionName<R extends AnyResource> = Extract<keyof R['actions'], string>
/** The input type of one action. */
export type ActionInput<R extends AnyResource, N extends ActionName<R>> = R['actions'][N]['$input']
/** What one action returns. */
export type ActionResult<R extends AnyResource, N extends ActionName<R>> = R['actions'][N]['$result']
/** The kind of one action. */
export type ActionKindOf<R extends AnyResource, N extends ActionName<R>> = R['actions'][N]['kind']
/** The record type of a resource. */
export type InferRecord<R extends AnyResource> = R['table']['$inferSelect']
