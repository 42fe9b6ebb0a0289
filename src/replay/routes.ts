import { inputShape } from '../actions/input.js'
import { RewindError } from '../errors/rewind-error.js'
import type { ReplayedEvent } from '../events/event.js'
import type { ReplayOverride } from '../events/event-log-config.js'
import type { ActionDefinition } from '../resource/action.js'
import type { AnyResource } from '../resource/define-resource.js'

/** What replaying into one action needs of its definition, computed once per action. */
export interface ActionShape {
  readonly def: ActionDefinition
  readonly strategy: 'forceChange' | 'asArguments'
  readonly accepted: ReadonlySet<string>
  readonly argNames: ReadonlySet<string>
  readonly allowedChanges: ReadonlySet<string>
  /** The key of the replay's counts ("Resource.action"). */
  readonly countKey: string
}

export type Route = readonly (readonly [AnyResource, string])[]

/**
 * Where each event goes in a replay (and in time travel, which folds what replay would apply): the first
 * override matching its (resource, action, version) sends it to all the override's targets in order; else
 * it goes to its own action, which must still exist.
 */
export class Routes {
  readonly #shapes = new Map<AnyResource, Map<string, ActionShape>>()
  /** Each (resource, action) an event routes to when no override applies, built once. */
  readonly #own = new Map<string, Map<string, Route>>()

  constructor(
    readonly overrides: readonly ReplayOverride[],
    readonly resources: ReadonlyMap<string, AnyResource>,
  ) {}

  /** The (resource, action) targets of an event. */
  route(event: ReplayedEvent): Route {
    const override = this.override(event)
    if (override) return override.routeTo
    const own = this.#own.get(event.resource)?.get(event.action)
    if (own) return own
    const resource = this.resources.get(event.resource)
    if (!resource) {
      throw new RewindError(
        'REPLAY',
        `event ${event.id} (position ${event.position}) is of resource "${event.resource}", which this Rewind instance does not know; register it or add a replay override`,
        { details: { eventId: event.id, position: event.position } },
      )
    }
    if (!Object.hasOwn(resource.actions, event.action)) {
      throw new RewindError(
        'REPLAY',
        `event ${event.id} (position ${event.position}) is of action ${event.resource}.${event.action} v${event.version}, which no longer exists; add a replay override for it`,
        { details: { eventId: event.id, position: event.position } },
      )
    }
    const route = [[resource, event.action] as const]
    let byAction = this.#own.get(event.resource)
    if (!byAction) {
      byAction = new Map()
      this.#own.set(event.resource, byAction)
    }
    byAction.set(event.action, route)
    return route
  }

  /** The first override that routes this event, if any. */
  override(event: ReplayedEvent): ReplayOverride | undefined {
    for (const o of this.overrides) {
      const name = typeof o.resource === 'string' ? o.resource : o.resource.name
      if (name === event.resource && o.action === event.action && o.versions.includes(event.version)) return o
    }
    return undefined
  }

  /** The (resource, action) pairs whose events overrides route to `resource`, other than its own. */
  sourcesOf(resource: AnyResource): { resource: string; action: string }[] {
    const out: { resource: string; action: string }[] = []
    for (const o of this.overrides) {
      if (!o.routeTo.some(([target]) => target === resource)) continue
      const name = typeof o.resource === 'string' ? o.resource : o.resource.name
      if (name !== resource.name) out.push({ resource: name, action: o.action })
    }
    return out
  }

  /** Whether one of the event's target actions runs hooks in replay (`events.allowHooksInReplay`). */
  runsHooks(event: ReplayedEvent): boolean {
    return this.route(event).some(([target, action]) => this.shape(target, action).allowedChanges.size > 0)
  }

  shape(target: AnyResource, action: string): ActionShape {
    let byAction = this.#shapes.get(target)
    if (!byAction) {
      byAction = new Map()
      this.#shapes.set(target, byAction)
    }
    let shape = byAction.get(action)
    if (!shape) {
      const def = target.actions[action] as ActionDefinition
      shape = {
        def,
        strategy: target.events.replayStrategy?.[action] ?? 'forceChange',
        ...inputShape(def),
        allowedChanges: new Set(target.events.allowHooksInReplay?.[action] ?? []),
        countKey: `${target.name}.${action}`,
      }
      byAction.set(action, shape)
    }
    return shape
  }
}
