import { parseArgs } from 'node:util'
import { parseTimestamp } from '../data/pg-text.js'
import { recordIdText } from '../events/event.js'
import type { AnyResource } from '../resource/define-resource.js'
import { parseRecordId } from '../runtime/record-id.js'

export { resourceNames } from '../runtime/resource-names.js'

import type { AnyRewind } from './config.js'
import { UsageError } from './errors.js'
import { unknownNameMessage } from './suggest.js'

/** One option of a command: how it parses and how `--help` shows it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  readonly multiple?: boolean
  /** The placeholder in help, for example `TIME`. */
  readonly value?: string
  readonly description: string
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

/** The parsed value of one option: absent when not given. */
export type OptionValue<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['multiple'] extends true
    ? string[]
    : string

export type OptionValues<O extends OptionSpecs> = { readonly [K in keyof O]?: OptionValue<O[K]> }

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  config: {
    type: 'string',
    value: 'PATH',
    description: 'the configuration file (default: ./rewind.config.ts)',
  },
  verbose: { type: 'boolean', description: 'print the stack of an error' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs

/** `--json`: output for scripts. */
export const JSON_OPTION = {
  json: { type: 'boolean', description: 'print JSON (one object per line for lists) instead of a table' },
} as const satisfies OptionSpecs

/** `--reveal`: sensitive values are masked unless asked for. */
export const REVEAL_OPTION = {
  reveal: {
    type: 'boolean',
    description:
      'print sensitive values (decrypted when the key is configured) instead of ••• (in --json, {"$masked":true})',
  },
} as const satisfies OptionSpecs

/** The filters of `rewind events`, one per field of the API's EventFilter. */
export const EVENT_FILTER_OPTIONS = {
  resource: { type: 'string', value: 'NAME', description: 'events of this resource' },
  record: { type: 'string', value: 'ID', description: 'events of this record id' },
  action: { type: 'string', value: 'NAME', description: 'events of this action' },
  actor: {
    type: 'string',
    multiple: true,
    value: 'COLUMN=VALUE',
    description: 'events by this actor, for example userId=… (repeatable)',
  },
  tenant: { type: 'string', value: 'TENANT', description: 'events of this tenant' },
  from: { type: 'string', value: 'TIME', description: 'events that occurred at or after this time' },
  to: { type: 'string', value: 'TIME', description: 'events that occurred at or before this time' },
  'after-position': { type: 'string', value: 'N', description: 'events after this position (the cursor)' },
  'until-position': { type: 'string', value: 'N', description: 'events up to and including this position' },
} as const satisfies OptionSpecs

/** parseArgs with the command's options and the global ones; node's messages reworded as usage errors. */
export function parseCommandArgs<O extends OptionSpecs>(
  argv: readonly string[],
  options: O,
  command: string,
): { values: OptionValues<O & typeof GLOBAL_OPTIONS>; positionals: string[] } {
  const all: OptionSpecs = { ...GLOBAL_OPTIONS, ...options }
  const config = Object.fromEntries(
    Object.entries(all).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.multiple ? { multiple: true } : {}),
      },
    ]),
  )
  try {
    const { values, positionals } = parseArgs({
      args: negativeNumbersAsValues(argv, all),
      options: config,
      allowPositionals: true,
      strict: true,
    })
    return { values: values as OptionValues<O & typeof GLOBAL_OPTIONS>, positionals }
  } catch (error) {
    throw new UsageError(parseArgsMessage(error as Error & { code?: string }, command))
  }
}

/**
 * node's parseArgs reads `--limit -3` as an option missing its value followed by an option `-3`. A negative
 * number after an option that takes a value is that value: it becomes `--limit=-3`, so the option's own
 * check says what is wrong with it. Anything else that starts with a dash stays an option (an unknown one
 * is still an error), and nothing after `--` is touched.
 */
function negativeNumbersAsValues(argv: readonly string[], specs: OptionSpecs): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      out.push(...argv.slice(i))
      break
    }
    const name = arg.startsWith('--')
      ? arg.slice(2)
      : /^-[^-]$/.test(arg)
        ? Object.keys(specs).find((n) => specs[n]!.short === arg.slice(1))
        : undefined
    const next = argv[i + 1]
    const takesValue = name !== undefined && Object.hasOwn(specs, name) && specs[name]!.type === 'string'
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`)
      i++
    } else out.push(arg)
  }
  return out
}

/**
 * Splits off the global options given before the command (`rewind --config x.ts --verbose events`, as in
 * drizzle-kit): they are parsed with the command's own, wherever they stand. Returns them with the index of
 * the first argument that is not one of them (the command, `--help`, or an unknown option). `--help` is
 * left to the caller: before the command it asks for the main help.
 */
export function leadingGlobalOptions(argv: readonly string[]): { options: string[]; next: number } {
  const globals: OptionSpecs = GLOBAL_OPTIONS
  const options: string[] = []
  let i = 0
  for (; i < argv.length; i++) {
    const arg = argv[i]!
    const [, name, inline] = /^--([^=]+)(=.*)?$/.exec(arg) ?? []
    const spec =
      name !== undefined && name !== 'help' && Object.hasOwn(globals, name) ? globals[name] : undefined
    if (!spec) break
    if (spec.type === 'boolean' || inline !== undefined) {
      options.push(arg)
      continue
    }
    const value = argv[i + 1]
    // As after the command: a value that looks like an option (not a negative number) is a forgotten value.
    if (value === undefined || (value.startsWith('-') && !/^-\d/.test(value))) {
      throw new UsageError(`option --${name} needs a value (see \`rewind --help\`)`)
    }
    // One argument, so the value cannot be read as an option or the command wherever it ends up.
    options.push(`--${name}=${value}`)
    i++
  }
  return { options, next: i }
}

function parseArgsMessage(error: Error & { code?: string }, command: string): string {
  const quoted = /'(-[^' ]+)/.exec(error.message)?.[1]
  const see = `(see \`rewind ${command} --help\`)`
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''} for \`rewind ${command}\` ${see}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|ambiguous/.test(error.message)
        ? `option ${quoted ?? ''} needs a value ${see}`
        : `option ${quoted ?? ''} takes no value ${see}`
    default:
      return `${error.message.replace(/\. To specify a positional argument[\s\S]*$/, '')} ${see}`
  }
}

/**
 * A time as typed on the command line: ISO 8601 (`2026-01-31`, `2026-01-31T12:00:00Z`, `2026-01-31 12:00:00.123456`,
 * with an offset or not: no offset means UTC). Returned as text, so microseconds survive.
 */
export function parseTime(option: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const trimmed = text.trim()
  const candidate = /^\d{4,6}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00` : trimmed
  const parsed = parseTimestamp(candidate)
  if (parsed?.rounded) {
    throw new UsageError(
      `invalid ${option} "${text}": more than 6 fractional digits; the log keeps microseconds, so it would be rounded`,
    )
  }
  if (!parsed) {
    throw new UsageError(
      `invalid ${option} "${text}": expected an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z (UTC unless an offset is given)`,
    )
  }
  return parsed.hasZone ? candidate : `${candidate}Z`
}

/** Microseconds since the epoch of a time {@link parseTime} accepted, or of an event's `occurredAt`. */
export function timeMicros(text: string): bigint {
  return parseTimestamp(text)!.micros
}

/** A whole number option. */
export function parseWhole(
  option: string,
  text: string | undefined,
  range: { min?: number; max?: number } = {},
) {
  if (text === undefined) return undefined
  const min = range.min ?? 0
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    const bounds = range.max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`
    throw new UsageError(`invalid ${option} "${text}": expected a whole number ${bounds}`)
  }
  return n
}

/** `column=value` pairs of `--actor`. */
export function parseActors(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined
  const actor: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0)
      throw new UsageError(`invalid --actor "${pair}": expected COLUMN=VALUE, for example userId=…`)
    actor[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return actor
}

/** The app's resource of that name, or a usage error that lists them (and suggests the closest). */
export function resolveResource(rewind: AnyRewind, name: string): AnyResource {
  const resource = rewind.resources.get(name)
  if (!resource) throw new UsageError(unknownNameMessage('resource', name, [...rewind.resources.keys()]))
  return resource
}

/** A record id as typed, as the primary key's app value (a number or bigint for integer keys), or a usage error. */
export function resolveRecordId(resource: AnyResource, text: string): unknown {
  const parsed = parseRecordId(resource, text)
  if (!parsed.ok) throw new UsageError(`invalid ${resource.name} id "${text}": ${parsed.message}`)
  return parsed.id
}

/** The text of a record id as the log stores it. */
export function recordIdOf(resource: AnyResource, id: unknown): string {
  const cast = resource.codecs.get(resource.primaryKey)!.fromApp(id)
  return cast.ok ? recordIdText(cast.value) : String(id)
}

/** An event id as typed: a number for the default bigint ids, text for uuidv7 ids. */
export function parseEventId(option: string, text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text)
  if (/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(text)) return text
  throw new UsageError(
    `invalid ${option} "${text}": expected an event id (the ID column of \`rewind events\`)`,
  )
}
