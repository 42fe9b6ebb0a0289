import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { ChangeObject, ValidationObject } from '../resource/action.js'
import { validationError } from './action-errors.js'
import type { ActionRun } from './action-run.js'

/**
 * Validations check the input and the current record; then the changes run (and may add errors themselves);
 * then a validation of a field's value runs again on what a change set for that field, as it will be written
 * (not in replay). Any error fails the action with `VALIDATION`.
 */
export function validateAndChange(run: ActionRun): Promise<void> | undefined {
  const { def } = run
  // Nothing to run: no promise, no extra turn.
  if (def.validations.length === 0 && def.changes.length === 0) return undefined
  return validateThenChange(run)
}

async function validateThenChange(run: ActionRun): Promise<void> {
  const { cs } = run
  await validate(run)
  if (cs.errors.length > 0) throw validationError(run, cs.errors)
  const rechecks = run.replay ? [] : valueChecks(run.def.validations)
  const unchanged = rechecks.length > 0 ? new Map(cs.attributes) : undefined
  await applyChanges(run)
  if (cs.errors.length > 0) throw validationError(run, cs.errors)
  if (unchanged) {
    // A value a change set meets the rule the caller's would: value checks again on what will be written.
    await validate(run, (v) => setByChanges(v, run, unchanged))
    if (cs.errors.length > 0) throw validationError(run, cs.errors)
  }
}

function changeName(change: unknown, index: number): string {
  const name = (change as { name?: unknown }).name
  return typeof name === 'string' && name.length > 0 ? name : `change#${index}`
}

async function applyChanges(run: ActionRun): Promise<void> {
  const { cs, internals } = run
  let i = 0
  for (const change of run.def.changes) {
    const index = i++
    const obj: ChangeObject = typeof change === 'function' ? { run: change } : change
    if (run.replay && obj.skipInReplay) continue
    if (obj.where && !obj.where(cs)) continue
    internals.currentChange = changeName(change, index)
    try {
      // A change that returns no promise costs no extra turn.
      const ran = obj.run(cs)
      if (ran instanceof Promise) await ran
    } finally {
      internals.currentChange = undefined
    }
  }
}

async function validate(run: ActionRun, only?: (validation: ValidationObject) => boolean): Promise<void> {
  const { cs, resource, action } = run
  for (const validation of run.def.validations) {
    const obj: ValidationObject = typeof validation === 'function' ? { validate: validation } : validation
    if (only && !only(obj)) continue
    if (obj.where && !obj.where(cs)) continue
    let outcome: Awaited<ReturnType<ValidationObject['validate']>>
    try {
      const validated = obj.validate(cs)
      outcome = validated instanceof Promise ? await validated : validated
    } catch (error) {
      if (isRewindError(error)) throw error
      throw new RewindError(
        'INTERNAL',
        `${resource.name}.${action}: a validation threw: ${(error as Error)?.message}`,
        {
          cause: error,
          resource: resource.name,
          action,
        },
      )
    }
    if (outcome === undefined) continue
    if (typeof outcome === 'string') cs.addError(undefined, outcome)
    else cs.addError(outcome.field, outcome.message)
  }
}

/** The validations of an action that check a field's value (see {@link ValidationObject.field}). */
function valueChecks(validations: readonly unknown[]): ValidationObject<any, any>[] {
  return validations.filter(
    (v): v is ValidationObject<any, any> =>
      typeof v === 'object' && v !== null && typeof (v as ValidationObject).field === 'string',
  )
}

/** Whether the changes set the validation's field (its attribute differs from what it was before them). */
function setByChanges(
  validation: ValidationObject<any, any>,
  run: ActionRun,
  before: ReadonlyMap<string, unknown>,
): boolean {
  const field = validation.field
  const attributes = run.cs.attributes
  return field !== undefined && attributes.has(field) && attributes.get(field) !== before.get(field)
}
