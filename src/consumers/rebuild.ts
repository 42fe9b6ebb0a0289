import type { PgTable } from 'drizzle-orm/pg-core'
import type { Database } from '../data/database.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event.js'
import type { EventStore } from '../events/store/event-store.js'
import { qualifiedName } from '../schema/names.js'
import { checkpoints, type Run } from './checkpoint-store.js'
import { deadLetters } from './dead-letters.js'
import type { Projection } from './definitions.js'
import { applyProjection, applyProjectionBatch, projectionContext } from './inline.js'

/** What a rebuild did. */
export interface RebuildResult {
  readonly projection: string
  /** Events the projection's handlers ran for. */
  readonly events: number
  /** The position the projection was rebuilt up to; an async projection's consumer goes on from there. */
  readonly position: number
}

const PAGE = 1000

/**
 * Rebuilds a projection from the log in one transaction: empties its tables (rows the log cannot produce are
 * gone), runs its handlers over the log, and commits. Tracked tables and other projections are not touched,
 * and writers go on: readers of the projection see the old rows until the commit.
 *
 * - async: the checkpoint rows are locked first (a running consumer's next batch waits, then finds the
 *   position moved and starts again from it); events up to the lowest partition's checkpoint are applied
 *   (every one of them has settled), the checkpoints are set there, and the consumer catches up to live.
 * - inline: the projection's tables are locked SHARE ROW EXCLUSIVE (actions that write them wait; nothing
 *   else does), then every committed event is applied; an action still in flight applies its own event when
 *   it commits after the rebuild.
 *
 * A handler that fails makes the rebuild fail with `REPLAY` naming the event; nothing is changed then.
 * Events skipped by name (`rewind consumers skip`) are passed over.
 */
export async function rebuildProjection(
  db: Database,
  store: EventStore,
  projection: Projection,
): Promise<RebuildResult> {
  const { name } = projection
  let applied = 0
  let until = 0
  try {
    await db.transaction(async (client) => {
      const run: Run = (t, p) => client.query(t, p ?? [])
      const tables = projection.tables.map((t) => qualifiedName(t as PgTable))
      if (projection.lifecycle === 'inline') {
        for (const t of tables) await run(`LOCK TABLE ${t} IN SHARE ROW EXCLUSIVE MODE`)
        until = await store.end(client)
      } else {
        const rows = await checkpoints.lockAll(run, name)
        until = rows.length ? Math.min(...rows.map((r) => r.position)) : 0
        await deadLetters.clearOpen(run, name)
      }
      for (const t of tables) await run(`DELETE FROM ${t}`)
      const skipped = await deadLetters.skipped(run, name)
      const ctx = await projectionContext(db, client, true)
      for (let after = 0; after < until; ) {
        const page = await store.scan(client, { afterPosition: after, untilPosition: until }, PAGE, 'all')
        if (page.length === 0) break
        const chosen = page.filter((e) => !skipped.has(e.position) && projection.matches(e))
        if (projection.handleBatch && chosen.length > 0) {
          try {
            await applyProjectionBatch(projection, chosen, ctx)
          } catch (error) {
            throw rebuildFailure(name, error, chosen)
          }
          applied += chosen.length
        }
        for (const event of projection.handleBatch ? [] : chosen) {
          try {
            await applyProjection(projection, event, ctx)
          } catch (error) {
            throw rebuildFailure(name, error, [event])
          }
          applied++
        }
        after = page[page.length - 1]!.position
      }
      if (projection.lifecycle === 'async') {
        await checkpoints.reset(run, name, until)
        await checkpoints.resume(run, name)
      }
    })
  } catch (error) {
    if (isRewindError(error)) throw error
    throw new RewindError(
      'DATABASE',
      `rebuild of projection "${name}" failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    )
  }
  return { projection: name, events: applied, position: until }
}

/** A rebuild's failure: `REPLAY`, naming the event (or the batch a batch handler failed on). */
function rebuildFailure(name: string, error: unknown, events: readonly RewindEvent[]): RewindError {
  const first = events[0]!
  const last = events[events.length - 1]!
  const where =
    events.length === 1
      ? `at event ${first.id} (position ${first.position}, ${first.resource}.${first.action})`
      : `in the batch of positions ${first.position} to ${last.position}`
  return new RewindError(
    'REPLAY',
    `rebuild of projection "${name}" failed ${where}; nothing was changed. Fix the handler, or skip the event: rewind consumers skip ${name} <event>`,
    {
      cause: isRewindError(error) ? (error.cause ?? error) : error,
      ...(events.length === 1 ? { resource: first.resource, action: first.action } : {}),
      details: {
        projection: name,
        ...(events.length === 1 ? { eventId: first.id, position: first.position } : {}),
      },
    },
  )
}
