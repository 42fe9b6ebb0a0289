import type { RecordedEventObserver } from '../actions/observers.js'
import type { Database, SqlClient } from '../data/database.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event.js'
import type { AnyResource } from '../resource/define-resource.js'
import { type ConsumerEvent, handlersFor, type Projection, type ProjectionContext } from './definitions.js'

/** A projection context over one transaction; the Drizzle database is made once per transaction. */
export async function projectionContext(
  db: Database,
  client: SqlClient,
  rebuilding: boolean,
): Promise<ProjectionContext> {
  return {
    db: (await db.drizzleFor(client)) as ProjectionContext['db'],
    sql: (text, params) => client.query(text, params ?? []),
    rebuilding,
  }
}

/** Runs the handlers of `projection` for one event; a failure names the projection and the event. */
export async function applyProjection(
  projection: Projection,
  event: RewindEvent,
  ctx: ProjectionContext,
): Promise<void> {
  if (projection.handleBatch) return applyProjectionBatch(projection, [event], ctx)
  for (const h of handlersFor(projection.handlers, event)) {
    try {
      await h.handle(event as ConsumerEvent, ctx)
    } catch (error) {
      throw projectionFailure(projection, event, error)
    }
  }
}

/** Runs a projection for several events (one `handleBatch` call, or the handlers event by event). */
export async function applyProjectionBatch(
  projection: Projection,
  events: readonly RewindEvent[],
  ctx: ProjectionContext,
): Promise<void> {
  if (events.length === 0) return
  if (!projection.handleBatch) {
    for (const event of events) await applyProjection(projection, event, ctx)
    return
  }
  try {
    await projection.handleBatch(events as ConsumerEvent[], ctx)
  } catch (error) {
    throw projectionFailure(projection, events.length === 1 ? events[0]! : undefined, error, events)
  }
}

function projectionFailure(
  projection: Projection,
  event: RewindEvent | undefined,
  error: unknown,
  batch?: readonly RewindEvent[],
): RewindError {
  if (isRewindError(error) && error.details.projection === projection.name) return error
  const reason = error instanceof Error ? error.message : String(error)
  const where = event
    ? `on ${event.resource}.${event.action} (event ${event.id}, position ${event.position})`
    : `on a batch of ${batch!.length} events (positions ${batch![0]!.position} to ${batch![batch!.length - 1]!.position})`
  return new RewindError('INTERNAL', `projection "${projection.name}" failed ${where}: ${reason}`, {
    cause: error,
    ...(event ? { resource: event.resource, action: event.action } : {}),
    details: {
      projection: projection.name,
      ...(event ? { eventId: event.id, position: event.position } : {}),
    },
  })
}

/**
 * The inline projections of an instance, as the action engine's observer of recorded events (the one hook
 * into the pipeline): the `recordEvent` step hands over each event an inline projection handles, as stored,
 * on the action's client, and each matching projection runs there, in the action's transaction. Actions no
 * inline projection handles record their event as without projections (no RETURNING, nothing decoded). The
 * engine does not record events in replay, so projections never run there.
 */
export class InlineProjections implements RecordedEventObserver {
  /** Per resource name and action (`resource\u0000action`), the projections whose handlers take it. */
  readonly #byAction = new Map<string, readonly Projection[]>()
  readonly #contexts = new WeakMap<SqlClient, Promise<ProjectionContext>>()

  constructor(
    readonly db: Database,
    readonly projections: readonly Projection[],
  ) {}

  #candidates(resource: string, action: string): readonly Projection[] {
    const key = `${resource}\u0000${action}`
    let list = this.#byAction.get(key)
    if (!list) {
      list = this.projections.filter((p) =>
        p.handlers.some((h) => h.resource === resource && (!h.actions || h.actions.has(action))),
      )
      this.#byAction.set(key, list)
    }
    return list
  }

  wants(resource: AnyResource, action: string): boolean {
    return this.#candidates(resource.name, action).length > 0
  }

  async recorded(client: SqlClient, event: RewindEvent): Promise<void> {
    for (const projection of this.#candidates(event.resource, event.action)) {
      if (!projection.matches(event)) continue
      let ctx = this.#contexts.get(client)
      if (!ctx) {
        ctx = projectionContext(this.db, client, false)
        this.#contexts.set(client, ctx)
      }
      await applyProjection(projection, event, await ctx)
    }
  }
}
