import type { ExecOptions } from '../actions/action-run.js'
import { RewindError } from '../errors/rewind-error.js'
import type { CallOptions } from '../resource/changeset.js'
import type {
  ActionInput,
  ActionKindOf,
  ActionName,
  AnyResource,
  InferRecord,
} from '../resource/define-resource.js'

/** Options of one action call. */
export interface RunOptions extends CallOptions {
  /** Who acts: passed to policies, changes and the event's actor columns. */
  readonly actor?: unknown
  /** The tenant (required by multitenant resources). */
  readonly tenant?: unknown
  /** Free context for changes and hooks. */
  readonly context?: Readonly<Record<string, unknown>>
  /**
   * Stored with the action's event (for example a request id): JSON, with Dates anywhere inside stored as ISO
   * 8601 strings. Not inherited by nested actions.
   */
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Set false to skip policies (for trusted system code). */
  readonly authorize?: boolean
}

/** Which record an update or destroy acts on. */
export type Target<R extends AnyResource> =
  | { readonly id: InferRecord<R>[R['primaryKey']]; readonly record?: never }
  | { readonly record: InferRecord<R>; readonly id?: never }

export type OptionsArg<R extends AnyResource, N extends ActionName<R>> =
  ActionKindOf<R, N> extends 'update' | 'destroy' ? [options: RunOptions & Target<R>] : [options?: RunOptions]

export type InputArg<R extends AnyResource, N extends ActionName<R>> =
  {} extends ActionInput<R, N> ? [input?: ActionInput<R, N>] : [input: ActionInput<R, N>]

const OPTION_KEYS = new Set(['actor', 'tenant', 'context', 'metadata', 'authorize', 'id', 'record'])

/** Options come from callers: reject unknown keys (a typo such as `tennant` must not silently drop scoping). */
export function sanitizeOptions(options: unknown): ExecOptions {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new RewindError(
      'VALIDATION',
      `expected the options to be an object, got ${Array.isArray(options) ? 'an array' : typeof options}`,
    )
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new RewindError(
        'VALIDATION',
        `unknown option "${key}": expected ${[...OPTION_KEYS].join(', ')}`,
        {
          issues: [{ path: [key], message: 'is not an option' }],
        },
      )
    }
  }
  const o = options as ExecOptions
  for (const key of ['context', 'metadata'] as const) {
    const v = o[key]
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new RewindError(
        'VALIDATION',
        `expected the ${key} option to be an object, got ${Array.isArray(v) ? 'an array' : typeof v}`,
        {
          issues: [{ path: [key], message: 'must be an object' }],
        },
      )
    }
  }
  return o
}
