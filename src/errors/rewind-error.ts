/** The codes a {@link RewindError} can carry. Scripts and HTTP layers branch on these, never on messages. */
export type RewindErrorCode =
  | 'VALIDATION'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'STALE'
  | 'INVALID_DEFINITION'
  | 'TENANT_REQUIRED'
  | 'DATABASE'
  | 'REPLAY'
  /** The message broker (NATS) could not be reached, or stopped answering. */
  | 'BROKER'
  | 'INTERNAL'

/** One problem with the input of an action: where it is and what is wrong. */
export interface Issue {
  /** Path into the input, for example `['email']` or `['address', 'zip']`. Empty for the whole input. */
  readonly path: readonly (string | number)[]
  readonly message: string
}

export interface RewindErrorOptions {
  readonly cause?: unknown
  readonly resource?: string | undefined
  readonly action?: string | undefined
  readonly issues?: readonly Issue[] | undefined
  /** The PostgreSQL SQLSTATE of a database error, kept as the database reported it. */
  readonly sqlState?: string | undefined
  /** Extra facts a caller may branch on; see {@link RewindError.details}. */
  readonly details?: Readonly<Record<string, unknown>> | undefined
}

const BRAND = Symbol.for('rewind.error')

/**
 * The one error class Rewind throws. `code` says what kind of failure it is; `resource` and `action` say
 * where; `issues` lists validation problems with their paths; `cause` keeps the original error.
 *
 * ```ts
 * try { await rewind.run(User, 'create', input) }
 * catch (e) { if (isRewindError(e, 'VALIDATION')) console.log(e.issues) }
 * ```
 */
export class RewindError extends Error {
  override readonly name = 'RewindError'
  readonly code: RewindErrorCode
  readonly resource: string | undefined
  readonly action: string | undefined
  readonly issues: readonly Issue[]
  readonly sqlState: string | undefined
  /**
   * Extra facts a caller may branch on, by code (never a sensitive value):
   * - `NOT_FOUND`, `STALE`: `id`, the record's id (canonical), or `eventId` for an unknown event;
   * - `CONFLICT`: `constraint`, the unique constraint that was violated (or `identity` for an upsert that met
   *   another tenant's record);
   * - `VALIDATION` from the database: `constraint`;
   * - `REPLAY`: `eventId` and `position` of the event that failed;
   * - `DATABASE` for a lost or refused connection: `connection: true`;
   * - `INTERNAL` from an after-transaction hook: `committed: true` (the action itself did commit).
   * Empty when there is nothing more to say.
   */
  readonly details: Readonly<Record<string, unknown>>
  readonly [BRAND] = true

  constructor(code: RewindErrorCode, message: string, options: RewindErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.resource = options.resource
    this.action = options.action
    this.issues = options.issues ?? []
    this.sqlState = options.sqlState
    this.details = options.details ?? {}
  }
}

/** True for a {@link RewindError} (even from another copy of the package), optionally of one code. */
export function isRewindError(value: unknown, code?: RewindErrorCode): value is RewindError {
  if (typeof value !== 'object' || value === null || !(BRAND in value)) return false
  return code === undefined || (value as RewindError).code === code
}

/** Maps each code to the HTTP status a web layer should answer with. */
export const HTTP_STATUS: Readonly<Record<RewindErrorCode, number>> = {
  VALIDATION: 422,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  STALE: 409,
  INVALID_DEFINITION: 500,
  TENANT_REQUIRED: 400,
  DATABASE: 500,
  REPLAY: 500,
  BROKER: 503,
  INTERNAL: 500,
}

/** A definition mistake, thrown when the resource or the app is defined. */
export function definitionError(message: string, resource?: string, action?: string): RewindError {
  return new RewindError('INVALID_DEFINITION', message, { resource, action })
}
