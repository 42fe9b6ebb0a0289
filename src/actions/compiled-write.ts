import { type ColumnCodec, comparedText, comparesNatively, isJsonSqlFallback } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import type { SqlClient } from '../data/database.js'
import { inlineParameters } from '../data/inline-params.js'
import { nowMicros } from '../data/pg-text.js'
import { asUtc } from '../events/capture.js'
import { assumingChanged, planCapture } from '../events/capture-plan.js'
import { recordIdText } from '../events/event.js'
import { type EventLog, eventVersion, NO_ENCODERS } from '../events/event-log.js'
import { advisoryKey } from '../events/event-log-config.js'
import type { AppendLock, StoredEvent } from '../events/store/append.js'
import type { DeferredColumn, FollowingEvent } from '../events/store/append-following.js'
import { tenantText } from '../events/store/selection.js'
import type { ActionDefinition } from '../resource/action.js'
import { type BuiltInChange, builtInChange, timeFor } from '../resource/changes.js'
import { ExactValue } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import { writtenRecord } from '../rows/records.js'
import { insertFollowed, updateFollowed } from '../rows/sql-row-store.js'
import { uuidv7 } from '../util/uuidv7.js'
import type { ExecOptions } from './action-run.js'
import { toRewindError } from './db-errors.js'
import { castColumns, inputShape, parseInput } from './input.js'
import { readsRecord } from './prepare.js'
import { otherTenantGiven } from './resolve-values.js'

/** What a compiled write needs of the engine that runs it. */
export interface CompiledEnv {
  /** The database's own client: each statement commits on its own (autocommit). */
  readonly client: SqlClient
  readonly log: EventLog
  /** True only once the table is known to have no trigger of its own (engine.ts asks the database once). */
  triggerFree(resource: AnyResource): boolean
  /** Whether an observer must see this action's event inside its transaction (then it is recorded on its own). */
  wantsRecorded(resource: AnyResource, action: string): boolean
  /** The statement committed with one event. */
  committed(): void
}

/**
 * What the pipeline's planning gave for the values of one shape (their keys, in order, and which are null), kept
 * for the next call of the same shape: the statement's text, and where each of the event's values comes from.
 */
interface Recipe {
  /** The shape: the values' keys in order, which are null, and how many lead as the caller's input. */
  readonly keys: readonly string[]
  readonly nulls: readonly boolean[]
  readonly inputs: number
  /** Null: the pipeline runs every call of this shape (its event cannot go with its row). */
  readonly planned: Planned | null
}

interface Planned {
  readonly text: string
  /** `data`: the caller's input, in order. */
  readonly data: JsonObject
  /** `changed_attributes` known before the write (a create's columns that are not input), in order. */
  readonly changed: JsonObject
  /** The event's parameters in order (see {@link eventProgram}). */
  readonly program: Program
}

/** A shape's first call: its plan, and its parameters as the pipeline's planning made them. */
interface FirstCall {
  readonly planned: Planned
  readonly params: (string | null)[]
}

/** The event's time: as planned, or an update's, from its update timestamp (compared with the old value in SQL). */
type TimeSpec = FollowingEvent['time'] | { readonly key: string; readonly codec: ColumnCodec }

/** A deferred `changed_attributes` entry: as planned, or (`changed`) with its value's texts made per call. */
type DeferredSpec =
  | DeferredColumn
  | { readonly key: string; readonly codec: ColumnCodec; readonly when: 'changed' }

/** The shapes an action keeps (an update of many optional columns has one per set of them it is given). */
const MAX_RECIPES = 64

/**
 * A create, or an update that never reads its record, whose definition says all it does: it accepts columns, and
 * its changes are Rewind's own `generateId()`, `timestamps()` and `setAttribute` of a constant, unconditional; no
 * arguments, validations, policy, hooks or optimistic lock; a resource without sensitive or encoded columns (with
 * a tenant column, the call's tenant is a value like the others, unless events are ordered by a lock per tenant),
 * whose log tracks the action. Such an action runs the same steps every time, so its statement's text and
 * the origin of each of its event's values are known once its shape of values has been planned: the first call of
 * each shape plans it through the pipeline's own planning (capture-plan.ts, EventLog.following, the row store's
 * statement) and checks that the parameters made from the recipe are the ones planned; every later call makes its
 * values, and its event's, directly, and sends the statement. Anything else (a value that does not fit, a missing
 * column, metadata that is not JSON, an update that finds no row, a value whose JSON SQL cannot give) goes to the
 * pipeline (`undefined` from {@link run}, or `pipeline` after the statement), which says what is wrong
 * exactly as it always does: nothing was written.
 */
export class CompiledWrite {
  /** The shapes planned so far, the one used last first. */
  readonly #recipes: Recipe[] = []
  readonly #primary: ColumnCodec
  /** The tenant column's codec, for a multitenant resource. */
  readonly #tenant: ColumnCodec | undefined
  /** The update columns its `timestamps()` set from the clock, which an update's statement may guard. */
  readonly #clockUpdates: readonly string[]
  /** The columns the action accepts. */
  readonly #accepted: ReadonlySet<string>

  private constructor(
    readonly env: CompiledEnv,
    readonly resource: AnyResource,
    readonly action: string,
    readonly def: ActionDefinition,
    readonly changes: readonly BuiltInChange[],
    /** Runs a call through the pipeline, after a statement that wrote nothing (see {@link run}). */
    readonly pipeline: (input: unknown, options: ExecOptions) => Promise<unknown>,
  ) {
    this.#primary = resource.codecs.get(resource.primaryKey)!
    this.#tenant = resource.tenant === undefined ? undefined : resource.codecs.get(resource.tenant)!
    this.#clockUpdates = clockUpdates(resource, changes)
    this.#accepted = inputShape(def).accepted
  }

  /** The compiled write of an action, or undefined when the action is not one it can run (see the class). */
  static compile(
    env: CompiledEnv,
    resource: AnyResource,
    action: string,
    def: ActionDefinition,
    pipeline: (input: unknown, options: ExecOptions) => Promise<unknown>,
  ): CompiledWrite | undefined {
    const create = def.kind === 'create' && !def.upsert
    const update = def.kind === 'update' && !readsRecord(def)
    if (!create && !update) return undefined
    if (!env.log.tracks(resource, action)) return undefined
    if (def.policy || def.validations.length > 0 || def.optimisticLock) return undefined
    if (Object.keys(def.arguments).length > 0) return undefined
    if (resource.sensitive.size > 0 || resource.encodedColumns.size > 0) return undefined
    // A lock per tenant is a parameter that changes with the tenant, where a recipe's lock is the same every call.
    const ordering = env.log.config.ordering
    if (resource.tenant !== undefined && ordering !== 'rowLocks' && ordering.advisoryLock === 'tenant')
      return undefined
    for (const codec of resource.codecs.values()) if (codec.encoder !== undefined) return undefined
    // The event's time comes from a timestamp column's value: a string whenever it is not null.
    for (const key of [resource.events.createTimestamp, resource.events.updateTimestamp]) {
      const kind = key === undefined ? undefined : resource.codecs.get(key)?.kind
      if (key !== undefined && kind !== 'timestamptz' && kind !== 'timestamp') return undefined
    }
    const changes: BuiltInChange[] = []
    for (const change of def.changes) {
      const known = builtInChange(change)
      if (!known || !knownColumns(resource, known, create)) return undefined
      changes.push(known)
    }
    return new CompiledWrite(env, resource, action, def, changes, pipeline)
  }

  /**
   * Runs the action (never a replayed one: the engine does not ask); undefined when the pipeline must (nothing
   * was sent). After a statement that wrote nothing (an update that found no row, a value whose exact JSON SQL
   * cannot give), the call goes to `pipeline`.
   */
  run(input: unknown, options: ExecOptions): Promise<unknown> | undefined {
    const { env, resource, action } = this
    if (!env.triggerFree(resource) || env.wantsRecorded(resource, action)) return undefined
    const values = castColumns(resource, this.def, input)
    if (!values) return undefined
    // The caller's columns lead the values (see Recipe.inputs).
    const inputs = values.size
    let id: Json | undefined
    if (this.def.kind === 'update') {
      const raw = options.record !== undefined ? options.record?.[resource.primaryKey] : options.id
      if (raw === undefined || raw === null) return undefined
      const cast = this.#primary.fromApp(raw)
      if (!cast.ok) return undefined
      id = cast.value
    }
    // The tenant as its column stores it; missing or not fitting, the pipeline says so.
    let tenant: Json | undefined
    if (this.#tenant !== undefined) {
      const raw = options.tenant
      if (raw === undefined || raw === null) return undefined
      const cast = this.#tenant.fromApp(raw)
      if (!cast.ok) return undefined
      tenant = cast.value
    }
    if (!this.#complete(values, input as Record<string, unknown> | undefined, tenant)) return undefined
    let metadata: string
    let actors: (string | null)[]
    try {
      metadata = env.log.metadataText(resource, action, options.metadata)
      actors = env.log.actorColumns(resource, action, options.actor)
    } catch {
      return undefined
    }
    const recipe = this.#recipe(inputs, values)
    let params: (string | null)[]
    let text: string
    if (recipe === undefined) {
      // Past its shapes' bound, a new shape goes to the pipeline (rather than a recipe planned, checked, thrown away).
      if (this.#recipes.length >= MAX_RECIPES) return undefined
      // A required column missing or null: the pipeline names it. (Whether one is depends on the shape alone:
      // a shape planned has them all.)
      if (
        this.def.kind === 'create' &&
        resource.requiredColumns.some((k) => (values.get(k) ?? null) === null)
      )
        return undefined
      let first: FirstCall | undefined
      try {
        first = this.#plan(input, inputs, values, id, tenant, options, metadata, actors)
      } catch {
        // Whatever the planning meets, the pipeline meets and says as it always does.
        return undefined
      }
      const keys = [...values.keys()]
      const nulls = keys.map((k) => values.get(k) === null)
      this.#recipes.unshift({
        keys,
        nulls,
        inputs,
        planned: first?.planned ?? null,
      })
      if (!first) return undefined
      params = first.params
      text = first.planned.text
    } else if (recipe.planned === null) return undefined
    else {
      params = this.#params(recipe.planned, values, id, tenant, metadata, actors, env.log.newId())
      text = recipe.planned.text
    }
    return env.client.queryText(text, params).then(
      (rows) => {
        if (rows.length === 0) return this.pipeline(input, options)
        let record: Record<string, unknown>
        try {
          record = writtenRecord(resource, rows[0]!, values)
        } catch (error) {
          throw toRewindError(error, resource, action)
        }
        env.committed()
        return record
      },
      (error) => {
        // Nothing was written: the pipeline writes the row and its event apart.
        if (isJsonSqlFallback(error)) return this.pipeline(input, options)
        throw toRewindError(error, resource, action)
      },
    )
  }

  /** The recipe of these values' shape (see {@link Recipe.keys}), brought to the front; undefined when not planned. */
  #recipe(inputs: number, values: Map<string, Json>): Recipe | undefined {
    const recipes = this.#recipes
    for (let r = 0; r < recipes.length; r++) {
      const recipe = recipes[r]!
      if (recipe.inputs !== inputs || recipe.keys.length !== values.size) continue
      const { keys, nulls } = recipe
      let i = 0
      let same = true
      for (const [key, value] of values) {
        if (key !== keys[i] || (value === null) !== nulls[i]) {
          same = false
          break
        }
        i++
      }
      if (!same) continue
      if (r > 0) {
        recipes.splice(r, 1)
        recipes.unshift(recipe)
      }
      return recipe
    }
    return undefined
  }

  /**
   * Completes the caller's values (input.ts castColumns) with what the pipeline adds to them (resolve-values.ts):
   * each change's in order, then app-side defaults (inserts) or update values; false when one does not fit or a
   * required column is missing (the pipeline names it).
   */
  #complete(
    values: Map<string, Json>,
    input: Record<string, unknown> | undefined,
    tenant: Json | undefined,
  ): boolean {
    const { resource } = this
    const codecs = resource.codecs
    const create = this.def.kind === 'create'
    for (const change of this.changes) {
      if (change.kind === 'generateId') {
        if (create && !values.has(resource.primaryKey) && !put(values, this.#primary, uuidv7())) return false
      } else if (change.kind === 'timestamps') {
        // One reading of the clock for both columns, as the change does.
        const c = create && change.create && !values.has(change.create) ? change.create : undefined
        const u = change.update && !values.has(change.update) ? change.update : undefined
        if (c === undefined && u === undefined) continue
        const micros = nowMicros()
        const cc = c === undefined ? undefined : codecs.get(c)!
        if (cc && !putTime(values, cc, micros)) return false
        if (u !== undefined) {
          const uc = codecs.get(u)!
          // Two columns of the same type and precision (createdAt and updatedAt, most often) take the same text.
          if (cc && cc.sqlType === uc.sqlType && cc.kind === uc.kind) values.set(u, values.get(c!)!)
          else if (!putTime(values, uc, micros)) return false
        }
      } else {
        // A constant over the caller's own value would make the event record both: the pipeline's to plan.
        if (
          this.#accepted.has(change.key) &&
          input?.[change.key] !== undefined &&
          Object.hasOwn(input, change.key)
        )
          return false
        if (!put(values, codecs.get(change.key)!, change.value)) return false
      }
    }
    if (create) {
      for (const [key, fn] of resource.appDefaults)
        if (!values.has(key) && !put(values, codecs.get(key)!, fn())) return false
    } else {
      // Each key once: the values this loop adds are of other keys, so `has` sees what the changes set.
      for (const [key, fn] of resource.appOnUpdate)
        if (!values.has(key) && !put(values, codecs.get(key)!, fn())) return false
    }
    // A create writes the call's tenant into its tenant column (an update finds its row by it); a tenant column
    // given otherwise is the pipeline's to refuse.
    if (create && tenant !== undefined) {
      if (otherTenantGiven(resource, values, tenant)) return false
      values.set(resource.tenant!, tenant)
    }
    return true
  }

  /**
   * Plans the first call of a shape through the pipeline's own planning, and its recipe; null when the event
   * cannot go with its row, or when the recipe would not give the parameters planned (the pipeline then runs
   * every call of this shape). Throws what the pipeline would meet.
   */
  #plan(
    input: unknown,
    inputs: number,
    values: Map<string, Json>,
    id: Json | undefined,
    tenant: Json | undefined,
    options: ExecOptions,
    metadata: string,
    actors: (string | null)[],
  ): FirstCall | undefined {
    const { resource, action, env } = this
    const create = this.def.kind === 'create'
    // The input as the pipeline parses it: the event's `data` is what it records.
    const parsed = parseInput(resource, action, this.def, input)
    if (parsed instanceof Promise || parsed.castAttributes.size !== inputs) return undefined
    const plan = planCapture({
      resource,
      action,
      actionType: create ? 'create' : 'update',
      castAttributes: parsed.castAttributes,
      argInputs: parsed.argInputs,
      args: parsed.args,
      actor: options.actor,
      tenant,
      metadata: options.metadata ?? {},
      write: create ? 'insert' : 'update',
      values,
      id,
    })
    if (!plan) return undefined
    // An update's clock timestamp is a change unless the row already holds that very time: the statement writes
    // only if it changes (guarded, a plain UPDATE), with the event complete before the write; otherwise nothing,
    // and the pipeline runs the call. The row as it was is then not read at all. An event that compares anything
    // else with it reads it, as the pipeline's statement does.
    const guarded = create ? undefined : assumingChanged(plan, this.#clockUpdates)
    const used = guarded ?? plan
    const guards = guarded && plan.deferred.map((d) => d.key)
    const follow = env.log.following(used)
    if (!follow) return undefined
    const q = create
      ? insertFollowed(resource, values, follow)
      : updateFollowed(resource, id!, tenant, values, undefined, follow, guards)
    const time = used.occurredAt
    const deferred: DeferredSpec[] = used.deferred.map((d) => {
      const codec = resource.codecs.get(d.key)!
      return d.when === 'changed'
        ? { key: d.key, codec, when: 'changed' }
        : { codec, when: d.when, always: d.when === 'filled' && d.always, encoder: undefined }
    })
    const shape = {
      deferred,
      time:
        time === undefined
          ? undefined
          : time.when === 'filled'
            ? ({ codec: resource.codecs.get(time.key)!, when: 'filled' } as const)
            : { key: time.key, codec: resource.codecs.get(time.key)! },
      occurredAt:
        used.event.occurredAt === null
          ? undefined
          : create
            ? resource.events.createTimestamp
            : plan.occurredAt?.key,
      keyed: used.event.recordId !== null,
      tenant: tenant !== undefined,
      lock: advisoryKey(env.log.config.ordering, used.event),
    }
    const planned: Planned = {
      text: q.text,
      data: jsonObject([...parsed.castAttributes.keys()]),
      changed: jsonObject(Object.keys(used.event.changedAttributes)),
      program: eventProgram(env.log, resource, action, this.def.kind, shape),
    }
    // The recipe's parameters for this call must be the planned ones, but for the event's own id.
    const eventId = env.log.newId()
    const made = this.#params(planned, values, id, tenant, metadata, actors, eventId)
    const same =
      made.length === q.params.length &&
      made.every((v, i) => v === q.params[i] || (v === eventId && eventId !== undefined))
    return same ? constantsInlined(planned, q.params) : undefined
  }

  /** The statement's parameters, made from the recipe: the row's, then the event's in its program's order. */
  #params(
    recipe: Planned,
    values: Map<string, Json>,
    id: Json | undefined,
    tenant: Json | undefined,
    metadata: string,
    actors: (string | null)[],
    eventId: string | undefined,
  ): (string | null)[] {
    const codecs = this.resource.codecs
    const params: (string | null)[] = []
    // An update's row by its key: the id, then the tenant (a create's tenant is among its values).
    if (this.def.kind !== 'create') {
      params.push(this.#primary.toText(id!))
      if (tenant !== undefined) params.push(this.#tenant!.toText(tenant))
    }
    for (const [key, value] of values) params.push(codecs.get(key)!.toText(value))
    const { codes, args } = recipe.program
    for (let i = 0; i < codes.length; i++) {
      const arg = args[i]
      switch (codes[i]) {
        case Param.Constant:
          params.push(arg as string | null)
          break
        case Param.Id:
          params.push(eventId ?? null)
          break
        case Param.RecordId:
          params.push(recordIdText(id ?? values.get(this.resource.primaryKey)!))
          break
        case Param.Data:
          // The caller's columns: their values are the first of `values`, unchanged.
          params.push(jsonText(recipe.data, values))
          break
        case Param.Changed:
          params.push(jsonText(recipe.changed, values))
          break
        case Param.Metadata:
          params.push(metadata)
          break
        case Param.Actor:
          params.push(actors[arg as number] ?? null)
          break
        case Param.Tenant:
          params.push(tenantText(tenant))
          break
        case Param.Compare: {
          const codec = arg as ColumnCodec
          params.push(comparedText(codec, values.get(codec.key)!))
          break
        }
        case Param.Stored:
          params.push(JSON.stringify(values.get((arg as ColumnCodec).key)))
          break
        default:
          // Param.Time: the canonical time of a timestamp value (occurredAt, or an update's time).
          params.push(asUtc(values.get((arg as ColumnCodec).key) as string))
      }
    }
    return params
  }
}

/**
 * The plan with the event's constant parameters (its resource, action, type and version, the keys of its
 * deferred entries, an empty encoders object, a null tenant: the same on every call of the shape) written into the
 * statement's text as literals, and the first call's parameters without them: every call then sends only the
 * values that change, which neither the client nor the server handles per call. The plan as it was when its text
 * cannot take them (see {@link inlineParameters}).
 */
function constantsInlined(planned: Planned, params: (string | null)[]): FirstCall {
  const { codes, args } = planned.program
  // The event's parameters follow the row's.
  const first = params.length - codes.length
  const inline = new Map<number, string | null>()
  codes.forEach((code, i) => {
    if (code === Param.Constant) inline.set(first + i + 1, args[i] as string | null)
  })
  const text = inline.size === 0 ? undefined : inlineParameters(planned.text, inline)
  if (text === undefined) return { planned, params }
  const kept = codes.map((code) => code !== Param.Constant)
  return {
    planned: {
      ...planned,
      text,
      program: { codes: codes.filter((_, i) => kept[i]), args: args.filter((_, i) => kept[i]) },
    },
    params: params.filter((_, i) => i < first || kept[i - first]),
  }
}

/** Where each of an event's parameters comes from (see {@link eventProgram}). */
enum Param {
  Constant,
  Id,
  RecordId,
  Data,
  Changed,
  Metadata,
  Actor,
  Tenant,
  Compare,
  Stored,
  Time,
}

/** The event's parameters in order: where each comes from, and its constant, actor index or column. */
interface Program {
  readonly codes: readonly Param[]
  readonly args: readonly (string | number | ColumnCodec | null)[]
}

/**
 * The order of an event's parameters, learned from the log's own walk (`followingParameters`) over an event whose
 * per-call values are markers: a value no parameter can hold (PostgreSQL's text has no NUL), each naming its
 * source. What is not a marker is the same for every call of the shape.
 */
function eventProgram(
  log: EventLog,
  resource: AnyResource,
  action: string,
  actionType: string,
  shape: {
    readonly deferred: readonly DeferredSpec[]
    readonly time: TimeSpec
    readonly occurredAt: string | undefined
    readonly keyed: boolean
    readonly tenant: boolean
    readonly lock: AppendLock
  },
): Program {
  const sources = new Map<string, { code: Param; arg?: number | ColumnCodec }>()
  const marker = (code: Param, arg?: number | ColumnCodec) => {
    const m = `\u0000${sources.size}`
    sources.set(m, { code, ...(arg !== undefined && { arg }) })
    return m
  }
  const deferred = shape.deferred.map((d): DeferredColumn => {
    if (!('key' in d)) return d
    return {
      codec: d.codec,
      when: 'changed',
      compare: marker(Param.Compare, d.codec),
      stored: marker(Param.Stored, d.codec),
      encoder: undefined,
    }
  })
  const t = shape.time
  const time: FollowingEvent['time'] =
    t !== undefined && 'key' in t
      ? {
          codec: t.codec,
          when: 'changed',
          compare: marker(Param.Compare, t.codec),
          time: marker(Param.Time, t.codec),
        }
      : t
  const stored: StoredEvent = {
    id: log.newId() === undefined ? undefined : marker(Param.Id),
    recordId: shape.keyed ? marker(Param.RecordId) : null,
    resource: resource.name,
    action,
    actionType,
    version: eventVersion(resource, action),
    data: marker(Param.Data),
    changedAttributes: marker(Param.Changed),
    metadata: marker(Param.Metadata),
    encoders: '{}',
    occurredAt:
      shape.occurredAt === undefined ? null : marker(Param.Time, resource.codecs.get(shape.occurredAt)!),
    tenant: shape.tenant ? marker(Param.Tenant) : null,
    actors: log.config.actorKeys.map((_, i) => marker(Param.Actor, i)),
  }
  const codes: Param[] = []
  const args: (string | number | ColumnCodec | null)[] = []
  log.store.followingParameters(
    {
      stored,
      primaryKey: resource.primaryKey,
      dataEncoders: NO_ENCODERS,
      changedEncoders: NO_ENCODERS,
      deferred,
      time,
    },
    shape.lock,
    (v) => {
      const source = v === null ? undefined : sources.get(v)
      codes.push(source ? source.code : Param.Constant)
      args.push(source ? (source.arg ?? null) : v)
      return codes.length
    },
  )
  return { codes, args }
}

/**
 * The JSON text of an object of these keys, in this order, made from its values as `JSON.stringify` makes it:
 * each key's part before its value is made once. A key JavaScript would order first (an array index such as
 * "0") keeps the object's own path.
 */
interface JsonObject {
  readonly keys: readonly string[]
  /** `{"key":` for the first, `,"key":` for the others; undefined for the object's own path. */
  readonly heads: readonly string[] | undefined
}

function jsonObject(keys: readonly string[]): JsonObject {
  const indexLike = keys.some((k) => /^(0|[1-9]\d*)$/.test(k))
  return {
    keys,
    heads: indexLike ? undefined : keys.map((k, i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`),
  }
}

function jsonText(shape: JsonObject, values: ReadonlyMap<string, Json>): string {
  const { keys, heads } = shape
  if (heads === undefined) {
    const object: Record<string, Json> = {}
    for (const k of keys) object[k] = values.get(k)!
    return JSON.stringify(object)
  }
  if (keys.length === 0) return '{}'
  let text = ''
  for (let i = 0; i < keys.length; i++) text += heads[i]! + JSON.stringify(values.get(keys[i]!))
  return `${text}}`
}

/** Sets a time from the clock as `timestamps()` makes it (an exact value for a timestamp column). */
function putTime(values: Map<string, Json>, codec: ColumnCodec, micros: number): boolean {
  const time = timeFor(codec, micros)
  if (!(time instanceof ExactValue)) return put(values, codec, time)
  values.set(codec.key, time.value)
  return true
}

/** Sets a value cast to its column, as the pipeline does; false when it does not fit or is given exact. */
function put(values: Map<string, Json>, codec: ColumnCodec, value: unknown): boolean {
  if (value instanceof ExactValue) return false
  const cast = codec.fromApp(value)
  if (!cast.ok) return false
  values.set(codec.key, cast.value)
  return true
}

/**
 * The columns an action's `timestamps()` set from the clock on update, at microseconds, which no `setAttribute`
 * overrides: a value the row holds already only if another writer read the same microsecond, so an update's
 * statement may guard them (write only if they change) instead of reading the row as it was.
 */
function clockUpdates(resource: AnyResource, changes: readonly BuiltInChange[]): string[] {
  const constants = changes.map((c) => (c.kind === 'set' ? c.key : undefined))
  const keys: string[] = []
  for (const change of changes) {
    if (change.kind !== 'timestamps' || change.update === false || constants.includes(change.update)) continue
    const codec = resource.codecs.get(change.update)!
    const precision = (codec.column as { precision?: number }).precision ?? 6
    if (comparesNatively(codec) && precision === 6) keys.push(change.update)
  }
  return keys
}

/** Whether a built-in change names columns the resource has, as it may write them (else the pipeline says why). */
function knownColumns(resource: AnyResource, change: BuiltInChange, create: boolean): boolean {
  const writable = (key: string | false) =>
    key === false || (resource.codecs.has(key) && !resource.generatedColumns.has(key))
  if (change.kind === 'generateId') {
    const kind = resource.codecs.get(resource.primaryKey)!.kind
    return !create || kind === 'uuid' || kind === 'text'
  }
  if (change.kind === 'timestamps') return writable(change.create) && writable(change.update)
  return writable(change.key) && typeof change.value !== 'function'
}
