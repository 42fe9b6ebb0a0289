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

function columnKey(resource: AnyResource, columnName: string | undefined): string | undefined {
  if (!columnName) return undefined
  for (const codec of resource.codecs.values()) if (codec.name === columnName) return codec.key
  return columnName
}

/**
 * Turns an error thrown while an action ran into a {@link RewindError}: database errors keep their SQLSTATE
 * (unique violations become `CONFLICT`, bad values `VALIDATION`); errors of the app's own code keep their
 * original as `cause`.
 */
export function toRewindError(error: unknown, resource: AnyResource, action: string): RewindError {
  if (isRewindError(error)) return error
  const e = (error ?? {}) as PgErrorLike
  const where = `${resource.name}.${action}`
  const code = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined
  if (code === '23505') {
    const detail = e.detail ? ` (${e.detail})` : ''
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
    return new RewindError('VALIDATION', `${where}: ${INPUT_STATES[code]}: ${e.message ?? ''}`.trim(), {
      cause: error,
      resource: resource.name,
      action,
      sqlState: code,
      issues: [{ path: key ? [key] : [], message: e.message ?? INPUT_STATES[code]! }],
      details: { constraint: e.constraint },
    })
  }
  if (code) {
    return new RewindError('DATABASE', `${where}: the database failed: ${e.message ?? code}`, {
      cause: error,
      resource: resource.name,
      action,
      sqlState: code,
    })
  }
  const message = error instanceof Error ? error.message : String(error)
  const connection = /terminat|connection|ECONNRESET|EPIPE|closed/i.test(message)
  return new RewindError(
    connection ? 'DATABASE' : 'INTERNAL',
    `${where}: ${connection ? 'the database connection failed' : 'the action failed'}: ${message}`,
    {
      cause: error,
      resource: resource.name,
      action,
    },
  )
}
