import type { StandardSchemaV1 } from '@standard-schema/spec'
import { castMessage } from '../columns/messages.js'
import type { Json } from '../columns/values.js'
import { type Issue, RewindError } from '../errors/rewind-error.js'
import type { ActionDefinition } from '../resource/action.js'
import { ExactValue } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'

/** The caller's input, split and checked: accepted columns (app values and their canonical casts) and arguments. */
export interface ParsedInput {
  /** Accepted columns the caller passed, as app values. */
  readonly attributes: Map<string, unknown>
  /** The same, cast to canonical values (what the event's `data` records). */
  readonly castAttributes: Map<string, Json>
  /** Parsed arguments (schema outputs, defaults applied). */
  readonly args: Record<string, unknown>
  /** Argument inputs as passed (before the schema's transforms), for the event's `data`. */
  readonly argInputs: Readonly<Record<string, unknown>>
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const shapes = new WeakMap<
  ActionDefinition,
  { accepted: ReadonlySet<string>; argNames: ReadonlySet<string> }
>()

/** An action's accepted columns and argument names as sets, built once per definition. */
export function inputShape(def: ActionDefinition): {
  readonly accepted: ReadonlySet<string>
  readonly argNames: ReadonlySet<string>
} {
  let shape = shapes.get(def)
  if (!shape) {
    shape = { accepted: new Set(def.accept), argNames: new Set(Object.keys(def.arguments)) }
    shapes.set(def, shape)
  }
  return shape
}

/**
 * Checks an action's input: a plain object whose keys are accepted columns or declared arguments, with
 * values that fit their columns and schemas. Fails with one `VALIDATION` error listing every issue.
 */
export function parseInput(
  resource: AnyResource,
  actionName: string,
  def: ActionDefinition,
  input: unknown,
  /** Replay passes recorded canonical values as {@link ExactValue}s, which skip the app-value cast. */
  allowExact = false,
): ParsedInput | Promise<ParsedInput> {
  const issues: Issue[] = []
  const attributes = new Map<string, unknown>()
  const castAttributes = new Map<string, Json>()
  if (input === undefined || input === null) input = {}
  if (!isPlainObject(input)) {
    issues.push({
      path: [],
      message: `expected an object of inputs, got ${Array.isArray(input) ? 'an array' : typeof input}`,
    })
    throw invalidInput(resource, actionName, issues)
  }
  const { accepted, argNames } = inputShape(def)
  // Arguments are collected only by actions that declare some (most declare none: nothing to allocate).
  const argInputs: Record<string, unknown> | undefined = argNames.size > 0 ? Object.create(null) : undefined
  // Own keys only, including a literal "__proto__" key from JSON.parse: it is treated as an unknown key.
  for (const key of Object.keys(input)) {
    const value = input[key]
    if (accepted.has(key)) {
      if (value === undefined) continue
      if (allowExact && value instanceof ExactValue) {
        attributes.set(key, value)
        castAttributes.set(key, value.value)
        continue
      }
      const codec = resource.codecs.get(key)!
      const cast = codec.fromApp(value)
      if (!cast.ok) issues.push({ path: [key], message: castMessage(cast, resource.sensitive.has(key)) })
      else {
        attributes.set(key, value)
        castAttributes.set(key, cast.value)
      }
    } else if (argInputs !== undefined && argNames.has(key)) {
      argInputs[key] = value
    } else if (!def.ignoreUnknownInputs) {
      const expected = [...accepted, ...argNames]
      issues.push({
        path: [key],
        message: `unknown input "${key}": ${resource.name}.${actionName} accepts ${expected.length ? expected.map((k) => `"${k}"`).join(', ') : 'no input'}`,
      })
    }
  }
  if (argInputs === undefined) {
    if (issues.length > 0) throw invalidInput(resource, actionName, issues)
    return { attributes, castAttributes, args: {}, argInputs: NO_ARGUMENTS }
  }
  // Schemas are validated synchronously when they can be (most are): no promise, no extra turn.
  const results: (StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>)[] = []
  let async = false
  for (const name of argNames) {
    const result = (def.arguments[name] as StandardSchemaV1)['~standard'].validate(argInputs[name])
    if (result instanceof Promise) async = true
    results.push(result)
  }
  const finish = (settled: readonly StandardSchemaV1.Result<unknown>[]): ParsedInput => {
    const args: Record<string, unknown> = {}
    let i = 0
    for (const name of argNames) {
      const result = settled[i++]!
      if (result.issues) {
        const sensitive = resource.sensitive.has(name)
        for (const issue of result.issues) {
          const sub = (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p)) as (
            | string
            | number
          )[]
          issues.push({
            path: [name, ...sub.map((p) => (typeof p === 'symbol' ? String(p) : p))],
            message: sensitive ? sensitiveIssueMessage(issue) : issue.message,
          })
        }
      } else {
        args[name] = result.value
      }
    }
    if (issues.length > 0) throw invalidInput(resource, actionName, issues)
    // argInputs has no prototype (a "__proto__" key stays a key); the copy given out is a plain object.
    return { attributes, castAttributes, args, argInputs: { ...argInputs } }
  }
  return async ? Promise.all(results).then(finish) : finish(results as StandardSchemaV1.Result<unknown>[])
}

/**
 * The accepted columns of an input cast to canonical values, in the input's order, as {@link parseInput} casts
 * them, for an action with no arguments (the compiled write, actions/compiled-write.ts): the same checks, with no
 * list of issues. Undefined for any input parseInput would refuse, whose error it then gives.
 */
export function castColumns(
  resource: AnyResource,
  def: ActionDefinition,
  input: unknown,
): Map<string, Json> | undefined {
  if (input === undefined || input === null) input = {}
  if (!isPlainObject(input)) return undefined
  const { accepted } = inputShape(def)
  const values = new Map<string, Json>()
  for (const key of Object.keys(input)) {
    const value = input[key]
    if (accepted.has(key)) {
      if (value === undefined) continue
      const cast = resource.codecs.get(key)!.fromApp(value)
      if (!cast.ok) return undefined
      values.set(key, cast.value)
    } else if (!def.ignoreUnknownInputs) return undefined
  }
  return values
}

/** The argument inputs of an action that declares no arguments: one frozen empty object for all. */
const NO_ARGUMENTS: Readonly<Record<string, unknown>> = Object.freeze({})

/** The action's input failed its checks: one `VALIDATION` error listing every issue. */
function invalidInput(resource: AnyResource, actionName: string, issues: Issue[]): RewindError {
  return new RewindError(
    'VALIDATION',
    `${resource.name}.${actionName}: invalid input: ${issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`,
    { resource: resource.name, action: actionName, issues },
  )
}

/**
 * The message of a schema issue about a sensitive argument. A schema's own message may quote the value: zod 4's
 * built-in messages name types and bounds only, but valibot's say `Expected string but received 987654321`, and
 * an app's custom message can say anything. So for a sensitive argument the schema's message is never passed
 * on, whatever the library: only the expected type or bound, when the issue carries it as `expected` (zod and
 * valibot do), which describes the schema, not the value.
 */
function sensitiveIssueMessage(issue: StandardSchemaV1.Issue): string {
  const expected = (issue as { expected?: unknown }).expected
  return typeof expected === 'string' && expected.length > 0 && expected.length <= 80
    ? `is invalid: expected ${expected} (the schema's message is withheld: the argument is sensitive)`
    : "is invalid (the schema's message is withheld: the argument is sensitive)"
}
