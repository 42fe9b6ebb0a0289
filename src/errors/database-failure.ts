import { isRewindError, RewindError } from './rewind-error.js'

/**
 * How Rewind classifies what a database driver throws. A lost or refused connection is `DATABASE` whatever the
 * driver's wording: it is recognised by error code (Node's socket and DNS errno, PostgreSQL's SQLSTATE) or, where
 * a driver throws a bare `Error`, by the state of the pool or instance at the database seam (data/database.ts),
 * never by matching messages, which differ between drivers, versions and server languages.
 */

/** Node's errno codes of a connection that could not be made or was lost (net and dns). */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
])

/**
 * SQLSTATEs of a server that ended or refused the session: admin_shutdown (57P01, `pg_terminate_backend`),
 * crash_shutdown (57P02), cannot_connect_now (57P03, starting up or shutting down). Class 08 (connection
 * exception) is matched as a class.
 */
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03'])

/** PostgreSQL's undefined_table. */
export const UNDEFINED_TABLE = '42P01'

/** Errors chained through `cause` (pg-pool wraps a timeout) or gathered in an AggregateError (Node's connect to several addresses). */
function* chain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>()
  const queue: unknown[] = [error]
  while (queue.length > 0 && seen.size < 16) {
    const e = queue.shift()
    if (e === null || e === undefined || seen.has(e)) continue
    seen.add(e)
    yield e
    if (typeof e !== 'object') continue
    queue.push((e as { cause?: unknown }).cause)
    if (e instanceof AggregateError) queue.push(...e.errors)
  }
}

/** The SQLSTATE a driver error carries (5 characters, at least one digit: never an errno such as `EPIPE`). */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && /\d/.test(code) ? code : undefined
}

/** True when the error says the connection was refused, could not be made, or was lost. */
export function isConnectionFailure(error: unknown): boolean {
  for (const e of chain(error)) {
    if (isRewindError(e)) continue
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (CONNECTION_ERRNOS.has(code) || SESSION_ENDED.has(code)) return true
    if (sqlStateOf(e)?.startsWith('08')) return true
  }
  return false
}

/** The driver's own words, for the message (Node's AggregateError has an empty message; its parts say it). */
function driverText(error: unknown): string {
  if (error instanceof AggregateError && !error.message && error.errors.length > 0) {
    return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ')
  }
  if (error instanceof Error) return error.message || ((error as { code?: string }).code ?? error.name)
  return String(error)
}

/** Errors made at the database seam, without a resource yet: the action pipeline adds its resource and action. */
const seamErrors = new WeakSet<RewindError>()

function seamError(
  message: string,
  cause: unknown,
  sqlState: string | undefined,
  details?: Readonly<Record<string, unknown>>,
): RewindError {
  const error = new RewindError('DATABASE', message, { cause, sqlState, details })
  seamErrors.add(error)
  return error
}

/** A lost or refused connection (see {@link isConnectionFailure}, or a pool or instance the seam knows is closed). */
export function connectionFailure(cause: unknown): RewindError {
  return seamError(`the database connection failed: ${driverText(cause)}`, cause, sqlStateOf(cause), {
    connection: true,
  })
}

/**
 * True when a failure, or one it was caused by, is a lost or refused connection: a driver's error of that kind,
 * or a {@link connectionFailure} (`details.connection`) that already named it.
 */
export function isLostConnection(error: unknown): boolean {
  for (const e of chain(error)) if (isRewindError(e) && e.details.connection === true) return true
  return isConnectionFailure(error)
}

/** One of Rewind's tables does not exist: the schema was never created (an own `db` does not create it by default). */
export function missingTableFailure(cause: unknown, table: string): RewindError {
  return seamError(
    `the table "${table}" does not exist: create it with your migrations, \`rewind schema --apply\`, or createRewind({ createTables: true })`,
    cause,
    UNDEFINED_TABLE,
  )
}

/**
 * The seam's view of a failed statement: a lost connection or a missing table of Rewind's becomes a
 * {@link RewindError}; anything else is returned unchanged, for the caller to map (an action knows its
 * resource, which a unique violation's message needs).
 */
export function classifyAtSeam(
  error: unknown,
  options: { readonly closed: boolean; readonly tables: ReadonlySet<string> },
): unknown {
  if (isRewindError(error)) return error
  if (options.closed || isConnectionFailure(error)) return connectionFailure(error)
  if (sqlStateOf(error) === UNDEFINED_TABLE && options.tables.size > 0) {
    const message = error instanceof Error ? error.message : ''
    // The server names the relation in its message, quoted; a translated message that quotes otherwise keeps the raw error.
    for (const table of options.tables) {
      if (message.includes(`"${table}"`)) return missingTableFailure(error, table)
    }
  }
  return error
}

/**
 * Any failure of a database call, as a {@link RewindError} (for reads and maintenance, which have no resource to
 * map a constraint violation to); name where it happened with {@link inContext}. Messages of data exceptions
 * (SQLSTATE class 22) can quote a value that was sent: they are not repeated.
 */
export function databaseFailure(error: unknown): RewindError {
  const classified = classifyAtSeam(error, { closed: false, tables: new Set() })
  if (isRewindError(classified)) return classified
  const sqlState = sqlStateOf(error)
  if (sqlState === undefined) {
    const e = new RewindError('INTERNAL', `the database call failed: ${driverText(error)}`, { cause: error })
    seamErrors.add(e)
    return e
  }
  const text = sqlState.startsWith('22')
    ? `the database refused a value (SQLSTATE ${sqlState})`
    : `the database failed: ${driverText(error)}`
  return seamError(text, error, sqlState)
}

/**
 * A seam error named with where it happened (`User.get`, `Account.register`): a new error with the message
 * prefixed and the resource and action set. Undefined for any other error (already named, or not the seam's).
 */
export function inContext(
  error: unknown,
  where: string,
  resource?: string,
  action?: string,
): RewindError | undefined {
  if (!isRewindError(error) || !seamErrors.has(error)) return undefined
  return new RewindError(error.code, `${where}: ${error.message}`, {
    cause: error.cause,
    resource,
    action,
    sqlState: error.sqlState,
    details: error.details,
  })
}

/** {@link databaseFailure} named with where it happened (`createTables`, `verifyReplay`). */
export function failureIn(error: unknown, where: string): RewindError {
  const failure = databaseFailure(error)
  return inContext(failure, where) ?? failure
}
