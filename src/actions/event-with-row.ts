import { planCapture } from '../events/capture-plan.js'
import type { EventLog } from '../events/event-log.js'
import type { FollowingWrite } from '../rows/row-store.js'
import { type ActionRun, captureInput } from './action-run.js'
import type { StepEnv } from './step.js'

/**
 * The action's event as a statement that follows its row write in the same statement (one round trip for
 * both), or undefined when it must be recorded on its own after the write: in replay (no event), for an action
 * the log does not track, an upsert (its row is looked up first), an action whose event an observer must see
 * inside the transaction (engine.needsRecordedEvent; observers.ts), a table with a trigger of its own (it could
 * change the row past what the action wrote), an action that set a value given with `exact()` (the caller's word
 * on its canonical form: the event and the record are captured from the row the database stored), or an event
 * the database cannot complete exactly (see capture-plan.ts and EventLog.following).
 */
export function eventWithRow(
  run: ActionRun,
  env: StepEnv,
): FollowingWrite | undefined | Promise<FollowingWrite | undefined> {
  const { resource, action } = run
  const log = env.log
  if (
    run.replay ||
    run.givenExact ||
    !env.follow ||
    !log ||
    run.write === 'upsert' ||
    !log.tracks(resource, action)
  )
    return undefined
  // An observer of recorded events sees this one inside the transaction, after it is stored on its own.
  if (env.observer?.wants(resource, action)) return undefined
  // Planned once per run: the autocommit path asks before the write, the write asks again.
  if (run.following !== undefined) return run.following ?? undefined
  run.following = null
  // Whether the table has a trigger of its own is asked of the database once; known, it costs no promise.
  const free = env.triggerFree(resource)
  return free instanceof Promise
    ? free.then((f) => planFollowing(run, log, f))
    : planFollowing(run, log, free)
}

function planFollowing(run: ActionRun, log: EventLog, triggerFree: boolean): FollowingWrite | undefined {
  if (!triggerFree) return undefined
  // Never an upsert (eventWithRow returned before).
  const write = run.write as Exclude<ActionRun['write'], 'upsert'>
  const plan = planCapture(captureInput(run, { write, values: run.values, id: run.id }))
  run.following = (plan && log.following(plan)) ?? null
  return run.following ?? undefined
}
