import { type ColumnCodec, comparedText, isJsonSqlFallback } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import type { SqlClient } from '../data/database.js'
import { nowMicros } from '../data/pg-text.js'
import { asUtc } from '../events/capture.js'
import { planCapture } from '../events/capture-plan.js'
import { recordIdText } from '../events/event.js'
import { type EventLog, eventVersion } from '../events/event-log.js'
import { advisoryKey } from '../events/event-log-config.js'
import type { AppendLock, StoredEvent } from '../events/store/append.js'
import type { DeferredColumn, FollowingEvent } from '../events/store/append-following.js'
import type { ActionDefinition } from '../resource/action.js'
import { type BuiltInChange, builtInChange, timeFor } from '../resource/changes.js'
import { ExactValue } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import { appRecord, completedRow } from '../rows/records.js'
import { insertFollowed, updateFollowed } from '../rows/sql-row-store.js'
import { uuidv7 } from '../util/uuidv7.js'
import type { ExecOptions } from './action-run.js'
import { toRewindError } from './db-errors.js'
import { type ParsedInput, parseInput } from './input.js'
import { readsRecord } from './prepare.js'

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
  readonly text: string
  /** `changed_attributes` known before the write (a create's columns that are not input), in order. */
  readonly changed: readonly string[]
  readonly deferred: readonly DeferredSpec[]
  /** An update's time, from its update timestamp (compared with the row's old value in SQL). */
  readonly time: FollowingEvent['time'] | { readonly key: string; readonly codec: ColumnCodec } | undefined
  /** A create's time: its create timestamp's value. */
  readonly occurredAt: string | undefined
  /** False when the database makes the key: the event reads it from the row. */
  readonly keyed: boolean
  readonly lock: AppendLock
}

/** A deferred `changed_attributes` entry: as planned, or (`changed`) with its value's texts made per call. */
type DeferredSpec =
  | DeferredColumn
  | { readonly key: string; readonly codec: ColumnCodec; readonly when: 'changed' }

const MAX_RECIPES = 64
const NO_ENCODERS: Readonly<Record<string, string>> = Object.freeze({})

/**
 * A create, or an update that never reads its record, whose definition says all it does: it accepts columns, and
 * its changes are Rewind's own `generateId()`, `timestamps()` and `setAttribute` of a constant, unconditional; no
 * arguments, validations, policy, hooks or optimistic lock; a resource without tenants or sensitive or encoded
 * columns, whose log tracks the action. Such an action runs the same steps every time, so its statement's text and
 * the origin of each of its event's values are known once its shape of values has been planned: the first call of
 * each shape plans it through the pipeline's own planning (capture-plan.ts, EventLog.following, the row store's
 * statement) and checks that the parameters made from the recipe are the ones planned; every later call makes its
 * values, and its event's, directly, and sends the statement. Anything else (a value that does not fit, a missing
 * column, metadata that is not JSON, an update that finds no row, a value whose JSON SQL cannot give) goes to the
 * pipeline (`undefined` from {@link run}, or the `pipeline` callback after the statement), which says what is wrong
 * exactly as it always does: nothing was written.
 */
export class CompiledWrite {
  readonly #recipes = new Map<string, Recipe | null>()
  readonly #primary: ColumnCodec
  readonly #required: readonly string[]

  private constructor(
    readonly env: CompiledEnv,
    readonly resource: AnyResource,
    readonly action: string,
    readonly def: ActionDefinition,
    readonly changes: readonly BuiltInChange[],
  ) {
    this.#primary = resource.codecs.get(resource.primaryKey)!
    const required: string[] = []
    for (const codec of resource.codecs.values()) {
      const col = codec.column as unknown as {
        hasDefault?: boolean
        generatedIdentity?: unknown
        generated?: unknown
      }
      if (codec.notNull && !col.hasDefault && !col.generatedIdentity && !col.generated)
        required.push(codec.key)
    }
    this.#required = required
  }

  /** The compiled write of an action, or undefined when the action is not one it can run (see the class). */
  static compile(
    env: CompiledEnv,
    resource: AnyResource,
    action: string,
    def: ActionDefinition,
  ): CompiledWrite | undefined {
    const create = def.kind === 'create' && !def.upsert
    const update = def.kind === 'update' && !readsRecord(def)
    if (!create && !update) return undefined
    if (!env.log.tracks(resource, action)) return undefined
    if (def.policy || def.validations.length > 0 || def.optimisticLock) return undefined
    if (Object.keys(def.arguments).length > 0) return undefined
    if (resource.tenant !== undefined || resource.sensitive.size > 0 || resource.encodedColumns.size > 0)
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
    return new CompiledWrite(env, resource, action, def, changes)
  }

  /**
   * Runs the action; undefined when the pipeline must (nothing was sent). `pipeline` runs it there after a
   * statement that wrote nothing: an update that found no row, a value whose exact JSON SQL cannot give.
   */
  run(input: unknown, options: ExecOptions, pipeline: () => Promise<unknown>): Promise<unknown> | undefined {
    const { env, resource, action } = this
    if (options.replay || !env.triggerFree(resource) || env.wantsRecorded(resource, action)) return undefined
    let parsed: ParsedInput | Promise<ParsedInput>
    try {
      parsed = parseInput(resource, action, this.def, input)
    } catch {
      return undefined
    }
    if (parsed instanceof Promise) return undefined
    let id: Json | undefined
    if (this.def.kind === 'update') {
      const raw = options.record !== undefined ? options.record?.[resource.primaryKey] : options.id
      if (raw === undefined || raw === null) return undefined
      const cast = this.#primary.fromApp(raw)
      if (!cast.ok) return undefined
      id = cast.value
    }
    const values = this.#values(parsed)
    if (!values) return undefined
    let metadata: string
    let actors: (string | null)[]
    try {
      metadata = env.log.metadataText(resource, action, options.metadata)
      actors = env.log.actorColumns(resource, action, options.actor)
    } catch {
      return undefined
    }
    // The values' keys in order, which of them are null, and how many lead as the caller's input (the changes'
    // and defaults' follow; the event records the two kinds apart).
    let shape = `${parsed.castAttributes.size}|`
    for (const [key, value] of values) shape += value === null ? `${key}\u0000` : `${key}\u0001`
    let recipe = this.#recipes.get(shape)
    let params: (string | null)[]
    let text: string
    if (recipe === undefined) {
      const planned = this.#plan(parsed, values, id, options, metadata, actors)
      if (this.#recipes.size < MAX_RECIPES) this.#recipes.set(shape, planned?.recipe ?? null)
      if (!planned) return undefined
      recipe = planned.recipe
      params = planned.params
      text = planned.text
    } else if (recipe === null) return undefined
    else {
      params = this.#params(recipe, parsed, values, id, metadata, actors, env.log.newId())
      text = recipe.text
    }
    return env.client.queryText(text, params).then(
      (rows) => {
        if (rows.length === 0) return pipeline()
        env.committed()
        return appRecord(resource, completedRow(resource, rows[0]!, values))
      },
      (error) => {
        // Nothing was written: the pipeline writes the row and its event apart.
        if (isJsonSqlFallback(error)) return pipeline()
        throw toRewindError(error, resource, action)
      },
    )
  }

  /**
   * The canonical values to write, as the pipeline makes them (resolve-values.ts): the input's, then each
   * change's in order, then app-side defaults (inserts) or update values; undefined when one does not fit or a
   * required column is missing (the pipeline names it).
   */
  #values(parsed: ParsedInput): Map<string, Json> | undefined {
    const { resource } = this
    const codecs = resource.codecs
    const create = this.def.kind === 'create'
    const values = new Map<string, Json>(parsed.castAttributes)
    for (const change of this.changes) {
      if (change.kind === 'generateId') {
        if (!create || values.has(resource.primaryKey)) continue
        const cast = this.#primary.fromApp(uuidv7())
        if (!cast.ok) return undefined
        values.set(resource.primaryKey, cast.value)
      } else if (change.kind === 'timestamps') {
        // One reading of the clock for both columns, as the change does.
        let micros: number | undefined
        for (const key of create ? [change.create, change.update] : [change.update]) {
          if (!key || values.has(key)) continue
          micros ??= nowMicros()
          const time = timeFor(codecs.get(key)!, micros)
          if (time instanceof ExactValue) values.set(key, time.value)
          else if (!put(values, codecs.get(key)!, time)) return undefined
        }
      } else {
        // A constant over the caller's own value would make the event record both: the pipeline's to plan.
        if (parsed.castAttributes.has(change.key)) return undefined
        if (!put(values, codecs.get(change.key)!, change.value)) return undefined
      }
    }
    if (create) {
      for (const [key, fn] of resource.appDefaults)
        if (!values.has(key) && !put(values, codecs.get(key)!, fn())) return undefined
      for (const key of this.#required) {
        const v = values.get(key)
        if (v === undefined || v === null) return undefined
      }
    } else {
      const set = new Set(values.keys())
      for (const [key, fn] of resource.appOnUpdate)
        if (!set.has(key) && !put(values, codecs.get(key)!, fn())) return undefined
    }
    return values
  }

  /**
   * Plans the first call of a shape through the pipeline's own planning, and its recipe; null when the event
   * cannot go with its row, or when the recipe would not give the parameters planned (the pipeline then runs
   * every call of this shape).
   */
  #plan(
    parsed: ParsedInput,
    values: Map<string, Json>,
    id: Json | undefined,
    options: ExecOptions,
    metadata: string,
    actors: (string | null)[],
  ): { recipe: Recipe; text: string; params: (string | null)[] } | undefined {
    const { resource, action, env } = this
    const create = this.def.kind === 'create'
    const plan = planCapture({
      resource,
      action,
      actionType: create ? 'create' : 'update',
      castAttributes: parsed.castAttributes,
      argInputs: parsed.argInputs,
      args: parsed.args,
      actor: options.actor,
      tenant: undefined,
      metadata: options.metadata ?? {},
      write: create ? 'insert' : 'update',
      values,
      id,
    })
    const follow = plan && env.log.following(plan)
    if (!plan || !follow) return undefined
    const q = create
      ? insertFollowed(resource, values, follow)
      : updateFollowed(resource, id!, undefined, values, undefined, follow)
    const time = plan.occurredAt
    const recipe: Recipe = {
      text: q.text,
      changed: Object.keys(plan.event.changedAttributes),
      deferred: plan.deferred.map((d) => {
        const codec = resource.codecs.get(d.key)!
        return d.when === 'changed'
          ? { key: d.key, codec, when: 'changed' }
          : { codec, when: d.when, always: d.when === 'filled' && d.always, encoder: undefined }
      }),
      time:
        time === undefined
          ? undefined
          : time.when === 'filled'
            ? { codec: resource.codecs.get(time.key)!, when: 'filled' }
            : { key: time.key, codec: resource.codecs.get(time.key)! },
      occurredAt: plan.event.occurredAt === null ? undefined : resource.events.createTimestamp,
      keyed: plan.event.recordId !== null,
      lock: advisoryKey(env.log.config.ordering, plan.event),
    }
    // The recipe's parameters for this call must be the planned ones, but for the event's own id.
    const eventId = env.log.newId()
    const made = this.#params(recipe, parsed, values, id, metadata, actors, eventId)
    const same =
      made.length === q.params.length &&
      made.every((v, i) => v === q.params[i] || (v === eventId && eventId !== undefined))
    return same ? { recipe, text: q.text, params: q.params } : undefined
  }

  /** The statement's parameters, made from the recipe: the row's, then the event's (append-following.ts). */
  #params(
    recipe: Recipe,
    parsed: ParsedInput,
    values: Map<string, Json>,
    id: Json | undefined,
    metadata: string,
    actors: (string | null)[],
    eventId: string | undefined,
  ): (string | null)[] {
    const { resource, action } = this
    const codecs = resource.codecs
    const create = this.def.kind === 'create'
    const params: (string | null)[] = []
    if (!create) params.push(this.#primary.toText(id!))
    for (const [key, value] of values) params.push(codecs.get(key)!.toText(value))
    const data: Record<string, Json> = {}
    for (const [key, value] of parsed.castAttributes) data[key] = value
    const changed: Record<string, Json> = {}
    for (const key of recipe.changed) changed[key] = values.get(key)!
    const deferred = recipe.deferred.map((d): DeferredColumn => {
      if (!('key' in d)) return d
      const v = values.get(d.key)!
      return {
        codec: d.codec,
        when: 'changed',
        compare: comparedText(d.codec, v),
        stored: JSON.stringify(v),
        encoder: undefined,
      }
    })
    let time: FollowingEvent['time']
    const t = recipe.time
    if (t !== undefined && 'key' in t) {
      const v = values.get(t.key) as string
      time = { codec: t.codec, when: 'changed', compare: comparedText(t.codec, v), time: asUtc(v) }
    } else time = t
    const recordId = create ? values.get(resource.primaryKey) : id
    const stored: StoredEvent = {
      id: eventId,
      recordId: recipe.keyed ? recordIdText(recordId!) : null,
      resource: resource.name,
      action,
      actionType: this.def.kind,
      version: eventVersion(resource, action),
      data: JSON.stringify(data),
      changedAttributes: JSON.stringify(changed),
      metadata,
      encoders: '{}',
      occurredAt: recipe.occurredAt === undefined ? null : asUtc(values.get(recipe.occurredAt) as string),
      tenant: null,
      actors,
    }
    this.env.log.store.followingParameters(
      {
        stored,
        primaryKey: resource.primaryKey,
        dataEncoders: NO_ENCODERS,
        changedEncoders: NO_ENCODERS,
        deferred,
        time,
      },
      recipe.lock,
      (v) => params.push(v),
    )
    return params
  }
}

/** Sets a value cast to its column, as the pipeline does; false when it does not fit or is given exact. */
function put(values: Map<string, Json>, codec: ColumnCodec, value: unknown): boolean {
  if (value instanceof ExactValue) return false
  const cast = codec.fromApp(value)
  if (!cast.ok) return false
  values.set(codec.key, cast.value)
  return true
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
