import { isJsonSqlFallback as isFallback } from '../columns/codec.js'
import type { Database } from '../data/database.js'
import { RewindError } from '../errors/rewind-error.js'
import type { EventLog } from '../events/event-log.js'
import type { ActionDefinition, GenericActionContext } from '../resource/action.js'
import type { HookContext } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { RowStore } from '../rows/row-store.js'
import { SqlRowStore } from '../rows/sql-row-store.js'
import { qualifiedName } from '../schema/names.js'
import { type ActionRun, type ExecOptions, startRun } from './action-run.js'
import { type CompiledEnv, CompiledWrite } from './compiled-write.js'
import { toRewindError } from './db-errors.js'
import { eventWithRow } from './event-with-row.js'
import { hookContext, type NestedRun } from './hook-context.js'
import type { EngineObservers } from './observers.js'
import { COMMIT, PREPARE, PREPARE_CHANGES, PREPARE_VALUES } from './pipeline.js'
import { authorize, parse, readsRecord } from './prepare.js'
import { newScope, type Scope, settleAfterTransaction } from './scope.js'
import { runSteps, type StepEnv } from './step.js'

/** Where an action runs when it joins a transaction: the transaction's scope, and the store it writes through. */
export interface Within {
  readonly scope: Scope
  /** Default: the scope's own (statements on its client); replay's batches pass theirs. */
  readonly store?: RowStore
}

/**
 * Runs actions through the pipeline (pipeline.ts), each in a transaction: its own, or one it joins (a nested
 * action, in a savepoint; a replayed event). Every failure leaves here as a {@link RewindError} naming the
 * resource and action, and the action's after-transaction hooks hear how it ended. `observers` follow what
 * it records: an observer of recorded events inside the transaction, a callback after each commit that
 * recorded events.
 */
export class ActionEngine {
  readonly #nested: NestedRun
  /** The row store of autocommit statements (statements on the database's own client, see #autocommit). */
  readonly #autocommitRows: SqlRowStore

  constructor(
    readonly db: Database,
    readonly resources: ReadonlyMap<string, AnyResource>,
    readonly log: EventLog | undefined,
    readonly observers: EngineObservers = {},
  ) {
    this.#autocommitRows = new SqlRowStore(db.autocommit)
    this.#nested = (resource, action, input, options, scope) =>
      this.execute(resource, action, input, options, scope ? { scope } : undefined)
  }

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

  /**
   * Whether an observer must see this action's event inside the transaction, as stored: then the event is
   * recorded on its own after the row write, with `RETURNING`, and never goes in its row's statement
   * (event-with-row.ts asks the same of the observer).
   */
  needsRecordedEvent(resource: AnyResource, action: string): boolean {
    const observer = this.observers.recorded
    if (!observer || !this.log?.tracks(resource, action)) return false
    return observer.wants(resource, action)
  }

  /**
   * Runs one action: in the transaction of `within` when given, else in its own. Resolves to its result; every
   * failure is a rejection. Not an async function: the promise it returns is the path's own, settled with no
   * extra turns.
   */
  execute(
    resource: AnyResource,
    actionName: string,
    input: unknown,
    options: ExecOptions,
    within?: Within,
  ): Promise<unknown> {
    let def: ActionDefinition
    try {
      resource = this.#resource(resource)
      def = this.#action(resource, actionName)
    } catch (error) {
      return Promise.reject(error)
    }
    if (within) {
      const { scope } = within
      const store = within.store ?? scope.rows
      // A replayed event is part of the replay's transaction (and records none); a nested action (ctx.run) gets
      // a savepoint.
      if (options.replay) return this.#runIn(resource, actionName, def, input, options, scope, store, false)
      return this.#withFallback((follow) =>
        this.#inSavepoint(scope, () =>
          this.#runIn(resource, actionName, def, input, options, scope, store, follow),
        ),
      )
    }
    // An action whose definition says all it does runs compiled (compiled-write.ts) when it can.
    if (!options.replay && this.log) {
      const compiled = this.#compiledWrite(resource, actionName, def)
      if (compiled) {
        const written = compiled.run(input, options)
        if (written) return written
      }
    }
    // A create has no record to lock, nor has an update or destroy that never reads its record: their changes
    // and validations run before the transaction opens, so slow work there holds no database resources, and
    // the write can be one statement with its event (see #autocommit).
    if (def.kind === 'create' || ((def.kind === 'update' || def.kind === 'destroy') && !readsRecord(def)))
      return this.#preparedFirst(resource, actionName, def, input, options)
    return this.#withFallback((follow) =>
      this.#inTransaction(resource, actionName, (scope) =>
        this.#runIn(resource, actionName, def, input, options, scope, scope.rows, follow),
      ),
    )
  }

  readonly #compiled = new Map<ActionDefinition, CompiledWrite | null>()

  /** The action's compiled write, made on its first call; undefined when it has none. */
  #compiledWrite(resource: AnyResource, action: string, def: ActionDefinition): CompiledWrite | undefined {
    let compiled = this.#compiled.get(def)
    if (compiled === undefined) {
      compiled =
        CompiledWrite.compile(this.#compiledEnv, resource, action, def, (input, options) =>
          this.#preparedFirst(resource, action, def, input, options),
        ) ?? null
      this.#compiled.set(def, compiled)
    }
    return compiled ?? undefined
  }

  get #compiledEnv(): CompiledEnv {
    return {
      client: this.db.autocommit,
      log: this.log!,
      triggerFree: (resource) => this.#triggerFreeTables.get(resource) === true,
      wantsRecorded: (resource, action) => this.needsRecordedEvent(resource, action),
      committed: () => this.#committed(1),
    }
  }

  /** An action whose PREPARE needs no transaction: prepared first, then written in one statement or a transaction. */
  async #preparedFirst(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    input: unknown,
    options: ExecOptions,
  ): Promise<unknown> {
    const run = startRun(resource, actionName, def, input, options)
    // PREPARE reads no row here (no record to lock), so the environment carries the autocommit row store the
    // one-statement write goes through.
    const outside = this.#env(run, undefined, this.#autocommitRows, true)
    // An update's before-transaction hooks run inside its transaction: PREPARE stops before them if it has any.
    let rest = COMMIT
    try {
      const prepared = runSteps(def.kind === 'create' ? PREPARE : PREPARE_CHANGES, run, outside)
      if (prepared) await prepared
      if (def.kind !== 'create') {
        if (run.internals.beforeTransactionHooks.length > 0) rest = [...PREPARE_VALUES, ...COMMIT]
        else {
          const values = runSteps(PREPARE_VALUES, run, outside)
          if (values) await values
        }
      }
    } catch (error) {
      const err = this.#failed(run, error)
      // No transaction was opened; hooks registered by the changes that ran still hear of the failure.
      if (run.pending) await settleAfterTransaction([run.pending], { error: err })
      throw err
    }
    let follow = true
    if (rest === COMMIT && this.#hookless(run)) {
      try {
        const done = await this.#autocommit(run, outside)
        if (done) return run.result
      } catch (error) {
        if (!isFallback(error)) {
          if (run.pending) await settleAfterTransaction([run.pending], { error })
          throw error
        }
        // A value SQL cannot turn into its exact JSON: nothing was written; the event goes on its own instead.
        follow = false
      }
    }
    return this.#withFallback(
      (f) =>
        this.#inTransaction(resource, actionName, async (scope) => {
          scope.afterTransaction.push(run.pending!)
          await this.#attempt(run, () => runSteps(rest, run, this.#env(run, scope, scope.rows, f)))
          return run.result
        }),
      follow,
    )
  }

  /** No hook must run between the row write and its commit. */
  #hookless(run: ActionRun): boolean {
    const { internals, write } = run
    return (
      write !== 'upsert' &&
      internals.beforeActionHooks.length === 0 &&
      internals.afterActionHooks.length === 0
    )
  }

  /**
   * The write and its event in one statement, in a transaction of its own (autocommit): one round trip. False
   * when the event cannot go with the row (the action then takes a transaction, and writes them apart).
   */
  async #autocommit(run: ActionRun, env: StepEnv): Promise<boolean> {
    if (this.log?.tracks(run.resource, run.action)) {
      const follow = eventWithRow(run, env)
      if (!(follow instanceof Promise ? await follow : follow)) return false
    }
    // What #attempt does, inline: on the one-statement path its async frame was one more turn per action.
    try {
      const committed = runSteps(COMMIT, run, env)
      if (committed) await committed
    } catch (error) {
      throw this.#failed(run, error)
    }
    // The statement committed with the action's event: the same news as a transaction that recorded one.
    if (run.recorded) this.#committed(1)
    const settled = settleAfterTransaction([run.pending!])
    if (settled) await settled
    return true
  }

  /**
   * Runs `attempt` with each event in its row's statement, and once more without if a value whose exact JSON
   * SQL cannot give stopped it (the statement failed, so nothing of it was written).
   */
  async #withFallback<T>(attempt: (follow: boolean) => Promise<T>, follow = true): Promise<T> {
    if (!follow) return attempt(false)
    try {
      return await attempt(true)
    } catch (error) {
      if (!isFallback(error)) throw error
      return attempt(false)
    }
  }

  /** Runs several actions of one resource in one transaction (each through the whole pipeline). */
  async executeMany(
    resource: AnyResource,
    actionName: string,
    calls: readonly { readonly input: unknown; readonly options: ExecOptions }[],
  ): Promise<unknown[]> {
    resource = this.#resource(resource)
    const def = this.#action(resource, actionName)
    return this.#withFallback((follow) =>
      this.#inTransaction(resource, actionName, async (scope) => {
        const out: unknown[] = []
        for (const call of calls)
          out.push(
            await this.#runIn(resource, actionName, def, call.input, call.options, scope, scope.rows, follow),
          )
        return out
      }),
    )
  }

  /** Runs `fn` in a transaction of its own, exposing the scope (used by replay). */
  transaction<T>(
    fn: (scope: Scope) => Promise<T>,
    label: { resource: AnyResource; action: string },
  ): Promise<T> {
    return this.#inTransaction(label.resource, label.action, fn)
  }

  /** The whole pipeline inside a transaction that is already open. */
  async #runIn(
    resource: AnyResource,
    actionName: string,
    def: ActionDefinition,
    input: unknown,
    options: ExecOptions,
    scope: Scope,
    store: RowStore,
    follow: boolean,
  ): Promise<unknown> {
    const run = startRun(resource, actionName, def, input, options)
    const env = this.#env(run, scope, store, follow)
    await this.#attempt(run, async () => {
      if (def.kind === 'action') {
        await parse(run)
        await authorize(run)
        const ctx: GenericActionContext<Record<string, unknown>> = { ...env.hooks(), args: run.parsed.args }
        run.result = await def.run!(ctx)
        return
      }
      await runSteps(PREPARE, run, env)
      await runSteps(COMMIT, run, env)
    })
    return run.result
  }

  #env(run: ActionRun, scope: Scope | undefined, store: RowStore | undefined, follow: boolean): StepEnv {
    let hooks: HookContext | undefined
    return {
      scope,
      store,
      log: this.log,
      observer: this.observers.recorded,
      follow,
      triggerFree: (resource) => this.#triggerFree(resource, scope),
      hooks: () => (hooks ??= hookContext(this.db, scope, run.options, this.#nested)),
    }
  }

  readonly #triggerFreeTables = new Map<AnyResource, boolean>()

  /**
   * Whether the resource's table has no trigger of its own, asked once per table: a trigger could change the
   * row past what the action wrote, which only the row's images (the two-statement path) capture.
   */
  #triggerFree(resource: AnyResource, scope: Scope | undefined): boolean | Promise<boolean> {
    // Known (every call after the first): no promise.
    return this.#triggerFreeTables.get(resource) ?? this.#askTriggerFree(resource, scope)
  }

  async #askTriggerFree(resource: AnyResource, scope: Scope | undefined): Promise<boolean> {
    const client = scope ? scope.client : this.db.autocommit
    // A table that does not exist (yet) is not cached: the write then says which table is missing.
    const [row] = await client.queryText(
      'SELECT (to_regclass($1) IS NOT NULL)::text AS exists, (NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal))::text AS free',
      [qualifiedName(resource.table)],
    )
    const truth = (v: string | null | undefined) => v === 't' || v === 'true'
    if (!truth(row?.exists)) return false
    const free = truth(row?.free)
    this.#triggerFreeTables.set(resource, free)
    return free
  }

  /** Runs `fn`; a failure becomes a RewindError naming the action, which its after-transaction hooks hear of. */
  async #attempt(run: ActionRun, fn: () => Promise<void> | undefined): Promise<void> {
    try {
      const pending = fn()
      if (pending) await pending
    } catch (error) {
      throw this.#failed(run, error)
    }
  }

  #failed(run: ActionRun, error: unknown): RewindError {
    const err = toRewindError(error, run.resource, run.action)
    if (run.pending) run.pending.outcome = { ok: false, error: err }
    return err
  }

  /**
   * Runs `fn` in one transaction; once it has committed, tells the after-commit observer if it recorded
   * events, then runs the after-transaction hooks of every action in it.
   */
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
      // A fallback is tried again (see #withFallback): its hooks hear how the second attempt ends.
      if (scope && !isFallback(error)) await settleAfterTransaction(scope.afterTransaction, { error: err })
      throw err
    }
    if (scope!.events > 0) this.#committed(scope!.events)
    await settleAfterTransaction(scope!.afterTransaction)
    return result
  }

  /** A commit made `events` events durable. */
  #committed(events: number): void {
    this.observers.afterCommit?.({ events })
  }

  /**
   * Runs a nested action (one a hook started with `ctx.run`) inside a savepoint: if it fails, whether or not
   * its caller catches the error, nothing it wrote remains, and the after-transaction hooks of everything it
   * ran hear of the failure.
   */
  async #inSavepoint<T>(scope: Scope, fn: () => Promise<T>): Promise<T> {
    const name = `rewind_nested_${++scope.savepoints}`
    const mark = scope.afterTransaction.length
    const events = scope.events
    await scope.client.query(`SAVEPOINT ${name}`)
    try {
      const result = await fn()
      await scope.client.query(`RELEASE SAVEPOINT ${name}`)
      return result
    } catch (error) {
      // A fallback is tried again (see #withFallback): the failed attempt's hooks are dropped, not told.
      if (isFallback(error)) scope.afterTransaction.length = mark
      for (const pending of scope.afterTransaction.slice(mark)) {
        if (pending.outcome?.ok !== false) pending.outcome = { ok: false, error }
      }
      // Its events are rolled back with it.
      scope.events = events
      // A broken connection cannot roll back to the savepoint; the transaction fails as a whole then.
      await scope.client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => {})
      throw error
    }
  }
}
