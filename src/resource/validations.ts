import type { ValidationObject } from './action.js'
import type { Changeset } from './changeset.js'

/** Options every built-in validation takes. */
export interface ValidationOptions {
  /** Replaces the default message; it reaches the caller unchanged. */
  readonly message?: string
  /** Runs the validation only when this returns true. */
  readonly where?: (cs: Changeset<any, any>) => boolean
}

/**
 * The value a validation checks: an argument of that name, else the attribute as set so far (the caller's, or
 * the record's); when a change sets it later, value checks run again on that (see ValidationObject.field).
 */
function fieldValue(cs: Changeset<any, any>, field: string): unknown {
  const args = cs.args as Record<string, unknown>
  if (Object.hasOwn(args, field)) return args[field]
  return cs.get(field as never)
}

function builtin(
  name: string,
  field: string,
  options: ValidationOptions,
  check: (value: unknown) => string | undefined,
  /** A check of the value as written (see {@link ValidationObject.field}), not a guard on the current state. */
  checksValue = false,
): ValidationObject<any, any> {
  return {
    name: `${name}:${field}`,
    ...(checksValue ? { field } : {}),
    ...(options.where ? { where: options.where } : {}),
    validate: (cs) => {
      const problem = check(fieldValue(cs, field))
      return problem === undefined ? undefined : { field, message: options.message ?? problem }
    },
  }
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
}

/** The field must have a non-blank value. */
export function present(field: string, options: ValidationOptions = {}): ValidationObject<any, any> {
  return builtin('present', field, options, (v) => (isBlank(v) ? 'must be present' : undefined), true)
}

/**
 * The field's length (string characters or array items) must be within bounds; an absent value (undefined or
 * null) passes (`present` requires one), an empty string or array is length 0.
 */
export function length(
  field: string,
  bounds: { readonly min?: number; readonly max?: number },
  options: ValidationOptions = {},
): ValidationObject<any, any> {
  return builtin(
    'length',
    field,
    options,
    (v) => {
      if (v === undefined || v === null) return undefined
      const n = typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : undefined
      if (n === undefined) return 'must be a string or an array'
      if (bounds.min !== undefined && n < bounds.min) return `must be at least ${bounds.min} long, got ${n}`
      if (bounds.max !== undefined && n > bounds.max) return `must be at most ${bounds.max} long, got ${n}`
      return undefined
    },
    true,
  )
}

/** The field must equal the value. */
export function equals(
  field: string,
  value: unknown,
  options: ValidationOptions = {},
): ValidationObject<any, any> {
  return builtin('equals', field, options, (v) =>
    Object.is(v, value) ? undefined : `must equal ${JSON.stringify(value)}`,
  )
}

/** The field must not equal the value. */
export function notEquals(
  field: string,
  value: unknown,
  options: ValidationOptions = {},
): ValidationObject<any, any> {
  return builtin('notEquals', field, options, (v) =>
    Object.is(v, value) ? `must not equal ${JSON.stringify(value)}` : undefined,
  )
}

/** The field must be one of the values; an absent value (undefined or null) passes. */
export function oneOf(
  field: string,
  values: readonly unknown[],
  options: ValidationOptions = {},
): ValidationObject<any, any> {
  return builtin(
    'oneOf',
    field,
    options,
    (v) =>
      v === undefined || v === null || values.some((x) => Object.is(x, v))
        ? undefined
        : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
    true,
  )
}

/** The field must match the pattern; an absent value (undefined or null) passes. */
export function match(
  field: string,
  pattern: RegExp,
  options: ValidationOptions = {},
): ValidationObject<any, any> {
  return builtin(
    'match',
    field,
    options,
    (v) => {
      if (v === undefined || v === null) return undefined
      if (typeof v !== 'string') return 'must be a string'
      pattern.lastIndex = 0
      return pattern.test(v) ? undefined : `must match ${pattern}`
    },
    true,
  )
}
