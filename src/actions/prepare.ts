import { castMessage } from '../columns/messages.js'
import { type Json, sameJson } from '../columns/values.js'
import { RewindError } from '../errors/rewind-error.js'
import type { ActionDefinition } from '../resource/action.js'
import {
  Changeset,
  type ChangesetInternals,
  type HookContext,
  type Registered,
} from '../resource/changeset.js'
import { appRecord } from '../rows/records.js'
import { notFound, stale, validationError } from './action-errors.js'
import type { ActionRun } from './action-run.js'
import { parseInput } from './input.js'
import { recordedId } from './replay-mode.js'
import type { StepEnv } from './step.js'

/** The steps before the write: what the action is asked, of which record, by whom, and what it will write. */

/** The tenant as its column stores it: required, and checked, for a multitenant resource. */
export function resolveTenant(run: ActionRun): void {
  const { resource, action, options } = run
  if (resource.tenant === undefined) return
  if (options.tenant === undefined || options.tenant === null) {
    throw new RewindError(
      'TENANT_REQUIRED',
      `${resource.name}.${action}: ${resource.name} is multitenant (tenant column "${resource.tenant}"); pass { tenant } in the options`,
      { resource: resource.name, action },
    )
  }
  run.tenant = castOption(run, resource.tenant, options.tenant, 'tenant')
}

/** A value of the options (the tenant, the id) cast to its column: `VALIDATION` naming it when it does not fit. */
function castOption(run: ActionRun, key: string, value: unknown, option: 'tenant' | 'id'): Json {
  const { resource, action } = run
  const cast = resource.codecs.get(key)!.fromApp(value)
  if (cast.ok) return cast.value
  const message = castMessage(cast, resource.sensitive.has(key))
  throw new RewindError('VALIDATION', `${resource.name}.${action}: invalid ${option}: ${message}`, {
    resource: resource.name,
    action,
    issues: [{ path: [option], message }],
  })
}

/** The caller's input, checked (replay passes recorded values as exact values). */
export function parse(run: ActionRun): Promise<void> | undefined {
  const parsed = parseInput(run.resource, run.action, run.def, run.input, run.replay !== undefined)
  if (!(parsed instanceof Promise)) {
    run.parsed = parsed
    return undefined
  }
  return parsed.then((p) => {
    run.parsed = p
  })
}

/** Whether an update or destroy must read its record before writing (see `ChangeObject.readsRecord`). */
export function readsRecord(def: ActionDefinition): boolean {
  if (def.policy || def.validations.length > 0 || def.optimisticLock) return true
  return def.changes.some((c) => typeof c === 'function' || c.readsRecord !== false)
}

/**
 * The record an update or destroy acts on, read under a row lock: changes and validations see the latest
 * state, and concurrent actions on the same record run one after the other, so no update is lost. An action
 * that never looks at the record skips the read: its write locks the row and returns the before-image all
 * the same. In replay, an upsert whose recorded record exists is written as an update of it.
 */
export function loadRecord(run: ActionRun, env: StepEnv): Promise<void> | undefined {
  const { replay } = run
  if (run.actionType === 'create') return replay && run.def.upsert ? loadUpserted(run, env) : undefined
  run.id = replay ? recordedId(replay, run.resource) : callerId(run)
  if (!replay && !readsRecord(run.def)) return undefined
  return loadTarget(run, env)
}

/** In replay, an upsert whose recorded record exists is written as an update of it. */
async function loadUpserted(run: ActionRun, env: StepEnv): Promise<void> {
  const { resource, replay } = run
  {
    const id = recordedId(replay!, resource)
    const found = await env.store!.load(resource, id, run.tenant, true)
    if (!found) return
    run.write = 'update'
    run.id = id
    setLoaded(run, found)
  }
}

async function loadTarget(run: ActionRun, env: StepEnv): Promise<void> {
  const { resource } = run
  const id = run.id!
  const found = await env.store!.load(resource, id, run.tenant, true)
  if (!found) {
    // A caller who held the record: it was destroyed since they read it.
    if (run.options.record !== undefined)
      throw stale(run, id, `the record ${JSON.stringify(id)} no longer exists`)
    throw notFound(run, id)
  }
  setLoaded(run, found)
}

function setLoaded(run: ActionRun, row: NonNullable<ActionRun['loaded']>): void {
  run.loaded = row
  let record: Record<string, unknown> | undefined
  run.record = () => (record ??= appRecord(run.resource, row))
}

/** The id the caller gave (`{ id }` or `{ record }`), checked against the primary key's column. */
function callerId(run: ActionRun) {
  const { resource, action, options } = run
  const rawId = options.record !== undefined ? options.record?.[resource.primaryKey] : options.id
  if (rawId === undefined || rawId === null) {
    throw new RewindError(
      'VALIDATION',
      `${resource.name}.${action}: pass the record to act on: { id } or { record } in the options`,
      { resource: resource.name, action, issues: [{ path: ['id'], message: 'is required' }] },
    )
  }
  return castOption(run, resource.primaryKey, rawId, 'id')
}

/** The action's policy (not in replay, nor for trusted calls with `authorize: false`). */
export function authorize(run: ActionRun): Promise<void> | undefined {
  const { def, options } = run
  if (!def.policy || options.authorize === false || run.replay) return undefined
  return checkPolicy(run)
}

async function checkPolicy(run: ActionRun): Promise<void> {
  const { def, options, resource, action } = run
  const allowed = await def.policy!({
    actor: options.actor,
    tenant: options.tenant,
    input: run.input,
    record: run.record() as never,
    action,
  })
  if (allowed !== true) {
    throw new RewindError(
      'FORBIDDEN',
      `${resource.name}.${action}: the actor is not allowed to run this action`,
      {
        resource: resource.name,
        action,
      },
    )
  }
}

/** The changeset changes and validations work on, with the caller's input set. */
export function openChangeset(run: ActionRun, env: StepEnv): void {
  const { resource, options, replay, parsed } = run
  const internals: ChangesetInternals = {
    codecs: resource.codecs,
    forced: undefined,
    alsoOnUpdate: undefined,
    beforeActionHooks: [],
    afterActionHooks: [],
    beforeTransactionHooks: [],
    afterTransactionHooks: [],
    currentChange: undefined,
    recorded: replay ? (key) => replay.recorded.get(key) : undefined,
  }
  const cs = new Changeset<any, any>(
    {
      resource: resource.name,
      action: run.action,
      actionType: run.actionType,
      // Built when a change or validation first reads it (most never do).
      input: () => Object.fromEntries(parsed.attributes),
      args: parsed.args,
      actor: options.actor,
      tenant: options.tenant,
      context: options.context ?? {},
      record: run.record as () => undefined,
      replaying: replay !== undefined,
    },
    resource.primaryKey,
    internals,
  )
  for (const [key, value] of parsed.attributes) cs.set(key as never, value as never)
  run.cs = cs
  run.internals = internals
  if (replay) run.keep = (h) => h.change !== undefined && replay.allowedChanges.has(h.change)
  // Registered before any change runs, so hooks of a change that ran before a failure hear of it. In replay
  // without allowed changes no after-transaction hook can run: nothing to register.
  run.pending = { hooks: internals.afterTransactionHooks, keep: run.keep, outcome: undefined }
  if (!replay || replay.allowedChanges.size > 0) env.scope?.afterTransaction.push(run.pending)
}

/** Hooks that run before the transaction opens (for a nested action or an update: inside its transaction). */
export function beforeTransactionHooks(run: ActionRun, env: StepEnv): Promise<void> | undefined {
  const hooks = run.internals.beforeTransactionHooks
  return hooks.length === 0 ? undefined : runHooks(run, hooks, env)
}

/** Runs the hooks that are kept (in replay, those of allowed changes), one after the other. */
export async function runHooks(
  run: ActionRun,
  hooks: readonly Registered<(ctx: HookContext) => void | Promise<void>>[],
  env: StepEnv,
): Promise<void> {
  for (const h of hooks) if (run.keep(h)) await h.fn(env.hooks())
}

/** A record's events are keyed by its id: an update that set a new one would split its history in two. */
export function guardPrimaryKey(run: ActionRun): void {
  const { resource, values } = run
  if (run.actionType === 'create' || !values.has(resource.primaryKey)) return
  if (!sameJson(values.get(resource.primaryKey), run.id ?? null)) {
    throw validationError(run, [
      { path: [resource.primaryKey], message: 'is the primary key; an update cannot change it' },
    ])
  }
}
