import type { EventLog } from '../events/event-log.js'
import type { HookContext } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { RowStore } from '../rows/row-store.js'
import type { ActionRun } from './action-run.js'
import type { RecordedEventObserver } from './observers.js'
import type { Scope } from './scope.js'

/** What the steps of the pipeline work with besides the run itself. */
export interface StepEnv {
  /** The transaction the action runs in; undefined while a create prepares, before its transaction opens. */
  readonly scope: Scope | undefined
  /** The store the action reads and writes its row through: its transaction's, or a replay batch's. */
  readonly store: RowStore | undefined
  /** The context hooks get (built on first use). */
  hooks(): HookContext
  /** The event log, when the instance has one. */
  readonly log: EventLog | undefined
  /**
   * Whether the write may carry its event in the same statement (see event-with-row.ts): off when a first
   * attempt met a value SQL cannot turn into its exact JSON.
   */
  readonly follow: boolean
  /** Whether the resource's table has no trigger of its own (checked once; a trigger could change what was written). */
  triggerFree(resource: AnyResource): boolean | Promise<boolean>
  /** Sees the events it wants inside the transaction, as stored (see observers.ts). */
  readonly observer: RecordedEventObserver | undefined
}

/** One step of the pipeline: reads what the steps before it set on the run, and sets what it adds. */
export type Step = (run: ActionRun, env: StepEnv) => void | Promise<void>

/**
 * Runs the steps in order. Synchronous steps cost no turn of the event loop, nor a promise: undefined when every
 * step was synchronous, else a promise of the rest from the first step that returned one. A step's throw
 * propagates as it is (the caller is async, so it becomes its rejection).
 */
export function runSteps(
  steps: readonly Step[],
  run: ActionRun,
  env: StepEnv,
  from = 0,
): Promise<void> | undefined {
  for (let i = from; i < steps.length; i++) {
    const pending = steps[i]!(run, env)
    if (pending) return pending.then(() => runSteps(steps, run, env, i + 1))
  }
  return undefined
}
