import type { Json } from '../columns/values.js'
import { type Issue, RewindError } from '../errors/rewind-error.js'
import type { ActionRun } from './action-run.js'

/** `VALIDATION` listing every issue, each with its path. */
export function validationError(
  run: Pick<ActionRun, 'resource' | 'action'>,
  issues: readonly Issue[],
): RewindError {
  const text = issues.map((i) => (i.path.length ? `${i.path.join('.')} ${i.message}` : i.message)).join('; ')
  return new RewindError('VALIDATION', `${run.resource.name}.${run.action}: ${text}`, {
    resource: run.resource.name,
    action: run.action,
    issues,
  })
}

/** `NOT_FOUND`: no record with this id (in the caller's tenant). */
export function notFound(run: ActionRun, id: Json): RewindError {
  const { resource, action, tenant } = run
  return new RewindError(
    'NOT_FOUND',
    `${resource.name}.${action}: no ${resource.name} with id ${JSON.stringify(id)}${tenant !== undefined ? ` in tenant ${JSON.stringify(tenant)}` : ''}`,
    { resource: resource.name, action, details: { id } },
  )
}

/** `STALE`: the record the caller held changed or went away since it was read. */
export function stale(run: ActionRun, id: Json, what: string): RewindError {
  return new RewindError('STALE', `${run.resource.name}.${run.action}: ${what}`, {
    resource: run.resource.name,
    action: run.action,
    details: { id },
  })
}
