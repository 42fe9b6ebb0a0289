import { inContext, isConnectionFailure, sqlStateOf } from '../errors/database-failure.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'

interface PgErrorLike {
  code?: string
  constraint?: string
  column?: string
  detail?: string
  message?: string
}

const INPUT_STATES: Record<string, string> = {
  '23502': 'a required value is missing',
  '23503': 'it refers to a record that does not exist',
  '23514': 'a check constraint failed',
  '22001': 'a value is too long for its column',
  '22003': 'a number is out of range for its column',
  '22007': 'a date or time is invalid',
  '22008': 'a date or time is out of range',
  '22P02': 'a value has the wrong format for its column',
  '22021': 'a value is not valid UTF-8',
  '22P05': 'a value holds an untranslatable character',
}

/**
 * Data exceptions (class 22) whose messages can quote the value that was sent (`invalid input syntax for type
 * bigint: "..."`, `value "..." is out of range`). 22001 (too long) names the type only.
 */
function messageMayQuoteValue(code: string): boolean {
  return code.startsWith('22') && code !== '22001'
}

/** The database columns of the resource's sensitive keys. */
function sensitiveColumns(resource: AnyResource): string[] {
  const out: string[] = []
  for (const key of resource.sensitive) {
    const codec = resource.codecs.get(key)
    if (codec) out.push(codec.name)
  }
  return out
}

/**
 * A unique violation's detail (`Key (col1, col2)=(v1, v2) already exists.`), without the values when any of
 * the key's columns is sensitive (`Key (ssn) already exists`). A detail of another shape (a server that
 * speaks another language) is left out for a resource with sensitive columns: it might hold a value.
 */
function conflictDetail(resource: AnyResource, detail: string | undefined): string | undefined {
  if (!detail) return undefined
  const sensitive = sensitiveColumns(resource)
  if (sensitive.length === 0) return detail
  const m = /^Key \((.*?)\)=\(/s.exec(detail)
  if (!m) return undefined
  const columns = m[1]!
  // The key's columns as PostgreSQL prints them: names (quoted when they need it) or expressions over them.
  const touches = sensitive.some((name) => {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    return new RegExp(`(^|[^\\w$"])("${escaped}"|${escaped})($|[^\\w$"])`).test(columns)
  })
  return touches ? `Key (${columns}) already exists` : detail
}

function columnKey(resource: AnyResource, columnName: string | undefined): string | undefined {
  if (!columnName) return undefined
  for (const codec of resource.codecs.values()) if (codec.name === columnName) return codec.key
  return columnName
}

/**
 * Turns an error thrown while an action ran into a {@link RewindError}: database errors keep their SQLSTATE
 * (unique violations become `CONFLICT`, bad values `VALIDATION`, a lost connection `DATABASE`, classified as the
 * database seam does: errors/database-failure.ts); errors of the app's own code keep their original as `cause`.
 * No message repeats a value the database quoted when the resource has sensitive fields.
 */
export function toRewindError(error: unknown, resource: AnyResource, action: string): RewindError {
  const where = `${resource.name}.${action}`
  // A lost connection or a missing table, reported by the database seam: name the action it happened in.
  if (isRewindError(error)) return inContext(error, where, resource.name, action) ?? error
  const e = (error ?? {}) as PgErrorLike
  if (isConnectionFailure(error)) {
    return new RewindError('DATABASE', `${where}: the database connection failed: ${e.message ?? e.code}`, {
      cause: error,
      resource: resource.name,
      action,
      sqlState: sqlStateOf(error),
    })
  }
  const code = sqlStateOf(error)
  // Error messages end up in logs: a message that may quote a value is not repeated for a resource with sensitive fields.
  const quiet = code !== undefined && messageMayQuoteValue(code) && resource.sensitive.size > 0
  if (code === '23505') {
    const known = conflictDetail(resource, e.detail)
    const detail = known ? ` (${known})` : ''
    return new RewindError(
      'CONFLICT',
      `${where}: a record with the same unique value already exists${detail}`,
      {
        cause: error,
        resource: resource.name,
        action,
        sqlState: code,
        details: { constraint: e.constraint },
      },
    )
  }
  if (code === '40001' || code === '40P01') {
    return new RewindError(
      'CONFLICT',
      `${where}: the transaction conflicted with a concurrent one; retry it`,
      {
        cause: error,
        resource: resource.name,
        action,
        sqlState: code,
      },
    )
  }
  if (code && INPUT_STATES[code]) {
    const key = columnKey(resource, e.column)
    const said = quiet ? undefined : e.message
    return new RewindError('VALIDATION', `${where}: ${INPUT_STATES[code]}${said ? `: ${said}` : ''}`, {
      cause: error,
      resource: resource.name,
      action,
      sqlState: code,
      issues: [{ path: key ? [key] : [], message: said ?? INPUT_STATES[code]! }],
      details: { constraint: e.constraint },
    })
  }
  if (code) {
    const said = quiet ? `SQLSTATE ${code}` : (e.message ?? code)
    return new RewindError('DATABASE', `${where}: the database failed: ${said}`, {
      cause: error,
      resource: resource.name,
      action,
      sqlState: code,
    })
  }
  // Anything else was thrown by the app's own code (a hook, a change): it keeps its message.
  const message = error instanceof Error ? error.message : String(error)
  return new RewindError('INTERNAL', `${where}: the action failed: ${message}`, {
    cause: error,
    resource: resource.name,
    action,
  })
}
