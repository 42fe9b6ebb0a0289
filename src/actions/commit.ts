import type { Json } from '../columns/values.js'
import { RewindError } from '../errors/rewind-error.js'
import { captureEvent } from '../events/capture.js'
import { appRecord } from '../rows/records.js'
import type { FollowingWrite, RowStore } from '../rows/row-store.js'
import { notFound, stale } from './action-errors.js'
import { type ActionRun, captureInput } from './action-run.js'
import { eventWithRow } from './event-with-row.js'
import { runHooks } from './prepare.js'
import type { StepEnv } from './step.js'

/** The steps inside the transaction: hooks around the write, the write through the row store, the event. */

/** Hooks that run just before the row is written. */
export function beforeActionHooks(run: ActionRun, env: StepEnv): Promise<void> | undefined {
  const hooks = run.internals.beforeActionHooks
  return hooks.length === 0 ? undefined : runHooks(run, hooks, env)
}

/**
 * Writes the row through the store and keeps the images the event is captured from; when it can, the event
 * goes in the same statement (see event-with-row.ts) and `recordEvent` has nothing left to do. Not an async
 * function: an insert's, update's or delete's promise is its statement's, with what the answer sets on the run.
 */
export function writeRow(run: ActionRun, env: StepEnv): Promise<void> {
  if (run.write === 'upsert') return upsertRow(run, env.store!)
  const follow = eventWithRow(run, env)
  return follow instanceof Promise
    ? follow.then((f) => writeWith(run, env.store!, f))
    : writeWith(run, env.store!, follow)
}

/** An insert, update or delete, with the event in its statement when `follow` is given. */
function writeWith(run: ActionRun, store: RowStore, follow: FollowingWrite | undefined): Promise<void> {
  run.recorded = follow !== undefined
  const { resource, values, tenant } = run
  const id = run.id!
  switch (run.write) {
    case 'insert':
      return store.insert(resource, values, follow).then((after) => {
        run.after = after
      })
    case 'delete':
      return store.delete(resource, id, tenant, follow).then((before) => {
        if (!before) {
          if (run.options.record !== undefined || run.loaded !== undefined)
            throw stale(run, id, `the record ${JSON.stringify(id)} no longer exists; nothing was destroyed`)
          throw notFound(run, id)
        }
        run.before = before
      })
    default: {
      const expected = expectedLock(run)
      // Only the values set are written; the event's diff uses the row as it was locked.
      return store.update(resource, id, tenant, values, expected, follow).then((written) => {
        if (!written) return updateMissed(run, store, expected)
        run.before = written.before
        run.after = written.after
        return undefined
      })
    }
  }
}

/** The value the optimistic lock's column must still hold for an update to write (not in replay). */
function expectedLock(run: ActionRun): { key: string; value: Json } | undefined {
  const { def, options, resource, loaded } = run
  if (!def.optimisticLock || run.replay) return undefined
  const source = options.record ? options.record[def.optimisticLock] : undefined
  const value = source !== undefined ? resource.codecs.get(def.optimisticLock)!.fromApp(source) : undefined
  return {
    key: def.optimisticLock,
    value: value?.ok ? value.value : (loaded?.get(def.optimisticLock) ?? null),
  }
}

/** An update that wrote no row: the record changed since it was read, is gone, or never was. */
async function updateMissed(
  run: ActionRun,
  store: RowStore,
  expected: { key: string; value: Json } | undefined,
): Promise<never> {
  const id = run.id!
  if (expected && (await store.load(run.resource, id, run.tenant, false))) {
    throw stale(
      run,
      id,
      `the record changed since it was read (${expected.key} expected ${JSON.stringify(expected.value)}); reload it and retry`,
    )
  }
  if (run.options.record !== undefined || run.loaded !== undefined)
    throw stale(run, id, `the record ${JSON.stringify(id)} no longer exists`)
  throw notFound(run, id)
}

/** An upsert: its row is looked up (and locked) first, so its event records what really changed. */
async function upsertRow(run: ActionRun, store: RowStore): Promise<void> {
  const { resource, action, def, values, tenant } = run
  run.recorded = false
  const upsert = def.upsert!
  const update = new Set<string>(upsert.update)
  for (const key of resource.appOnUpdate.keys()) update.add(key)
  // The update column of timestamps(), and the configured update timestamp, move on the update path too.
  for (const key of run.internals.alsoOnUpdate ?? []) update.add(key)
  const updateTs = resource.events.updateTimestamp
  if (updateTs && values.has(updateTs)) update.add(updateTs)
  const target = resource.identities[upsert.identity]!
  const written = await store.upsert(resource, values, {
    identity: target,
    update: [...update].filter((k) => values.has(k)),
    tenant,
  })
  if (!written) {
    throw new RewindError(
      'CONFLICT',
      `${resource.name}.${action}: a record with the same ${upsert.identity} (${target.join(', ')}) already exists`,
      { resource: resource.name, action, details: { identity: upsert.identity } },
    )
  }
  run.before = written.before
  run.after = written.after
}

/**
 * The action's event, in the same transaction (not in replay, nor for actions the log does not track), unless
 * the row's statement carried it. An observer that wants it sees it as stored, on the same client, before the
 * after-action hooks (such an event never goes with its row: see event-with-row.ts).
 */
export function recordEvent(run: ActionRun, env: StepEnv): Promise<void> | undefined {
  const { resource, action } = run
  const log = env.log
  if (run.replay || !log || !log.tracks(resource, action)) return undefined
  const scope = env.scope
  // The transaction counts its events (see observers.ts), this one too when its row's statement carried it.
  if (scope) scope.events++
  if (run.recorded) return undefined
  const event = captureEvent(captureInput(run, { before: run.before, after: run.after }))
  const client = scope!.client
  const observer = env.observer
  if (!observer?.wants(resource, action)) return log.record(client, event)
  return log.recordReturning(client, event).then((stored) => observer.recorded(client, stored))
}

/** Hooks that run after the write and its event; the record as the app sees it is the action's result. */
export function afterActionHooks(run: ActionRun, env: StepEnv): Promise<void> | undefined {
  // In replay the result is thrown away unless a hook of an allowed change reads it.
  if (run.replay && run.replay.allowedChanges.size === 0) {
    run.pending!.outcome = { ok: true, record: undefined }
    return undefined
  }
  const result = appRecord(run.resource, run.after ?? run.before!)
  run.result = result
  const hooks = run.internals.afterActionHooks
  if (hooks.length === 0) {
    run.pending!.outcome = { ok: true, record: result }
    return undefined
  }
  return (async () => {
    for (const h of hooks) if (run.keep(h)) await h.fn(result as never, env.hooks())
    run.pending!.outcome = { ok: true, record: result }
  })()
}
