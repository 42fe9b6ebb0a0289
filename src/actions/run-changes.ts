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
  // Changes only (the most common action): nothing to validate before or after them.
  if (def.validations.length === 0) return andThen(applyChanges(run, 0), () => failOnErrors(run))
  // Each part returns a promise only when a validation or change did: synchronous ones cost no turn.
  return andThen(validate(run), () => {
    const { cs } = run
    failOnErrors(run)
    const rechecks = run.replay ? [] : valueChecks(run.def.validations)
    const unchanged = rechecks.length > 0 ? new Map(cs.attributes) : undefined
    return andThen(applyChanges(run, 0), () => {
      failOnErrors(run)
      if (!unchanged) return undefined
      // A value a change set meets the rule the caller's would: value checks again on what will be written.
      return andThen(
        validate(run, 0, (v) => setByChanges(v, run, unchanged)),
        () => failOnErrors(run),
      )
    })
  })
}

/** An error a validation or change added to the changeset fails the action with `VALIDATION`. */
function failOnErrors(run: ActionRun): undefined {
  if (run.cs.errors.length > 0) throw validationError(run, run.cs.errors)
  return undefined
}

/** `next` now when `pending` is undefined, else once it resolves. */
function andThen(
  pending: Promise<void> | undefined,
  next: () => Promise<void> | undefined,
): Promise<void> | undefined {
  return pending ? pending.then(next) : next()
}

function changeName(change: unknown, index: number): string {
  const name = (change as { name?: unknown }).name
  return typeof name === 'string' && name.length > 0 ? name : `change#${index}`
}

/** The changes from `from` on, in order; a promise only from the first change that returns one. */
function applyChanges(run: ActionRun, from: number): Promise<void> | undefined {
  const { cs, internals } = run
  const changes = run.def.changes
  for (let index = from; index < changes.length; index++) {
    const change = changes[index]
    const obj: ChangeObject = typeof change === 'function' ? { run: change } : change!
    if (run.replay && obj.skipInReplay) continue
    if (obj.where && !obj.where(cs)) continue
    internals.currentChange = changeName(change, index)
    let ran: unknown
    try {
      ran = obj.run(cs)
    } finally {
      if (!(ran instanceof Promise)) internals.currentChange = undefined
    }
    if (ran instanceof Promise)
      return ran
        .finally(() => {
          internals.currentChange = undefined
        })
        .then(() => applyChanges(run, index + 1))
  }
  return undefined
}

/** The validations from `from` on (those `only` keeps), in order; a promise only from the first that returns one. */
function validate(
  run: ActionRun,
  from = 0,
  only?: (validation: ValidationObject) => boolean,
): Promise<void> | undefined {
  const { cs } = run
  const validations = run.def.validations
  for (let index = from; index < validations.length; index++) {
    const validation = validations[index]
    const obj: ValidationObject = typeof validation === 'function' ? { validate: validation } : validation!
    if (only && !only(obj)) continue
    if (obj.where && !obj.where(cs)) continue
    let validated: ReturnType<ValidationObject['validate']>
    try {
      validated = obj.validate(cs)
    } catch (error) {
      throw validationFailed(run, error)
    }
    if (validated instanceof Promise)
      return validated.then(
        (outcome) => {
          recordOutcome(run, outcome)
          return validate(run, index + 1, only)
        },
        (error: unknown) => {
          throw validationFailed(run, error)
        },
      )
    recordOutcome(run, validated)
  }
  return undefined
}

/** A validation's finding, as an error of the changeset. */
function recordOutcome(run: ActionRun, outcome: Awaited<ReturnType<ValidationObject['validate']>>): void {
  if (outcome === undefined) return
  if (typeof outcome === 'string') run.cs.addError(undefined, outcome)
  else run.cs.addError(outcome.field, outcome.message)
}

/** A validation that threw: its own RewindError, else INTERNAL naming the action. */
function validationFailed(run: ActionRun, error: unknown): RewindError {
  if (isRewindError(error)) return error
  const { resource, action } = run
  return new RewindError(
    'INTERNAL',
    `${resource.name}.${action}: a validation threw: ${(error as Error)?.message}`,
    {
      cause: error,
      resource: resource.name,
      action,
    },
  )
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
