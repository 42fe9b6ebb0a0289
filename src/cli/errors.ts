import { isRewindError } from '../errors/rewind-error.js'

/** Exit codes scripts can rely on. */
export const EXIT = {
  /** The command did what was asked (and found nothing wrong). */
  OK: 0,
  /**
   * It ran and failed, found differences, or the user declined; also when the record or event it was asked
   * about does not exist (a well-formed id the log does not hold is an answer, not a mistake in the call).
   */
  FAILURE: 1,
  /** It was called wrongly: unknown command, option or resource, a malformed value or id. */
  USAGE: 2,
} as const

/** A mistake in how the CLI was called: exit code 2 and one line that says what to do instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** True for a usage error, even from another copy of this module (a config loaded through tsx). */
export function isUsageError(error: unknown): error is UsageError {
  return error instanceof Error && error.name === 'UsageError'
}

/** PostgreSQL's "undefined table": the tables were never created. */
const UNDEFINED_TABLE = '42P01'

/** One line that says what went wrong: the error's code, its first line, and a hint where we know one. */
export function errorLine(error: unknown): string {
  if (isRewindError(error)) {
    const hint =
      sqlStateOf(error) === UNDEFINED_TABLE
        ? ' (create the tables with `rewind schema --apply`, or your migrations)'
        : ''
    return `${error.code}: ${firstLine(error.message)}${hint}`
  }
  if (error instanceof Error) {
    const hint =
      sqlStateOf(error) === UNDEFINED_TABLE ? ' (create the tables with `rewind schema --apply`)' : ''
    return `${firstLine(messageOf(error))}${hint}`
  }
  return String(error)
}

/** The stack, followed by the stacks of its causes, for `--verbose`. */
export function errorDetails(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(depth === 0 ? stackOf(current) : `caused by: ${stackOf(current)}`)
    current = current instanceof Error ? current.cause : undefined
  }
  return parts.join('\n')
}

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? messageOf(error)) : String(error)
}

/** Node's connection errors are AggregateErrors with an empty message; their parts say what failed. */
function messageOf(error: Error): string {
  if (error.message) return error.message
  if (error instanceof AggregateError && error.errors.length) {
    return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ')
  }
  return (error as { code?: string }).code ?? error.name
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim()
}

function sqlStateOf(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { sqlState?: unknown; code?: unknown; cause?: unknown }
    if (typeof e.sqlState === 'string') return e.sqlState
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code
    current = e.cause
  }
  return undefined
}
