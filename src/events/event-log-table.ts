import { type BuildColumns, sql } from 'drizzle-orm'
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  type PgColumnBuilderBase,
  type PgTableWithColumns,
  pgSchema,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { definitionError } from '../errors/rewind-error.js'

/** PostgreSQL's 64-bit transaction id type. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' })

/** The columns every event log has; actor columns come on top. */
export const EVENT_LOG_COLUMNS = [
  'id',
  'position',
  'recordId',
  'resource',
  'action',
  'actionType',
  'version',
  'data',
  'changedAttributes',
  'metadata',
  'encoders',
  'occurredAt',
  'tenant',
  'transactionId',
] as const

/** How event ids are made: a database identity (default) or a UUIDv7 made in the app. */
export type EventIdMode = 'bigint' | 'uuidv7'

export interface EventLogTableOptions<
  Actors extends Record<string, PgColumnBuilderBase>,
  Id extends EventIdMode = EventIdMode,
> {
  /** The event id: `'bigint'` (an identity, default) or `'uuidv7'` (made in the app). Order is always `position`. */
  readonly id?: Id
  /**
   * One nullable column per actor type, as Drizzle column builders: `{ userId: uuid('user_id') }`.
   * `createRewind({ eventLog: { actors } })` says how to fill each from the actor of an action.
   */
  readonly actors?: Actors
  /** A PostgreSQL schema for the table. */
  readonly schema?: string
  /**
   * Indexes for the reads an app may want besides Rewind's own, each an index every event insert also writes
   * (so off by default): events by action (`{ resource, action }` filters), by tenant (`{ tenant }` filters and
   * replays of one tenant on a large log), by actor (`{ actor }` filters; `true` for every actor column, or the
   * columns to index). The indexes Rewind's own reads need are always there: see docs/performance.md.
   */
  readonly indexes?: {
    readonly action?: boolean
    readonly tenant?: boolean
    readonly actors?: boolean | readonly Extract<keyof Actors, string>[]
  }
}

const LOG_BRAND = Symbol.for('rewind.eventLog')

const uuidId = () => uuid('id').primaryKey()
const bigintId = () => bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity()
type IdColumn<Id extends EventIdMode> = Id extends 'uuidv7'
  ? ReturnType<typeof uuidId>
  : ReturnType<typeof bigintId>

function columns<Actors extends Record<string, PgColumnBuilderBase>, Id extends EventIdMode>(
  idMode: Id,
  actors: Actors,
) {
  return {
    id: (idMode === 'uuidv7' ? uuidId() : bigintId()) as IdColumn<Id>,
    /** The order of the log: assigned by the database when the event is inserted, after the row write. */
    position: bigint('position', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    recordId: text('record_id').notNull(),
    resource: text('resource').notNull(),
    action: text('action').notNull(),
    actionType: text('action_type').notNull().$type<'create' | 'update' | 'destroy'>(),
    version: integer('version').notNull().default(1),
    data: jsonb('data').notNull().default({}),
    changedAttributes: jsonb('changed_attributes').notNull().default({}),
    metadata: jsonb('metadata').notNull().default({}),
    encoders: jsonb('encoders').notNull().default({}),
    occurredAt: timestamp('occurred_at', { withTimezone: true, precision: 6, mode: 'string' })
      .notNull()
      .default(sql`clock_timestamp()`),
    tenant: text('tenant'),
    transactionId: xid8('transaction_id').notNull().default(sql`pg_current_xact_id()`),
    ...actors,
  }
}

/** The column builders of an event log with these actor columns. */
export type EventLogColumns<
  Actors extends Record<string, PgColumnBuilderBase>,
  Id extends EventIdMode,
> = ReturnType<typeof columns<Actors, Id>>

/**
 * The type of an event log table: a Drizzle pg table with Rewind's columns and the actor columns. Spelled out
 * (instead of inferred) so that the published declarations resolve it exactly as Drizzle's `pgTable` would.
 */
export type EventLogTable<
  Name extends string = string,
  Actors extends Record<string, PgColumnBuilderBase> = {},
  Id extends EventIdMode = 'bigint',
> = PgTableWithColumns<{
  name: Name
  schema: string | undefined
  columns: BuildColumns<Name, EventLogColumns<Actors, Id>, 'pg'>
  dialect: 'pg'
}>

/**
 * The event log table: a Drizzle table with the columns Rewind records into, indexes for its reads, and
 * (created with the other tables) a trigger that makes it append-only.
 *
 * ```ts
 * export const events = eventLogTable('events', {
 *   actors: { userId: uuid('user_id'), systemActor: text('system_actor') },
 * })
 * ```
 */
export function eventLogTable<
  const Name extends string,
  Actors extends Record<string, PgColumnBuilderBase> = {},
  Id extends EventIdMode = 'bigint',
>(name: Name, options: EventLogTableOptions<Actors, Id> = {}): EventLogTable<Name, Actors, Id> {
  const actors = (options.actors ?? {}) as Actors
  for (const key of Object.keys(actors)) {
    if ((EVENT_LOG_COLUMNS as readonly string[]).includes(key)) {
      throw definitionError(
        `eventLogTable("${name}"): actor column "${key}" clashes with a built-in event column; rename it`,
      )
    }
    const builder = actors[key] as unknown as { config?: { notNull?: boolean; primaryKey?: boolean } }
    if (builder.config?.notNull || builder.config?.primaryKey) {
      throw definitionError(
        `eventLogTable("${name}"): actor column "${key}" must be nullable: an event has at most one actor type (and maybe none)`,
      )
    }
  }
  const idMode = (options.id ?? 'bigint') as Id
  if (idMode !== 'bigint' && idMode !== 'uuidv7') {
    throw definitionError(
      `eventLogTable("${name}"): id must be 'bigint' or 'uuidv7', got ${JSON.stringify(idMode)}`,
    )
  }
  const wanted = options.indexes ?? {}
  const actorIndexes =
    wanted.actors === true ? Object.keys(actors) : wanted.actors === false ? [] : [...(wanted.actors ?? [])]
  for (const key of actorIndexes) {
    if (!Object.hasOwn(actors, key))
      throw definitionError(
        `eventLogTable("${name}"): indexes.actors names "${key}", which is not an actor column (actor columns: ${Object.keys(actors).join(', ') || 'none'})`,
      )
  }
  // Rewind's own reads: the log in order (replay, tails, pages), a record's events (history, stateAt), a
  // resource's (pages by resource, the studio), by time (`from`/`to`), by transaction (the studio's live view).
  const extra = (t: any) => [
    uniqueIndex(`${name}_position_idx`).on(t.position),
    index(`${name}_record_idx`).on(t.resource, t.recordId, t.position),
    index(`${name}_resource_idx`).on(t.resource, t.position),
    index(`${name}_occurred_at_idx`).on(t.occurredAt),
    index(`${name}_transaction_idx`).on(t.transactionId),
    ...(wanted.action ? [index(`${name}_resource_action_idx`).on(t.resource, t.action, t.position)] : []),
    ...(wanted.tenant ? [index(`${name}_tenant_idx`).on(t.tenant, t.position)] : []),
    ...actorIndexes.map((key) => index(`${name}_actor_${key}_idx`).on(t[key], t.position)),
  ]
  const cols = columns(idMode, actors)
  const table = options.schema
    ? pgSchema(options.schema).table(name, cols, extra)
    : pgTable(name, cols, extra)
  Object.defineProperty(table, LOG_BRAND, {
    value: { idMode, actorKeys: Object.keys(actors) },
    enumerable: false,
  })
  return table as unknown as EventLogTable<Name, Actors, Id>
}

/** @internal what eventLogTable recorded about a table, or undefined for any other table. */
export function eventLogInfo(
  table: unknown,
): { idMode: 'bigint' | 'uuidv7'; actorKeys: string[] } | undefined {
  return table && typeof table === 'object' ? (table as Record<symbol, never>)[LOG_BRAND] : undefined
}
