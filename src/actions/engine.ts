import type { Database } from '../data/database.js'
import { RewindError } from '../errors/rewind-error.js'
import type { EventLog } from '../events/event-log.js'
import type { ActionDefinition, GenericActionContext } from '../resource/action.js'
import type { HookContext } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { RowStore } from '../rows/row-store.js'
import { type ActionRun, type ExecOptions, startRun } from './action-run.js'
import { toRewindError } from './db-errors.js'
import { hookContext, type NestedRun } from './hook-context.js'
import { COMMIT, PREPARE } from './pipeline.js'
import { authorize, parse } from './prepare.js'
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
 * resource and action, and the action's after-transaction hooks hear how it ended.
 */
export class ActionEngine {
  readonly #nested: NestedRun

  constructor(
    readonly db: Database,
    readonly resources: ReadonlyMap<string, AnyResource>,
    readonly log: EventLog | undefined,
  ) {
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

  /** Runs one action: in the transaction of `within` when given, else in its own. Resolves to its result. */
  async execute(
    resource: AnyResource,
    actionName: string,
    input: unknown,
    options: ExecOptions,
    within?: Within,
  ): Promise<unknown> {
    resource = this.#resource(resource)
    const def = this.#action(resource, actionName)
    if (within) {
      const run = () =>
        this.#runIn(
          resource,
          actionName,
          def,
          input,
          options,
          within.scope,
          within.store ?? within.scope.rows,
        )
      // A replayed event is part of the replay's transaction; a nested action (ctx.run) gets a savepoint.
      return options.replay ? run() : this.#inSavepoint(within.scope, run)
    }
    if (def.kind === 'create') {
      // A create has no record to lock: its changes, validations and before-transaction hooks run before
      // the transaction opens, so slow work there holds no database resources.
      const run = startRun(resource, actionName, def, input, options)
      try {
        await runSteps(PREPARE, run, this.#env(run, undefined, undefined))
      } catch (error) {
        const err = this.#failed(run, error)
        // No transaction was opened; hooks registered by the changes that ran still hear of the failure.
        if (run.pending) await settleAfterTransaction([run.pending], { error: err })
        throw err
      }
      return this.#inTransaction(resource, actionName, async (scope) => {
        scope.afterTransaction.push(run.pending!)
        await this.#attempt(run, () => runSteps(COMMIT, run, this.#env(run, scope, scope.rows)))
        return run.result
      })
    }
    return this.#inTransaction(resource, actionName, (scope) =>
      this.#runIn(resource, actionName, def, input, options, scope, scope.rows),
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
        out.push(await this.#runIn(resource, actionName, def, call.input, call.options, scope, scope.rows))
      return out
    })
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
  ): Promise<unknown> {
    const run = startRun(resource, actionName, def, input, options)
    const env = this.#env(run, scope, store)
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

  #env(run: ActionRun, scope: Scope | undefined, store: RowStore | undefined): StepEnv {
    let hooks: HookContext | undefined
    return {
      scope,
      store,
      log: this.log,
      hooks: () => (hooks ??= hookContext(this.db, scope, run.options, this.#nested)),
    }
  }

  /** Runs `fn`; a failure becomes a RewindError naming the action, which its after-transaction hooks hear of. */
  async #attempt(run: ActionRun, fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } catch (error) {
      throw this.#failed(run, error)
    }
  }

  #failed(run: ActionRun, error: unknown): RewindError {
    const err = toRewindError(error, run.resource, run.action)
    if (run.pending) run.pending.outcome = { ok: false, error: err }
    return err
  }

  /** Runs `fn` in one transaction, then the after-transaction hooks of every action in it. */
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
}
