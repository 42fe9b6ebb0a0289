import type { Database } from '../data/database.js'
import type { CallOptions, HookContext } from '../resource/changeset.js'
import type { ExecOptions } from './action-run.js'
import type { Scope } from './scope.js'

/** Runs a nested action (a hook's `ctx.run`), joining the scope's transaction when there is one. */
export type NestedRun = (
  resource: never,
  action: string,
  input: unknown,
  options: ExecOptions,
  scope: Scope | undefined,
) => Promise<unknown>

/**
 * The context hooks get. Without a scope (a create's before-transaction hooks) queries and nested actions run
 * on their own; a nested action inherits who acts, the tenant and the context, not the metadata.
 */
export function hookContext(
  db: Database,
  scope: Scope | undefined,
  options: ExecOptions,
  run: NestedRun,
): HookContext {
  let drizzle: Promise<unknown> | undefined
  const nested: CallOptions = {
    actor: options.actor,
    tenant: options.tenant,
    context: options.context ?? {},
    authorize: options.authorize ?? true,
  }
  return {
    actor: options.actor,
    tenant: options.tenant,
    context: options.context ?? {},
    replaying: options.replay !== undefined,
    db: () => {
      drizzle ??= scope ? db.drizzleFor(scope.client) : Promise.resolve(db.drizzle)
      return drizzle
    },
    sql: (text, params) => (scope ? scope.client.query(text, params) : db.query(text, params)),
    run: (resource, action, input, opts) =>
      run(resource as never, action, input, { ...nested, ...(opts ?? {}) }, scope),
  }
}
