import type { EventSink, WriteEvent } from '../actions/pipeline.js'
import type { Database, SqlClient } from '../data/database.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { EventLog, RewindEvent } from '../events/event-log.js'
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
 * The event sink of an instance with inline projections: records the event as the log does, then, in the
 * same transaction, runs every inline projection that handles it. This is the one hook into the action
 * pipeline: the pipeline calls `record(client, event)` after the row write, and does not call it in replay.
 * An event no inline projection handles is recorded exactly as without projections (no RETURNING).
 */
export class InlineProjections implements EventSink {
  readonly #byResource = new Map<string, Projection[]>()
  readonly #contexts = new WeakMap<SqlClient, Promise<ProjectionContext>>()

  constructor(
    readonly log: EventLog,
    readonly db: Database,
    projections: readonly Projection[],
  ) {
    for (const p of projections) {
      for (const h of p.handlers) {
        const list = this.#byResource.get(h.resource) ?? []
        if (!list.includes(p)) list.push(p)
        this.#byResource.set(h.resource, list)
      }
    }
  }

  tracks(resource: AnyResource, action: string): boolean {
    return this.log.tracks(resource, action)
  }

  async record(client: SqlClient, event: WriteEvent): Promise<void> {
    const candidates = (this.#byResource.get(event.resource.name) ?? []).filter((p) =>
      p.handlers.some(
        (h) => h.resource === event.resource.name && (!h.actions || h.actions.has(event.action)),
      ),
    )
    if (candidates.length === 0) {
      await this.log.record(client, event)
      return
    }
    const recorded = await this.log.record(client, event, true)
    for (const projection of candidates) {
      if (!projection.matches(recorded)) continue
      let ctx = this.#contexts.get(client)
      if (!ctx) {
        ctx = projectionContext(this.db, client, false)
        this.#contexts.set(client, ctx)
      }
      await applyProjection(projection, recorded, await ctx)
    }
  }
}
