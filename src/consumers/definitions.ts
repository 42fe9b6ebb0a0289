import type { PgDatabase } from 'drizzle-orm/pg-core'
import type { Json } from '../columns/values.js'
import { definitionError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event.js'
import type { ActionInput, ActionName, AnyResource, InferRecord } from '../resource/define-resource.js'

/** A value as the log holds it: dates, bigints and bytes as strings, JSON as JSON. */
export type JsonOf<V> = V extends undefined
  ? never
  : V extends Date | bigint | Uint8Array
    ? string
    : V extends string | number | boolean | null
      ? V
      : V extends readonly (infer E)[]
        ? JsonOf<E>[]
        : V extends object
          ? V
          : Json

/**
 * An event of `action` on resource `R`, as a handler sees it: the public event shape
 * ({@link RewindEvent}, what `rewind.events()` returns) with `action`, `data` (the action's input) and
 * `changedAttributes` (the record's columns) typed from the definitions, values as the log holds them.
 */
export type ConsumerEvent<R extends AnyResource = AnyResource, N extends string = string> = Omit<
  RewindEvent,
  'action' | 'data' | 'changedAttributes'
> & {
  readonly action: N
  readonly data: N extends ActionName<R>
    ? { readonly [K in keyof ActionInput<R, N>]: JsonOf<ActionInput<R, N>[K]> }
    : Readonly<Record<string, Json>>
  readonly changedAttributes: { readonly [K in keyof InferRecord<R>]?: JsonOf<InferRecord<R>[K]> }
}

/** What a projection's handler gets besides the event: the transaction its writes go in. */
export interface ProjectionContext {
  /** A Drizzle database bound to the transaction (the action's, for inline projections; the batch's for async). */
  readonly db: PgDatabase<any, any, any>
  /** Raw SQL in the same transaction; parameters are text, cast them in SQL (`$1::int`). */
  sql(text: string, params?: readonly (string | null)[]): Promise<Record<string, string | null>[]>
  /** True while the projection is being rebuilt from the log. */
  readonly rebuilding: boolean
}

/** What a subscription's handler gets besides the event. */
export interface SubscriptionContext {
  /** The event's id as text: pass it as the idempotency key of the side effect (delivery is at least once). */
  readonly idempotencyKey: string
  /** 1 on the first delivery attempt in this process, then 2, 3, ... */
  readonly attempt: number
}

/** What a batch handler gets besides the events. */
export interface BatchContext {
  /** 1 on the first attempt at this batch, then 2, 3, ... */
  readonly attempt: number
  /** The consumer's name and partition. */
  readonly consumer: string
  readonly partition: number
  /** The instance's resources by name (which fields are sensitive, for a relay that masks them). */
  readonly resources: ReadonlyMap<string, AnyResource>
}

/** One handler: the events of some actions of one resource. */
export interface EventHandler<C> {
  readonly resource: string
  /** The actions handled; undefined for every action of the resource. */
  readonly actions: ReadonlySet<string> | undefined
  readonly handle: (event: ConsumerEvent, ctx: C) => unknown
}

/**
 * Registers a handler for the events of one resource: one action, several, or `'*'` for all of them. The
 * event's `data` and `changedAttributes` are typed from the resource and action.
 */
export type On<C> = <R extends AnyResource, const N extends ActionName<R> | '*'>(
  resource: R,
  action: N | readonly N[],
  handle: (event: ConsumerEvent<R, N extends '*' ? ActionName<R> : N>, ctx: C) => unknown,
) => EventHandler<C>

/** Where a consumer starts the first time it runs (later it continues from its checkpoint). */
export type StartFrom = 'beginning' | 'now' | { readonly afterPosition: number }

/** How a consumer meets a failing event. */
export interface RetryPolicy {
  /** Attempts before the event goes to the dead-letter list (default 5). */
  readonly attempts?: number
  /** The first delay between attempts, doubled each time (default 100 ms). */
  readonly initialDelayMs?: number
  /** The longest delay (default 30 s). */
  readonly maxDelayMs?: number
  /**
   * After the last attempt: `'park'` puts the event on the dead-letter list and goes on (later events of the
   * same record are parked behind it, so a record's events never apply out of order), `'stop'` records it as
   * the dead letter the consumer stops on. Default: `'stop'` for projections, `'park'` for subscriptions.
   */
  readonly onExhausted?: 'park' | 'stop'
}

interface ConsumerOptions {
  /** Only the events of this tenant (as the event stores it). */
  readonly tenant?: string
  /** Events read and applied per batch (default 500 for projections, 100 for subscriptions). */
  readonly batchSize?: number
  /** Where a new checkpoint starts. Default: `'beginning'` for projections, `'now'` for subscriptions. */
  readonly start?: StartFrom
  readonly retry?: RetryPolicy
  /**
   * Split the consumer by record into this many partitions (default 1): each has its own checkpoint and lease,
   * so several processes can share the work; events of one record always go to the same partition.
   */
  readonly partitions?: number
}

/** What {@link defineProjection} takes. */
export interface ProjectionConfig extends ConsumerOptions {
  /**
   * `'inline'`: runs in the action's transaction, right after its event is recorded; if it fails, the action
   * fails and nothing of it is written. `'async'` (default): a consumer applies events in position order, in
   * batches, and moves its checkpoint in the same transaction as the projection's writes.
   */
  readonly lifecycle?: 'inline' | 'async'
  /** The Drizzle tables the projection owns: created by `createTables()`, emptied by a rebuild. */
  readonly tables?: readonly unknown[]
  /** A handler per event: `(on) => [on(Resource, 'action', (event, ctx) => ...), ...]`. */
  readonly handlers?: (on: On<ProjectionContext>) => readonly EventHandler<ProjectionContext>[]
  /**
   * Instead of `handlers` (async projections): one call per batch with its events in position order, in the
   * batch's transaction, for projections that write a batch in a few statements. If it fails, the batch is
   * applied one event at a time, so a failing event is found, retried and parked (or stopped on).
   */
  readonly handleBatch?: (events: readonly ConsumerEvent[], ctx: ProjectionContext) => unknown
  /** With `handleBatch`: which events it gets (default every event). */
  readonly filter?: { readonly resources?: readonly (AnyResource | string)[] }
}

/** What {@link defineSubscription} takes: per-event `handlers`, or `handleBatch`. */
export interface SubscriptionConfig extends ConsumerOptions {
  readonly handlers?: (on: On<SubscriptionContext>) => readonly EventHandler<SubscriptionContext>[]
  /**
   * A handler for a whole batch (for relays): its success moves the checkpoint past the batch. After its
   * retries, the batch is delivered one event at a time, so a failing event is found and parked (or stopped on).
   */
  readonly handleBatch?: (events: readonly ConsumerEvent[], ctx: BatchContext) => unknown
  /** With `handleBatch`: which events it gets (default every event). */
  readonly filter?: { readonly resources?: readonly (AnyResource | string)[] }
  /**
   * Called when the consumers of a process stop (`rewind.consumers.stop()`, `rewind.close()`) after the
   * subscription's runners have finished: to close what it holds (a relay's connection).
   */
  readonly onStop?: () => unknown
}

interface ConsumerBase {
  readonly name: string
  readonly tenant: string | undefined
  readonly batchSize: number
  readonly start: StartFrom
  readonly retry: Required<RetryPolicy>
  readonly partitions: number
  /** Whether this consumer handles the event at all (resource, action, tenant). */
  matches(event: Pick<RewindEvent, 'resource' | 'action' | 'tenant'>): boolean
}

/** A projection (see {@link defineProjection}). */
export interface Projection extends ConsumerBase {
  readonly kind: 'projection'
  readonly lifecycle: 'inline' | 'async'
  readonly tables: readonly unknown[]
  /** Per-event handlers (empty with `handleBatch`). */
  readonly handlers: readonly EventHandler<ProjectionContext>[]
  readonly handleBatch: ((events: readonly ConsumerEvent[], ctx: ProjectionContext) => unknown) | undefined
}

/** A subscription (see {@link defineSubscription}). */
export interface Subscription extends ConsumerBase {
  readonly kind: 'subscription'
  readonly handlers: readonly EventHandler<SubscriptionContext>[] | undefined
  readonly handleBatch: ((events: readonly ConsumerEvent[], ctx: BatchContext) => unknown) | undefined
  readonly onStop: (() => unknown) | undefined
}

/** A projection or a subscription. */
export type Consumer = Projection | Subscription

const NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/

function on<C>(resource: AnyResource, action: string | readonly string[], handle: unknown): EventHandler<C> {
  if (resource?.kind !== 'rewind.resource') {
    throw definitionError('on(resource, action, handler): expected a resource made with defineResource')
  }
  const list = typeof action === 'string' ? [action] : [...(action ?? [])]
  if (list.length === 0) {
    throw definitionError(`on(${resource.name}, ...): name at least one action, or '*' for all of them`)
  }
  for (const a of list) {
    if (a !== '*' && !Object.hasOwn(resource.actions, a)) {
      throw definitionError(
        `on(${resource.name}, '${a}'): ${resource.name} has no action "${a}". Actions: ${Object.keys(resource.actions).join(', ')}`,
        resource.name,
        a,
      )
    }
  }
  if (typeof handle !== 'function') {
    throw definitionError(`on(${resource.name}, ${list.join(', ')}): expected a handler function`)
  }
  return {
    resource: resource.name,
    actions: list.includes('*') ? undefined : new Set(list),
    handle: handle as EventHandler<C>['handle'],
  }
}

function positiveInt(what: string, name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) {
    throw definitionError(`${what} "${name}": ${value} is not a positive integer`)
  }
  return value
}

function base(
  what: string,
  name: string,
  config: ConsumerOptions,
  defaults: { batchSize: number; start: StartFrom; onExhausted: 'park' | 'stop' },
): Omit<ConsumerBase, 'matches'> {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw definitionError(
      `${what}: the name ${JSON.stringify(name)} is not valid; use letters, digits and _ . : - (a letter first, at most 100)`,
    )
  }
  if (config === null || typeof config !== 'object')
    throw definitionError(`${what} "${name}": expected a config object`)
  const start = config.start ?? defaults.start
  if (
    start !== 'beginning' &&
    start !== 'now' &&
    !(
      typeof start === 'object' &&
      start !== null &&
      Number.isSafeInteger(start.afterPosition) &&
      start.afterPosition >= 0
    )
  ) {
    throw definitionError(
      `${what} "${name}": start must be 'beginning', 'now' or { afterPosition: n } (n ≥ 0), got ${JSON.stringify(start)}`,
    )
  }
  const retry = config.retry ?? {}
  const onExhausted = retry.onExhausted ?? defaults.onExhausted
  if (onExhausted !== 'park' && onExhausted !== 'stop') {
    throw definitionError(
      `${what} "${name}": retry.onExhausted must be 'park' or 'stop', got ${JSON.stringify(onExhausted)}`,
    )
  }
  if (config.tenant !== undefined && typeof config.tenant !== 'string') {
    throw definitionError(`${what} "${name}": tenant must be a string (as events store it)`)
  }
  return {
    name,
    tenant: config.tenant,
    batchSize: positiveInt(`${what} batchSize of`, name, config.batchSize, defaults.batchSize),
    start,
    retry: {
      attempts: positiveInt(`${what} retry.attempts of`, name, retry.attempts, 5),
      initialDelayMs: retry.initialDelayMs ?? 100,
      maxDelayMs: retry.maxDelayMs ?? 30_000,
      onExhausted,
    },
    partitions: positiveInt(`${what} partitions of`, name, config.partitions, 1),
  }
}

function matcher(
  tenant: string | undefined,
  handlers: readonly EventHandler<never>[] | undefined,
  resources: ReadonlySet<string> | undefined,
): ConsumerBase['matches'] {
  return (event) => {
    if (tenant !== undefined && event.tenant !== tenant) return false
    if (resources && !resources.has(event.resource)) return false
    if (!handlers) return true
    return handlers.some((h) => h.resource === event.resource && (!h.actions || h.actions.has(event.action)))
  }
}

/**
 * A projection: a read model kept from the log, with its own tables and a handler per event.
 *
 * ```ts
 * const userNames = defineProjection('userNames', {
 *   tables: [userNamesTable],
 *   handlers: (on) => [
 *     on(User, 'create', (e, { db }) => db.insert(userNamesTable).values({ id: e.recordId, name: e.data.name })),
 *     on(User, 'destroy', (e, { db }) => db.delete(userNamesTable).where(eq(userNamesTable.id, e.recordId))),
 *   ],
 * })
 * const rewind = await createRewind({ resources: [User], eventLog, consumers: [userNames] })
 * rewind.consumers.start()   // async projections and subscriptions run in this process
 * ```
 */
export function defineProjection(name: string, config: ProjectionConfig): Projection {
  const b = base('defineProjection', name, config, {
    batchSize: 500,
    start: 'beginning',
    onExhausted: 'stop',
  })
  const lifecycle = config.lifecycle ?? 'async'
  if (lifecycle !== 'inline' && lifecycle !== 'async') {
    throw definitionError(
      `defineProjection "${name}": lifecycle must be 'inline' or 'async', got ${JSON.stringify(lifecycle)}`,
    )
  }
  const hasBatch = config.handleBatch !== undefined
  if (hasBatch === (config.handlers !== undefined)) {
    throw definitionError(
      `defineProjection "${name}": give either handlers: (on) => [on(Resource, 'action', handler), ...] or handleBatch: (events, ctx) => ..., not ${hasBatch ? 'both' : 'neither'}`,
    )
  }
  if (hasBatch && (typeof config.handleBatch !== 'function' || lifecycle === 'inline')) {
    throw definitionError(
      `defineProjection "${name}": handleBatch must be a function, and goes with async projections (an inline projection runs per event: use handlers)`,
    )
  }
  if (!hasBatch && typeof config.handlers !== 'function') {
    throw definitionError(
      `defineProjection "${name}": expected handlers: (on) => [on(Resource, 'action', handler), ...]`,
    )
  }
  if (config.filter !== undefined && !hasBatch) {
    throw definitionError(
      `defineProjection "${name}": filter goes with handleBatch; per-event handlers filter by their on(...)`,
    )
  }
  const handlers: readonly EventHandler<ProjectionContext>[] = hasBatch
    ? []
    : config.handlers!(on as On<ProjectionContext>)
  if (!hasBatch && (!Array.isArray(handlers) || handlers.length === 0)) {
    throw definitionError(`defineProjection "${name}": handlers must return at least one on(...)`)
  }
  if (
    lifecycle === 'inline' &&
    (config.partitions !== undefined ||
      config.start !== undefined ||
      config.retry !== undefined ||
      config.batchSize !== undefined)
  ) {
    throw definitionError(
      `defineProjection "${name}": an inline projection runs in the action's transaction; partitions, start, retry and batchSize are options of async projections`,
    )
  }
  return {
    ...b,
    kind: 'projection',
    lifecycle,
    tables: [...(config.tables ?? [])],
    handlers,
    handleBatch: config.handleBatch,
    matches: matcher(b.tenant, hasBatch ? undefined : handlers, resourceSet(config.filter)),
  }
}

function resourceSet(filter: { readonly resources?: readonly (AnyResource | string)[] } | undefined) {
  return filter?.resources
    ? new Set(filter.resources.map((r) => (typeof r === 'string' ? r : r.name)))
    : undefined
}

/**
 * A subscription: side effects outside the database (emails, webhooks, other services), delivered at least
 * once, in position order, with the event id as idempotency key; retried with backoff, then dead-lettered.
 *
 * ```ts
 * const welcome = defineSubscription('welcomeEmail', {
 *   handlers: (on) => [on(User, 'create', (e, { idempotencyKey }) => mailer.send(e.data.email, { idempotencyKey }))],
 *   retry: { attempts: 8, onExhausted: 'park' },
 * })
 * ```
 */
export function defineSubscription(name: string, config: SubscriptionConfig): Subscription {
  const b = base('defineSubscription', name, config, { batchSize: 100, start: 'now', onExhausted: 'park' })
  const hasHandlers = config.handlers !== undefined
  const hasBatch = config.handleBatch !== undefined
  if (hasHandlers === hasBatch) {
    throw definitionError(
      `defineSubscription "${name}": give either handlers: (on) => [...] or handleBatch: (events) => ..., not ${hasHandlers ? 'both' : 'neither'}`,
    )
  }
  if (hasBatch && typeof config.handleBatch !== 'function') {
    throw definitionError(`defineSubscription "${name}": handleBatch must be a function`)
  }
  if (config.onStop !== undefined && typeof config.onStop !== 'function') {
    throw definitionError(`defineSubscription "${name}": onStop must be a function`)
  }
  if (hasHandlers && typeof config.handlers !== 'function') {
    throw definitionError(
      `defineSubscription "${name}": expected handlers: (on) => [on(Resource, 'action', handler), ...]`,
    )
  }
  if (config.filter !== undefined && !hasBatch) {
    throw definitionError(
      `defineSubscription "${name}": filter goes with handleBatch; per-event handlers filter by their on(...)`,
    )
  }
  const handlers = hasHandlers ? config.handlers!(on as On<SubscriptionContext>) : undefined
  if (handlers !== undefined && (!Array.isArray(handlers) || handlers.length === 0)) {
    throw definitionError(`defineSubscription "${name}": handlers must return at least one on(...)`)
  }
  const resources = resourceSet(config.filter)
  return {
    ...b,
    kind: 'subscription',
    handlers,
    handleBatch: config.handleBatch,
    onStop: config.onStop,
    matches: matcher(b.tenant, handlers, resources),
  }
}

/** The handlers of `consumer` for this event, in the order they were given. */
export function handlersFor<C>(
  handlers: readonly EventHandler<C>[],
  event: Pick<RewindEvent, 'resource' | 'action'>,
): EventHandler<C>[] {
  return handlers.filter((h) => h.resource === event.resource && (!h.actions || h.actions.has(event.action)))
}

/** The partition of a record: FNV-1a of `resource/recordId`, modulo the partition count. */
export function partitionOf(event: Pick<RewindEvent, 'resource' | 'recordId'>, partitions: number): number {
  if (partitions <= 1) return 0
  let h = 0x811c9dc5
  const key = `${event.resource}/${event.recordId}`
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % partitions
}

/** The key that orders a record's events: later events of a record wait behind a parked one. */
export function recordKey(event: Pick<RewindEvent, 'resource' | 'recordId'>): string {
  return `${event.resource}/${event.recordId}`
}
