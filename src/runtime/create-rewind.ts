import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import type { Consumer } from '../consumers/definitions.js'
import { checkConsumers, consumerTables } from '../consumers/registration.js'
import { type Database, databaseFromDrizzle } from '../data/database.js'
import { definitionError } from '../errors/rewind-error.js'
import { EventLog } from '../events/event-log.js'
import { type EventLogConfig, resolveEventLog } from '../events/event-log-config.js'
import type { AnyResource } from '../resource/define-resource.js'
import { optionalImport } from '../util/optional-import.js'
import { Rewind } from './rewind.js'

/** What `createRewind` takes. */
export interface RewindConfig<R extends readonly AnyResource[]> {
  /**
   * A Drizzle database over PGlite (`drizzle-orm/pglite`) or a pg Pool (`drizzle-orm/node-postgres`).
   * Omitted: an in-memory PGlite database, with the tables created.
   */
  readonly db?: unknown
  /** The resources this instance runs. */
  readonly resources: R
  /** Create the resources' tables (if missing) on start. Default: true for the embedded default, else false. */
  readonly createTables?: boolean
  /** The event log: every tracked action records an event in it, in the action's transaction. */
  readonly eventLog?: EventLogConfig
  /**
   * Projections and subscriptions that follow the log (`defineProjection`, `defineSubscription`). Inline
   * projections run in every action's transaction from now on; async ones run where
   * `rewind.consumers.start()` is called. Needs `eventLog`.
   */
  readonly consumers?: readonly Consumer[]
  /**
   * After each commit that recorded events, send a `NOTIFY` so that consumers in every process wake at once
   * (coalesced; outside the action's transaction; on PGlite the consumers of the same instance are woken
   * directly). Default: true when `consumers` are registered, else false (it costs PostgreSQL writers a
   * statement per commit). A process that only writes, for consumers that run elsewhere, sets it to true;
   * without it, consumers find new events at their poll interval.
   */
  readonly notifyCommits?: boolean
}

/** The names PostgreSQL gives the tables in its messages (schema-qualified when in a schema). */
function tableNames(tables: readonly PgTable[]): string[] {
  return tables.map((table) => {
    const { name, schema } = getTableConfig(table)
    return schema ? `${schema}.${name}` : name
  })
}

/**
 * Creates a Rewind instance over a Drizzle database (PGlite or pg), or over an in-memory PGlite database
 * when `db` is omitted.
 */
export async function createRewind<const R extends readonly AnyResource[]>(
  config: RewindConfig<R>,
): Promise<Rewind<R>> {
  const resources = new Map<string, R[number]>()
  for (const resource of config.resources ?? []) {
    if (resource?.kind !== 'rewind.resource') {
      throw definitionError('createRewind: every entry of `resources` must be made with defineResource')
    }
    if (resources.has(resource.name)) {
      throw definitionError(
        `createRewind: two resources are named "${resource.name}"; give one a distinct name in defineResource(table, { name })`,
      )
    }
    resources.set(resource.name, resource)
  }
  for (const resource of resources.values()) {
    for (const [relName, rel] of Object.entries(resource.relationships)) {
      const target = rel.target()
      if (!target || !resources.has(target.name)) {
        throw definitionError(
          `Resource ${resource.name}: relationship "${relName}" points to ${target?.name ?? 'nothing'}, which is not in createRewind({ resources })`,
          resource.name,
        )
      }
      if (rel.kind !== 'belongsTo' && !target.codecs.has(rel.foreignKey)) {
        throw definitionError(
          `Resource ${resource.name}: relationship "${relName}" (${rel.kind}) uses foreign key "${rel.foreignKey}", which is not a column of ${target.name}`,
          resource.name,
        )
      }
    }
  }
  // Every definition check runs before a database is opened.
  const log = config.eventLog
    ? new EventLog(resolveEventLog(config.eventLog, resources), resources)
    : undefined
  const consumers = checkConsumers(config.consumers, resources, log !== undefined)
  const tables = tableNames([
    ...[...resources.values()].map((r) => r.table),
    ...(log ? [log.config.table, ...consumerTables(consumers)] : []),
  ])
  let db: Database
  let close: (() => Promise<void>) | undefined
  let createTables = config.createTables
  if (config.db === undefined) {
    const purpose = 'createRewind without `db` (the embedded PGlite database)'
    const { PGlite } = await optionalImport<typeof import('@electric-sql/pglite')>(
      '@electric-sql/pglite',
      purpose,
    )
    const { drizzle } = await optionalImport<typeof import('drizzle-orm/pglite')>(
      'drizzle-orm/pglite',
      purpose,
    )
    const client = new PGlite()
    db = databaseFromDrizzle(drizzle({ client }), tables)
    close = () => client.close()
    createTables ??= true
  } else {
    db = databaseFromDrizzle(config.db, tables)
  }
  const rewind = new Rewind<R>(db, resources, log, close, {
    list: consumers,
    notifyCommits: config.notifyCommits ?? consumers.length > 0,
  })
  if (createTables) await rewind.createTables()
  return rewind
}
