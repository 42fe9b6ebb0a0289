import { castMessage } from '../columns/messages.js'
import { type Json, sameJson } from '../columns/values.js'
import type { Database, SqlClient } from '../data/database.js'
import {
  appRecord,
  canonicalRow,
  deleteRow,
  insertRow,
  Params,
  selectByKey,
  selectList,
  updateRow,
} from '../data/statements.js'
import { type Issue, isRewindError, RewindError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import type { ActionDefinition, ChangeObject, GenericActionContext, ValidationObject } from './action.js'
import { type CallOptions, Changeset, ExactValue, type HookContext, type Registered } from './changeset.js'
import { toRewindError } from './db-errors.js'
import { encodeArgument, type ParsedInput, parseInput } from './input.js'
import { newScope, type PendingHooks, type Scope, settleAfterTransaction } from './scope.js'
import { setByChanges, valueChecks } from './validations.js'

export type { Scope } from './scope.js'

/** How replay drives an action (see the replay module); absent in normal runs. */
export interface ReplayDirective {
  /** Values written last, over whatever input and changes produced (primary key, changed attributes). */
  readonly forced: ReadonlyMap<string, Json>
  /**
   * What the event recorded (the record id and its changed attributes), whatever the strategy: the built-in
   * changes (generateId, timestamps) take these instead of making new values.
   */
  readonly recorded: ReadonlyMap<string, Json>
  /** Keep only these columns among those input and changes set (forceChange); undefined keeps all. */
  readonly keepOnly: ReadonlySet<string> | undefined
  /** Names of changes whose hooks still run. */
  readonly allowedChanges: ReadonlySet<string>
  /** For create events of upsert actions: the record exists, so write an update with these values. */
  readonly existing?: boolean
  /** Where the record of an update or destroy comes from (batched replay keeps rows in memory). */
  readonly loader?: ((resource: AnyResource, id: Json) => Promise<Map<string, Json> | undefined>) | undefined
}

/** What batched replay needs from a prepared action: the values it would write, and to which record. */
export interface PreparedWrite {
  readonly actionType: 'create' | 'update' | 'destroy'
  readonly soft: boolean
  readonly id: Json | undefined
  readonly values: ReadonlyMap<string, Json>
  /** Create events of upserts whose record exists take the update path. */
  readonly existing: boolean
}

/** Options of one action call, internal form. */
export interface ExecOptions extends CallOptions {
  readonly id?: unknown
  readonly record?: Record<string, unknown>
  readonly replay?: ReplayDirective
}

/** What the event log receives for each write (built by the pipeline, stored by the log). */
export interface WriteEvent {
  readonly resource: AnyResource
  readonly action: string
  readonly actionType: 'create' | 'update' | 'destroy'
  readonly recordId: Json
  /** The caller's input: accepted columns cast to canonical values, and arguments as encoded JSON. */
  readonly data: Readonly<Record<string, Json>>
  readonly dataEncoders: Readonly<Record<string, string>>
  /** Every other column the action set or changed, read back from the database. */
  readonly changed: Readonly<Record<string, Json>>
  readonly before: ReadonlyMap<string, Json> | undefined
  readonly after: ReadonlyMap<string, Json> | undefined
  /** For upserts: whether the row was inserted or an existing one updated. */
  readonly upsert: 'inserted' | 'updated' | undefined
  readonly actor: unknown
  /** The tenant as its column stores it (canonical), or undefined for a resource without tenants. */
  readonly tenant: Json | undefined
  readonly metadata: Readonly<Record<string, unknown>>
}

/** The seam where the event log plugs into the action pipeline: called after the row write, in its transaction. */
export interface EventSink {
  tracks(resource: AnyResource, action: string): boolean
  record(client: SqlClient, event: WriteEvent): Promise<void>
}

/** An action ready to write: everything computed before the row write. */
interface Prepared {
  readonly resource: AnyResource
  readonly actionName: string
  readonly def: ActionDefinition
  readonly options: ExecOptions
  readonly actionType: 'create' | 'update' | 'destroy'
  readonly tenant: Json | undefined
  readonly parsed: ParsedInput
  readonly id: Json | undefined
  readonly loaded: Map<string, Json> | undefined
  readonly cs: Changeset<any, any>
  readonly values: Map<string, Json>
  readonly keep: (h: Registered<unknown>) => boolean
  /** The action's after-transaction hooks, and (once known) how it ended. */
  readonly pending: PendingHooks
}

/** Whether an update or destroy must read its record before writing (see `ChangeObject.readsRecord`). */
function needsRecord(def: ActionDefinition): boolean {
  if (def.policy || def.validations.length > 0 || def.optimisticLock) return true
  return def.changes.some((c) => typeof c === 'function' || c.readsRecord !== false)
}

function changeName(change: unknown, index: number): string {
  const name = (change as { name?: unknown }).name
  return typeof name === 'string' && name.length > 0 ? name : `change#${index}`
}

/** Runs actions: the pipeline of the design (authorize → input → changes → validations → write → event → hooks). */
export class ActionEngine {
  constructor(
    readonly db: Database,
    readonly resources: ReadonlyMap<string, AnyResource>,
    readonly sink: EventSink | undefined,
  ) {}

  #resource(resource: AnyResource): AnyResource {
    const known = this.resources.get(resource?.name)
    if (!known || known !== resource) {
      throw new RewindError(
        'INVALID_DEFINITION',
        `Resource ${resource?.name ?? String(resource)} is not registered with this Rewind instance; pass it in createRewind({ resources: [...] })`,
      )
    }
    return known
  }

  #action(resource: AnyResource, name: string): ActionDefinition {
    const def = Object.hasOwn(resource.actions, name)
      ? (resource.actions[name] as ActionDefinition)
      : undefined
    if (!def) {
      throw new RewindError(
        'INVALID_DEFINITION',
        `${resource.name} has no action "${name}". Actions: ${Object.keys(resource.actions).join(', ')}`,
        { resource: resource.name, action: name },
      )
    }
    return def
  }

  /** Runs one action; joins `scope`'s transaction when given, else opens its own. */
  async execute(
    resource: AnyResource,
    actionName: string,
    input: unknown,
    options: ExecOptions,
    scope?: Scope,
  ): Promise<unknown> {
    resource = this.#resource(resource)
    const def = this.#action(resource, actionName)
    if (scope) {
      // Replay applies events in its own transaction; an action nested in another (ctx.run) gets a savepoint.
      if (options.replay) return this.#run(resource, actionName, def, input, options, scope)
      return this.#inSavepoint(scope, () => this.#run(resource, actionName, def, input, options, scope))
    }
    if (def.kind === 'create') {
      // A create has no record to lock: its changes, validations and before-transaction hooks run before
      // the transaction opens, so slow work there holds no database resources.
      const holder: { pending?: PendingHooks } = {}
      let prepared: Prepared
      try {
        prepared = await this.#prepare(resource, actionName, def, input, options, undefined, holder)
      } catch (error) {
        const err = toRewindError(error, resource, actionName)
        // No transaction was opened; hooks registered by the changes that ran still hear of the failure.
        if (holder.pending) await settleAfterTransaction([holder.pending], { error: err })
        throw err
      }
      return this.#inTransaction(resource, actionName, (s) => {
        s.afterTransaction.push(prepared.pending)
        return this.#finish(prepared, s)
      })
    }
    return this.#inTransaction(resource, actionName, (s) =>
      this.#run(resource, actionName, def, input, options, s),
    )
  }

  /** Runs several actions of one resource in one transaction (each through the whole pipeline). */
  async executeMany(
    resource: AnyResource,
    actionName: string,
    calls: readonly { readonly input: unknown; readonly options: ExecOptions }[],
  ): Promise<unknown[]> {
    resource = this.#resource(resource)
    const def = this.#action(resource, actionName)
    return this.#inTransaction(resource, actionName, async (scope) => {
      const out: unknown[] = []
      for (const call of calls)
        out.push(await this.#run(resource, actionName, def, call.input, call.options, scope))
      return out
    })
  }

  /** Runs `fn` in one transaction (a replay, a bulk), with after-commit hooks. */
  async #inTransaction<T>(
    resource: AnyResource,
    action: string,
    fn: (scope: Scope) => Promise<T>,
  ): Promise<T> {
    let scope: Scope | undefined
    let result: T
    try {
      result = await this.db.transaction(async (client) => {
        scope = newScope(client)
        return fn(scope)
      })
    } catch (error) {
      const err = toRewindError(error, resource, action)
      if (scope) await settleAfterTransaction(scope.afterTransaction, { error: err })
      throw err
    }
    await settleAfterTransaction(scope!.afterTransaction)
    return result
  }

  /**
   * Runs a nested action (one a hook started with `ctx.run`) inside a savepoint: if it fails, whether or not
   * its caller catches the error, nothing it wrote remains, and the after-transaction hooks of everything it
   * ran hear of the failure.
   */
  async #inSavepoint<T>(scope: Scope, fn: () => Promise<T>): Promise<T> {
    const name = `rewind_nested_${++scope.savepoints}`
    const mark = scope.afterTransaction.length
    await scope.client.query(`SAVEPOINT ${name}`)
    try {
      const result = await fn()
      await scope.client.query(`RELEASE SAVEPOINT ${name}`)
      return result
    } catch (error) {
      for (const pending of scope.afterTransaction.slice(mark)) {
        if (pending.outcome?.ok !== false) pending.outcome = { ok: false, error }
      }
      // A broken connection cannot roll back to the savepoint; the transaction fails as a whole then.
      await scope.client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => {})
      throw error
    }
  }

  /** Runs `fn` in a transaction of its own, exposing the scope (used by replay). */
  async transaction<T>(
    fn: (scope: Scope) => Promise<T>,
    label: { resource: AnyResource; action: string },
  ): Promise<T> {
    return this.#inTransaction(label.resource, label.action, fn)
  }

  /** The context hooks get; without a scope (before a create's transaction) queries and nested actions run on their own. */
  #hookContext(scope: Scope | undefined, options: ExecOptions): HookContext {
    let drizzle: Promise<unknown> | undefined
    const nested: CallOptions = {
      actor: options.actor,
      tenant: options.tenant,
      context: options.context ?? {},
      authorize: options.authorize ?? true,
    }
    return {
      actor: options.actor,
      tenant: options.tenant,
      context: options.context ?? {},
      replaying: options.replay !== undefined,
      db: () => {
        drizzle ??= scope ? this.db.drizzleFor(scope.client) : Promise.resolve(this.db.drizzle)
        return drizzle
      },
      sql: (text, params) => (scope ? scope.client.query(text, params) : this.db.query(text, params)),
      run: (resource, action, input, opts) =>
        this.execute(resource, action, input, { ...nested, ...(opts ?? {}) }, scope),
    }
  }

  async #run(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    input: unknown,
    options: ExecOptions,
    scope: Scope,
  ): Promise<unknown> {
    const holder: { pending?: PendingHooks } = {}
    try {
      if (def.kind === 'action')
        return await this.#runGeneric(resource, actionName, def, input, options, scope)
      return await this.#finish(
        await this.#prepare(resource, actionName, def, input, options, scope, holder),
        scope,
      )
    } catch (error) {
      const err = toRewindError(error, resource, actionName)
      if (holder.pending) holder.pending.outcome = { ok: false, error: err }
      throw err
    }
  }

  #tenant(resource: AnyResource, actionName: string, options: ExecOptions): Json | undefined {
    if (resource.tenant === undefined) return undefined
    if (options.tenant === undefined || options.tenant === null) {
      throw new RewindError(
        'TENANT_REQUIRED',
        `${resource.name}.${actionName}: ${resource.name} is multitenant (tenant column "${resource.tenant}"); pass { tenant } in the options`,
        { resource: resource.name, action: actionName },
      )
    }
    const cast = resource.codecs.get(resource.tenant)!.fromApp(options.tenant)
    if (!cast.ok) {
      const message = castMessage(cast, resource.sensitive.has(resource.tenant))
      throw new RewindError('VALIDATION', `${resource.name}.${actionName}: invalid tenant: ${message}`, {
        resource: resource.name,
        action: actionName,
        issues: [{ path: ['tenant'], message }],
      })
    }
    return cast.value
  }

  async #authorize(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    options: ExecOptions,
    input: unknown,
    record: () => unknown,
  ): Promise<void> {
    if (!def.policy || options.authorize === false || options.replay) return
    const allowed = await def.policy({
      actor: options.actor,
      tenant: options.tenant,
      input,
      record: record() as never,
      action: actionName,
    })
    if (allowed !== true) {
      throw new RewindError(
        'FORBIDDEN',
        `${resource.name}.${actionName}: the actor is not allowed to run this action`,
        {
          resource: resource.name,
          action: actionName,
        },
      )
    }
  }

  async #runGeneric(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    input: unknown,
    options: ExecOptions,
    scope: Scope,
  ): Promise<unknown> {
    const parsed = await parseInput(resource, actionName, def, input)
    await this.#authorize(resource, actionName, def, options, input, () => undefined)
    const ctx: GenericActionContext<Record<string, unknown>> = {
      ...this.#hookContext(scope, options),
      args: parsed.args,
    }
    return def.run!(ctx)
  }

  /** Loads the record an update or destroy targets, as canonical values. */
  async #load(
    resource: AnyResource,
    actionName: string,
    options: ExecOptions,
    tenant: Json | undefined,
    scope: Scope,
    read = true,
  ): Promise<{ id: Json; before: Map<string, Json> | undefined }> {
    let id: Json = options.replay?.forced.get(resource.primaryKey) ?? null
    // Replay knows the canonical id (the event's record id); anything else is an app value, checked here.
    if (id === null) {
      const rawId = options.record !== undefined ? options.record?.[resource.primaryKey] : options.id
      if (rawId === undefined || rawId === null) {
        throw new RewindError(
          'VALIDATION',
          `${resource.name}.${actionName}: pass the record to act on: { id } or { record } in the options`,
          { resource: resource.name, action: actionName, issues: [{ path: ['id'], message: 'is required' }] },
        )
      }
      const checked = resource.codecs.get(resource.primaryKey)!.fromApp(rawId)
      if (!checked.ok) {
        const message = castMessage(checked, resource.sensitive.has(resource.primaryKey))
        throw new RewindError('VALIDATION', `${resource.name}.${actionName}: invalid id: ${message}`, {
          resource: resource.name,
          action: actionName,
          issues: [{ path: ['id'], message }],
        })
      }
      id = checked.value
    }
    if (!read) return { id, before: undefined }
    let before: Map<string, Json> | undefined
    if (options.replay?.loader) {
      before = await options.replay.loader(resource, id)
    } else {
      const q = selectByKey(resource, id, tenant, true)
      const rows = await scope.client.queryText(q.text, q.params)
      before = rows[0] ? canonicalRow(resource, rows[0]) : undefined
    }
    if (before === undefined) {
      if (options.record !== undefined) {
        // The caller held this record: it was destroyed since they read it.
        throw new RewindError(
          'STALE',
          `${resource.name}.${actionName}: the record ${JSON.stringify(id)} no longer exists`,
          {
            resource: resource.name,
            action: actionName,
            details: { id },
          },
        )
      }
      throw new RewindError(
        'NOT_FOUND',
        `${resource.name}.${actionName}: no ${resource.name} with id ${JSON.stringify(id)}${tenant !== undefined ? ` in tenant ${JSON.stringify(tenant)}` : ''}`,
        {
          resource: resource.name,
          action: actionName,
          details: { id },
        },
      )
    }
    return { id, before }
  }

  /**
   * Everything before the write: input, the record (locked, inside the transaction), policy, changes,
   * validations, before-transaction hooks and the values to write.
   */
  async #prepare(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    input: unknown,
    options: ExecOptions,
    scope: Scope | undefined,
    /** Receives the action's after-transaction hooks as soon as changes can register them. */
    holder: { pending?: PendingHooks } = {},
  ): Promise<Prepared> {
    const replay = options.replay
    const actionType = def.kind as 'create' | 'update' | 'destroy'
    const tenant = this.#tenant(resource, actionName, options)
    const parsed = await parseInput(resource, actionName, def, input, replay !== undefined)

    let id: Json | undefined
    let loaded: Map<string, Json> | undefined
    if (actionType !== 'create' || replay?.existing) {
      // Read under a row lock: changes and validations see the latest state, and concurrent actions on the
      // same record run one after the other, so no update is lost. An action that never looks at the record
      // skips the read: its write locks the row and returns the before-image all the same.
      const l = await this.#load(
        resource,
        actionName,
        options,
        tenant,
        scope!,
        replay !== undefined || needsRecord(def),
      )
      id = l.id
      loaded = l.before
    }
    // The app's view of the record is built only if something reads it (a policy, a change, a validation).
    const record = once(() => (loaded ? appRecord(resource, loaded) : undefined))
    await this.#authorize(resource, actionName, def, options, input, record)

    const cs = new Changeset<any, any>(
      resource.codecs,
      resource.primaryKey,
      resource.name,
      actionName,
      actionType,
      Object.fromEntries(parsed.attributes),
      parsed.args,
      options.actor,
      options.tenant,
      options.context ?? {},
      record,
      replay !== undefined,
    )
    cs.recorded = replay?.recorded
    for (const [key, value] of parsed.attributes) cs.set(key as never, value as never)
    const keep = (h: Registered<unknown>) =>
      !replay || (h.change !== undefined && replay.allowedChanges.has(h.change))
    // Registered before any change runs, so hooks of a change that ran before a failure hear of it.
    const pending: PendingHooks = { hooks: cs.afterTransactionHooks, keep, outcome: undefined }
    holder.pending = pending
    scope?.afterTransaction.push(pending)

    // Validations check the input and the current record; then changes run (and may add errors themselves).
    await this.#validate(resource, actionName, def, cs)
    if (cs.errors.length > 0) throw validationError(resource, actionName, cs.errors)
    const rechecks = replay ? [] : valueChecks(def.validations)
    const unchanged = rechecks.length > 0 ? new Map(cs.attributes) : undefined
    await this.#applyChanges(def, cs, replay)
    if (cs.errors.length > 0) throw validationError(resource, actionName, cs.errors)
    if (unchanged) {
      // A value a change set meets the rule the caller's would: value checks again on what will be written.
      await this.#validate(resource, actionName, def, cs, (v) => setByChanges(v, cs, unchanged))
      if (cs.errors.length > 0) throw validationError(resource, actionName, cs.errors)
    }

    let hookCtx: HookContext | undefined
    for (const h of cs.beforeTransactionHooks) {
      if (!keep(h)) continue
      hookCtx ??= this.#hookContext(scope, options)
      await h.fn(hookCtx)
    }

    const values = this.#resolveValues(resource, actionName, def, cs, parsed, tenant, replay, actionType)
    if (actionType !== 'create' && values.has(resource.primaryKey)) {
      if (!sameJson(values.get(resource.primaryKey), id ?? null)) {
        // A record's events are keyed by its id: a new id would split its history in two.
        throw validationError(resource, actionName, [
          { path: [resource.primaryKey], message: 'is the primary key; an update cannot change it' },
        ])
      }
    }
    return {
      resource,
      actionName,
      def,
      options,
      actionType,
      tenant,
      parsed,
      id,
      loaded,
      cs,
      values,
      keep,
      pending,
    }
  }

  /**
   * Batched replay: runs everything before the write (input, record from the replay's loader, validations,
   * changes, values) and returns what would be written, without writing it.
   */
  async prepareReplay(
    resource: AnyResource,
    actionName: string,
    input: unknown,
    options: ExecOptions,
    scope: Scope,
  ): Promise<PreparedWrite> {
    const def = this.#action(resource, actionName)
    try {
      const p = await this.#prepare(resource, actionName, def, input, options, scope)
      return {
        actionType: p.actionType,
        soft: def.soft,
        id: p.id,
        values: p.values,
        existing: options.replay?.existing === true,
      }
    } catch (error) {
      throw toRewindError(error, resource, actionName)
    }
  }

  /** The write, its event and the after hooks, inside the transaction. */
  async #finish(p: Prepared, scope: Scope): Promise<unknown> {
    const { resource, actionName, actionType, tenant, parsed, options, cs, keep } = p
    try {
      // The hooks' context is built only when a hook runs (most actions have none).
      const ctx = once(() => this.#hookContext(scope, options))
      for (const h of cs.beforeActionHooks) if (keep(h)) await h.fn(ctx())

      const written = await this.#write(p, scope)

      if (this.sink && !options.replay && this.sink.tracks(resource, actionName)) {
        await this.sink.record(
          scope.client,
          this.#event(resource, actionName, actionType, parsed, written, options, tenant),
        )
      }

      const result = appRecord(resource, written.after ?? written.before!)
      for (const h of cs.afterActionHooks) if (keep(h)) await h.fn(result as never, ctx())
      p.pending.outcome = { ok: true, record: result }
      return result
    } catch (error) {
      const err = toRewindError(error, resource, actionName)
      p.pending.outcome = { ok: false, error: err }
      throw err
    }
  }

  async #applyChanges(
    def: ActionDefinition,
    cs: Changeset<any, any>,
    replay: ReplayDirective | undefined,
  ): Promise<void> {
    let i = 0
    for (const change of def.changes) {
      const index = i++
      const obj: ChangeObject = typeof change === 'function' ? { run: change } : change
      if (replay && obj.skipInReplay) continue
      if (obj.where && !obj.where(cs)) continue
      cs.currentChange = changeName(change, index)
      try {
        await obj.run(cs)
      } finally {
        cs.currentChange = undefined
      }
    }
  }

  async #validate(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    cs: Changeset<any, any>,
    only?: (validation: ValidationObject) => boolean,
  ): Promise<void> {
    for (const validation of def.validations) {
      const obj: ValidationObject = typeof validation === 'function' ? { validate: validation } : validation
      if (only && !only(obj)) continue
      if (obj.where && !obj.where(cs)) continue
      let outcome: Awaited<ReturnType<ValidationObject['validate']>>
      try {
        outcome = await obj.validate(cs)
      } catch (error) {
        if (isRewindError(error)) throw error
        throw new RewindError(
          'INTERNAL',
          `${resource.name}.${actionName}: a validation threw: ${(error as Error)?.message}`,
          {
            cause: error,
            resource: resource.name,
            action: actionName,
          },
        )
      }
      if (outcome === undefined) continue
      if (typeof outcome === 'string') cs.addError(undefined, outcome)
      else cs.addError(outcome.field, outcome.message)
    }
  }

  /** The canonical column values to write: what input and changes set, app-side defaults, tenant, replay's forced values. */
  #resolveValues(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    cs: Changeset<any, any>,
    parsed: ParsedInput,
    tenant: Json | undefined,
    replay: ReplayDirective | undefined,
    actionType: 'create' | 'update' | 'destroy',
  ): Map<string, Json> {
    const issues: Issue[] = []
    const values = new Map<string, Json>()
    // In replay, a column the event forces, or one the event did not record, is set or dropped below whatever
    // the changes computed: neither cast nor check what would be thrown away.
    const discarded = (key: string) =>
      replay !== undefined && (replay.forced.has(key) || replay.keepOnly?.has(key) === false)
    const put = (key: string, value: unknown) => {
      if (discarded(key)) return
      const codec = resource.codecs.get(key)
      if (!codec) {
        issues.push({ path: [key], message: `is not a column of ${resource.name}` })
        return
      }
      if (resource.generatedColumns.has(key)) {
        issues.push({ path: [key], message: 'is a generated column; the database computes it' })
        return
      }
      if (value instanceof ExactValue) {
        values.set(key, value.value)
        return
      }
      const cast = codec.fromApp(value)
      if (!cast.ok) issues.push({ path: [key], message: castMessage(cast, resource.sensitive.has(key)) })
      else values.set(key, cast.value)
    }
    const writesRow = actionType !== 'destroy' || def.soft
    if (writesRow) {
      for (const [key, value] of cs.attributes) {
        if (parsed.attributes.has(key) && parsed.attributes.get(key) === value)
          values.set(key, parsed.castAttributes.get(key)!)
        else put(key, value)
      }
      if (actionType === 'create' && !replay?.existing) {
        for (const [key, fn] of resource.appDefaults) if (!values.has(key) && !discarded(key)) put(key, fn())
      } else {
        for (const [key, fn] of resource.appOnUpdate)
          if (!cs.attributes.has(key) && !discarded(key)) put(key, fn())
      }
      if (def.optimisticLock && actionType !== 'create') {
        const current = cs.record?.[def.optimisticLock]
        if (!cs.attributes.has(def.optimisticLock))
          put(def.optimisticLock, (typeof current === 'number' ? current : 0) + 1)
      }
    }
    if (issues.length > 0) throw validationError(resource, actionName, issues)
    if (resource.tenant !== undefined && tenant !== undefined && actionType === 'create') {
      const given = values.get(resource.tenant)
      if (given !== undefined && given !== null && !sameJson(given, tenant)) {
        throw validationError(resource, actionName, [
          {
            path: [resource.tenant],
            message: `is the tenant column; it must equal the tenant of the call (${JSON.stringify(tenant)})`,
          },
        ])
      }
      values.set(resource.tenant, tenant)
    }
    if (replay) {
      if (replay.keepOnly)
        for (const key of [...values.keys()]) if (!replay.keepOnly.has(key)) values.delete(key)
      for (const [key, value] of replay.forced) {
        if (resource.codecs.has(key) && !resource.generatedColumns.has(key)) values.set(key, value)
      }
    }
    if (actionType === 'create' && !replay?.existing) {
      const missing: Issue[] = []
      for (const codec of resource.codecs.values()) {
        const col = codec.column as unknown as {
          hasDefault: boolean
          generatedIdentity?: unknown
          generated?: unknown
        }
        if (!codec.notNull || col.hasDefault || col.generatedIdentity || col.generated) continue
        const v = values.get(codec.key)
        if (v === undefined || v === null) missing.push({ path: [codec.key], message: 'is required' })
      }
      if (missing.length > 0) throw validationError(resource, actionName, missing)
    }
    return values
  }

  async #write(
    p: Prepared,
    scope: Scope,
  ): Promise<{
    before: Map<string, Json> | undefined
    after: Map<string, Json> | undefined
    upsert?: 'inserted' | 'updated'
  }> {
    const { resource, actionName, def, actionType, values, id, tenant, loaded, options, cs } = p
    const replay = options.replay
    const client = scope.client
    const notFound = () =>
      new RewindError(
        'NOT_FOUND',
        `${resource.name}.${actionName}: no ${resource.name} with id ${JSON.stringify(id)}${tenant !== undefined ? ` in tenant ${JSON.stringify(tenant)}` : ''}`,
        { resource: resource.name, action: actionName, details: { id } },
      )
    const stale = (what: string) =>
      new RewindError('STALE', `${resource.name}.${actionName}: ${what}`, {
        resource: resource.name,
        action: actionName,
        details: { id },
      })
    if (actionType === 'create' && !replay?.existing) {
      const overriding = [...resource.identityAlwaysColumns].some((k) => values.has(k))
      if (def.upsert && !replay) {
        const target = resource.identities[def.upsert.identity]!
        const update = new Set<string>(def.upsert.update)
        for (const key of resource.appOnUpdate.keys()) update.add(key)
        // The update column of timestamps(), and the configured update timestamp, move on the update path too.
        for (const key of cs.alsoOnUpdate) update.add(key)
        const updateTs = resource.events.updateTimestamp
        if (updateTs && values.has(updateTs)) update.add(updateTs)
        // Read (and lock) the row the upsert may hit, so its event records what really changed.
        const before = await this.#lockByIdentity(resource, target, values, tenant, client)
        // A row of another tenant with the same identity is never updated (nor returned): that is a conflict.
        const tenantGuard =
          resource.tenant !== undefined && tenant !== undefined && !target.includes(resource.tenant)
            ? resource.tenant
            : undefined
        const q = insertRow(resource, values, {
          overriding,
          onConflict: {
            target,
            update: [...update].filter((k) => values.has(k)),
            ...(tenantGuard ? { onlyWhereSame: tenantGuard } : {}),
          },
        })
        const rows = await client.queryText(q.text, q.params)
        if (rows.length === 0) {
          throw new RewindError(
            'CONFLICT',
            `${resource.name}.${actionName}: a record with the same ${def.upsert.identity} (${target.join(', ')}) already exists`,
            { resource: resource.name, action: actionName, details: { identity: def.upsert.identity } },
          )
        }
        const after = canonicalRow(resource, rows[0]!)
        const inserted = rows[0]!.__inserted === 't' || rows[0]!.__inserted === 'true'
        return { before: inserted ? undefined : before, after, upsert: inserted ? 'inserted' : 'updated' }
      }
      const q = insertRow(resource, values, { overriding })
      const rows = await client.queryText(q.text, q.params)
      return { before: undefined, after: canonicalRow(resource, rows[0]!) }
    }
    if (actionType === 'destroy' && !def.soft) {
      const q = deleteRow(resource, id!, tenant)
      const rows = await client.queryText(q.text, q.params)
      if (rows.length === 0) {
        if (options.record !== undefined || loaded !== undefined) {
          throw stale(`the record ${JSON.stringify(id)} no longer exists; nothing was destroyed`)
        }
        throw notFound()
      }
      return { before: canonicalRow(resource, rows[0]!), after: undefined }
    }
    let expectedLock: { key: string; value: Json } | undefined
    if (def.optimisticLock && !replay) {
      const source = options.record
        ? (options.record as Record<string, unknown>)[def.optimisticLock]
        : undefined
      const value =
        source !== undefined ? resource.codecs.get(def.optimisticLock)!.fromApp(source) : undefined
      expectedLock = {
        key: def.optimisticLock,
        value: value?.ok ? value.value : (loaded?.get(def.optimisticLock) ?? null),
      }
    }
    // Only columns whose value differs from the record as read need writing; the event diff uses the locked row.
    const q = updateRow(resource, id!, tenant, values, expectedLock)
    const rows = await client.queryText(q.text, q.params)
    if (rows.length === 0) {
      if (expectedLock) {
        const check = selectByKey(resource, id!, tenant, false)
        const exists = (await client.query(check.text, check.params)).length > 0
        if (exists) {
          throw stale(
            `the record changed since it was read (${expectedLock.key} expected ${JSON.stringify(expectedLock.value)}); reload it and retry`,
          )
        }
      }
      if (options.record !== undefined || loaded !== undefined)
        throw stale(`the record ${JSON.stringify(id)} no longer exists`)
      throw notFound()
    }
    return { before: canonicalRow(resource, rows[0]!, 'old:'), after: canonicalRow(resource, rows[0]!) }
  }

  async #lockByIdentity(
    resource: AnyResource,
    columns: readonly string[],
    values: ReadonlyMap<string, Json>,
    tenant: Json | undefined,
    client: SqlClient,
  ): Promise<Map<string, Json> | undefined> {
    const params = new Params()
    const conds: string[] = []
    for (const key of columns) {
      const codec = resource.codecs.get(key)!
      const v = values.get(key)
      if (v === undefined || v === null) return undefined
      conds.push(`${quoteIdent(codec.name)} = ${params.add(codec, v)}`)
    }
    if (resource.tenant !== undefined && tenant !== undefined && !columns.includes(resource.tenant)) {
      const codec = resource.codecs.get(resource.tenant)!
      conds.push(`${quoteIdent(codec.name)} = ${params.add(codec, tenant)}`)
    }
    const rows = await client.queryText(
      `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)} WHERE ${conds.join(' AND ')} FOR UPDATE`,
      params.values,
    )
    return rows[0] ? canonicalRow(resource, rows[0]) : undefined
  }

  #event(
    resource: AnyResource,
    actionName: string,
    actionType: 'create' | 'update' | 'destroy',
    parsed: ParsedInput,
    written: {
      before: Map<string, Json> | undefined
      after: Map<string, Json> | undefined
      upsert?: 'inserted' | 'updated'
    },
    options: ExecOptions,
    tenant: Json | undefined,
  ): WriteEvent {
    const data: Record<string, Json> = {}
    const dataEncoders: Record<string, string> = {}
    for (const [key, value] of parsed.castAttributes) {
      data[key] = value
      const enc = resource.codecs.get(key)!.encoder
      if (enc) dataEncoders[key] = enc
    }
    for (const [key, value] of Object.entries(parsed.argInputs)) {
      if (value === undefined) continue
      const enc = encodeArgument(parsed.args[key] !== undefined ? parsed.args[key] : value)
      data[key] = enc.value
      if (enc.encoder) dataEncoders[key] = enc.encoder
    }
    const changed: Record<string, Json> = {}
    const { before, after } = written
    if (after) {
      for (const [key, value] of after) {
        if (Object.hasOwn(data, key) && parsed.castAttributes.has(key) && !resource.foreignKeys.has(key)) {
          // An input column whose stored value differs from the input (a change overrode it) is recorded too.
          if (!sameJson(data[key], value)) changed[key] = value
          continue
        }
        // A create records every column it set (NULLs are what an insert without the column gives anyway).
        if (
          before === undefined
            ? value !== null || hasDatabaseDefault(resource, key)
            : !sameJson(before.get(key), value)
        ) {
          changed[key] = value
        }
      }
    }
    const recordId = (after ?? before)!.get(resource.primaryKey)!
    if (after && before === undefined) changed[resource.primaryKey] = recordId
    return {
      resource,
      action: actionName,
      actionType,
      recordId,
      data,
      dataEncoders,
      changed,
      before,
      after,
      upsert: written.upsert,
      actor: options.actor,
      tenant,
      metadata: options.metadata ?? {},
    }
  }
}

/** `make`'s value, computed on the first call only. */
function once<T>(make: () => T): () => T {
  let value: { v: T } | undefined
  return () => {
    if (!value) value = { v: make() }
    return value.v
  }
}

/** A NULL in such a column is recorded: leaving it out of a replayed insert would give the default instead. */
function hasDatabaseDefault(resource: AnyResource, key: string): boolean {
  const col = resource.codecs.get(key)?.column as unknown as
    | { hasDefault?: boolean; defaultFn?: unknown }
    | undefined
  return col?.hasDefault === true && col.defaultFn === undefined
}

export function validationError(
  resource: AnyResource,
  action: string,
  issues: readonly Issue[],
): RewindError {
  const text = issues.map((i) => (i.path.length ? `${i.path.join('.')} ${i.message}` : i.message)).join('; ')
  return new RewindError('VALIDATION', `${resource.name}.${action}: ${text}`, {
    resource: resource.name,
    action,
    issues,
  })
}
