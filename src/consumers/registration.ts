import type { PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig } from 'drizzle-orm/pg-core'
import { definitionError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { Consumer } from './definitions.js'
import { rewindConsumers, rewindDeadLetters } from './tables.js'

/**
 * Checks `createRewind({ consumers })` before any database is opened: definitions made with
 * defineProjection/defineSubscription, distinct names, handlers on registered resources, projection tables
 * that are Drizzle tables and not a resource's.
 */
export function checkConsumers(
  consumers: readonly Consumer[] | undefined,
  resources: ReadonlyMap<string, AnyResource>,
  hasLog: boolean,
): readonly Consumer[] {
  if (consumers === undefined) return []
  if (!Array.isArray(consumers))
    throw definitionError('createRewind: consumers must be an array of defineProjection/defineSubscription')
  if (consumers.length > 0 && !hasLog) {
    throw definitionError(
      'createRewind: consumers follow the event log; pass eventLog: { table: eventLogTable(...) } too',
    )
  }
  const names = new Set<string>()
  const tracked = new Set([...resources.values()].map((r) => r.table))
  const owners = new Map<unknown, string>()
  for (const c of consumers) {
    if (c?.kind !== 'projection' && c?.kind !== 'subscription') {
      throw definitionError(
        'createRewind: every entry of consumers must be made with defineProjection or defineSubscription',
      )
    }
    if (names.has(c.name))
      throw definitionError(`createRewind: two consumers are named "${c.name}"; names must be distinct`)
    names.add(c.name)
    for (const h of c.handlers ?? []) {
      if (!resources.has(h.resource)) {
        throw definitionError(
          `${c.kind} "${c.name}" handles events of ${h.resource}, which is not in createRewind({ resources })`,
          h.resource,
        )
      }
    }
    if (c.kind === 'projection') {
      for (const t of c.tables) {
        let name: string
        try {
          name = getTableConfig(t as PgTable).name
        } catch {
          throw definitionError(`projection "${c.name}": tables must be Drizzle tables (pgTable(...))`)
        }
        if (tracked.has(t as never)) {
          throw definitionError(
            `projection "${c.name}": table "${name}" is a resource's table; a projection owns tables of its own (a rebuild empties them)`,
          )
        }
        const other = owners.get(t)
        if (other)
          throw definitionError(
            `projections "${other}" and "${c.name}" both own table "${name}"; a rebuild of one would empty the other's`,
          )
        owners.set(t, c.name)
      }
    }
  }
  return consumers
}

/** The tables the consumers need: Rewind's checkpoint and dead-letter tables, and the projections' own. */
export function consumerTables(consumers: readonly Consumer[]): PgTable[] {
  const own = consumers.flatMap((c) => (c.kind === 'projection' ? (c.tables as PgTable[]) : []))
  return [rewindConsumers, rewindDeadLetters, ...own]
}
