import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import type { CallOptions } from '../actions/changeset.js'
import { ActionEngine, type EventSink, type ExecOptions } from '../actions/pipeline.js'
import { CommitNotifier, notifyOnCommit } from '../consumers/commit-notify.js'
import { Consumers } from '../consumers/consumers.js'
import type { Consumer } from '../consumers/definitions.js'
import { InlineProjections } from '../consumers/inline.js'
import { checkConsumers, consumerTables } from '../consumers/registration.js'
import { eventsChannel } from '../consumers/wake-ups.js'
import { type Database, databaseFromDrizzle } from '../data/database.js'
import { failureIn } from '../errors/database-failure.js'
import { definitionError, RewindError } from '../errors/rewind-error.js'
import { appendOnlyStatements } from '../events/append-only.js'
import { type EventFilter, EventLog, type EventPage } from '../events/event-log.js'
import { type EventLogConfig, resolveEventLog } from '../events/event-log-config.js'
import { LogTail } from '../events/log-tail.js'
import { type ConsistencyReport, checkConsistency } from '../replay/check-consistency.js'
import { Replayer, type ReplayOptions, type ReplayResult } from '../replay/replay.js'
import { type HistoryEntry, type PointInTime, TimeTravel } from '../replay/time-travel.js'
import { type VerifyOptions, type VerifyResult, verifyReplay } from '../replay/verify.js'
import type {
  ActionInput,
  ActionKindOf,
  ActionName,
  ActionResult,
  AnyResource,
  InferRecord,
} from '../resource/define-resource.js'
import { createTableStatements } from '../schema/create-tables.js'
import { optionalImport } from '../util/optional-import.js'
import { type ListOptions, readList, readOne } from './reads.js'

/** Options of one action call. */
export interface RunOptions extends CallOptions {
  /** Who acts: passed to policies, changes and the event's actor columns. */
  readonly actor?: unknown
  /** The tenant (required by multitenant resources). */
  readonly tenant?: unknown
  /** Free context for changes and hooks. */
  readonly context?: Readonly<Record<string, unknown>>
  /**
   * Stored with the action's event (for example a request id): JSON, with Dates anywhere inside stored as ISO
   * 8601 strings. Not inherited by nested actions.
   */
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Set false to skip policies (for trusted system code). */
  readonly authorize?: boolean
}

/** Which record an update or destroy acts on. */
export type Target<R extends AnyResource> =
  | { readonly id: InferRecord<R>[R['primaryKey']]; readonly record?: never }
  | { readonly record: InferRecord<R>; readonly id?: never }

type OptionsArg<R extends AnyResource, N extends ActionName<R>> =
  ActionKindOf<R, N> extends 'update' | 'destroy' ? [options: RunOptions & Target<R>] : [options?: RunOptions]

type InputArg<R extends AnyResource, N extends ActionName<R>> =
  {} extends ActionInput<R, N> ? [input?: ActionInput<R, N>] : [input: ActionInput<R, N>]

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
   * (coalesced; outside the action's transaction). Default true with an event log; without it, consumers find
   * new events at their poll interval.
   */
  readonly notifyCommits?: boolean
}

/**
 * A running Rewind: actions, reads, and the schema of its tables.
 *
 * ```ts
 * const rewind = await createRewind({ resources: [User] })
 * const ada = await rewind.run(User, 'create', { email: 'ada@example.com', name: 'Ada' })
 * await rewind.run(User, 'rename', { name: 'Ada L.' }, { id: ada.id })
 * ```
 */
export class Rewind<R extends readonly AnyResource[] = readonly AnyResource[]> {
  readonly #engine: ActionEngine
  readonly #db: Database
  readonly resources: ReadonlyMap<string, R[number]>
  readonly #log: EventLog | undefined
  readonly #consumerList: readonly Consumer[]
  #consumers: Consumers | undefined
  #close: (() => Promise<void>) | undefined

  /** @internal use {@link createRewind}. */
  constructor(
    db: Database,
    resources: ReadonlyMap<string, R[number]>,
    log: EventLog | undefined,
    close?: () => Promise<void>,
    consumers: readonly Consumer[] = [],
    notifyCommits = true,
  ) {
    this.#db = db
    this.resources = resources
    this.#log = log
    this.#consumerList = consumers
    const inline = consumers.filter((c) => c.kind === 'projection' && c.lifecycle === 'inline')
    // Inline projections run where the pipeline records the event: the log's sink, wrapped.
    let sink: EventSink | undefined =
      log && inline.length > 0 ? new InlineProjections(log, db, inline as never) : log
    let engineDb = db
    if (log && sink && notifyCommits) {
      // Commits that recorded events wake the consumers (see commit-notify.ts).
      ;({ db: engineDb, sink } = notifyOnCommit(
        db,
        sink,
        new CommitNotifier(db, eventsChannel(log.config.table)),
      ))
    }
    this.#engine = new ActionEngine(engineDb, resources, sink)
    this.#close = close
  }

  /**
   * The projections and subscriptions registered with `createRewind({ consumers })`: `start()` runs the async
   * ones in this process; `status()`, `retry()`, `skip()`, `rebuild()` by name.
   */
  get consumers(): Consumers {
    this.#consumers ??= new Consumers(this.#db, this.#requireLog(), this.#consumerList)
    return this.#consumers
  }

  /** @internal the event log (undefined when none is configured). */
  get eventLog(): EventLog | undefined {
    return this.#log
  }

  #requireLog(): EventLog {
    if (!this.#log) {
      throw new RewindError(
        'INVALID_DEFINITION',
        'this Rewind instance has no event log; pass createRewind({ eventLog: { table: eventLogTable(...) } })',
      )
    }
    return this.#log
  }

  /** A page of events in position order, filtered (keyset paging with `afterPosition`). */
  async events(filter?: EventFilter): Promise<EventPage> {
    return this.#requireLog().list((text, params) => this.#db.queryText(text, params), filter)
  }

  /**
   * A reader that follows the log in position order from `afterPosition` and never skips an event, even
   * when transactions commit out of position order (see {@link LogTail}). For relays and projections.
   */
  tail(afterPosition = 0): LogTail {
    return new LogTail(this.#requireLog(), (text, params) => this.#db.queryText(text, params), afterPosition)
  }

  /** Every event of one record, oldest first, with actor, metadata and the field changes it made. */
  async history<Res extends R[number]>(
    resource: Res,
    id: InferRecord<Res>[Res['primaryKey']],
  ): Promise<HistoryEntry[]> {
    return this.#timeTravel().history(this.#registered(resource), id)
  }

  /**
   * The record as it was just after an event (`{ eventId }`) or at a time (`{ at }`), from the log alone;
   * undefined before it was created or after it was destroyed.
   */
  async stateAt<Res extends R[number]>(
    resource: Res,
    id: InferRecord<Res>[Res['primaryKey']],
    point: PointInTime,
  ): Promise<InferRecord<Res> | undefined> {
    return (await this.#timeTravel().stateAt(this.#registered(resource), id, point)) as
      | InferRecord<Res>
      | undefined
  }

  /**
   * Rebuilds every tracked table from the log, in one transaction: clears them, then re-runs each event's
   * action (or the actions an override routes it to) with recorded values forced, hooks off, no new events.
   * If any event fails, the database is exactly as before and the error names the event.
   */
  async replay(options?: ReplayOptions): Promise<ReplayResult> {
    return this.#replayer().replay(options)
  }

  /** Replays inside a transaction that is rolled back and reports every difference from the live tables. */
  async verifyReplay(options?: VerifyOptions): Promise<VerifyResult> {
    return verifyReplay(this.#replayer(), options)
  }

  /**
   * Checks that tables and log agree: each record's state from the log equals its live row, every live row
   * has its create event, every event's resource is known, positions and transaction ids are well formed.
   */
  async checkConsistency(options?: { readonly maxFindings?: number }): Promise<ConsistencyReport> {
    try {
      return await checkConsistency(this.#replayer(), options)
    } catch (error) {
      throw failureIn(error, 'checkConsistency')
    }
  }

  #replayerInstance: Replayer | undefined
  #replayer(): Replayer {
    this.#replayerInstance ??= new Replayer(this.#db, this.#engine, this.#requireLog(), this.resources)
    return this.#replayerInstance
  }

  #timeTravel(): TimeTravel {
    return new TimeTravel(this.#replayer(), (text, params) => this.#db.queryText(text, params))
  }

  /** @internal history and states from the log, in canonical values (the CLI prints them as the log has them). */
  get timeTravel(): TimeTravel {
    return this.#timeTravel()
  }

  /** The Drizzle database, for any query Rewind does not wrap. */
  get db(): unknown {
    return this.#db.drizzle
  }

  /** @internal */
  get database(): Database {
    return this.#db
  }

  /** @internal */
  get engine(): ActionEngine {
    return this.#engine
  }

  /**
   * Runs one action in its own transaction. Updates and destroys take `{ id }` or `{ record }`.
   * The input is typed from the action's accepted columns and arguments.
   */
  run<Res extends R[number], N extends ActionName<Res>>(
    resource: Res,
    action: N,
    ...args:
      | [...InputArg<Res, N>, ...OptionsArg<Res, N>]
      | [input: ActionInput<Res, N>, ...OptionsArg<Res, N>]
  ): Promise<ActionResult<Res, N>> {
    const [input, options] = args as unknown as [unknown, ExecOptions | undefined]
    return Promise.resolve()
      .then(() => this.#engine.execute(resource, action, input, sanitizeOptions(options)))
      .then((result) => result as ActionResult<Res, N>)
  }

  /** Creates many records in one transaction; each goes through the whole pipeline and records its event. */
  async bulkCreate<Res extends R[number], N extends ActionName<Res>>(
    resource: Res,
    action: N,
    inputs: readonly ActionInput<Res, N>[],
    options?: RunOptions,
  ): Promise<ActionResult<Res, N>[]> {
    const opts = sanitizeOptions(options)
    return this.#engine.executeMany(
      resource,
      action,
      inputs.map((input) => ({ input, options: opts })),
    ) as Promise<ActionResult<Res, N>[]>
  }

  /** Updates many records in one transaction, each with its own input. */
  async bulkUpdate<Res extends R[number], N extends ActionName<Res>>(
    resource: Res,
    action: N,
    targets: readonly {
      readonly id: InferRecord<Res>[Res['primaryKey']]
      readonly input?: ActionInput<Res, N>
    }[],
    options?: RunOptions,
  ): Promise<ActionResult<Res, N>[]> {
    const opts = sanitizeOptions(options)
    return this.#engine.executeMany(
      resource,
      action,
      targets.map((t) => ({ input: t.input ?? {}, options: { ...opts, id: t.id } })),
    ) as Promise<ActionResult<Res, N>[]>
  }

  /** Destroys many records in one transaction. */
  async bulkDestroy<Res extends R[number], N extends ActionName<Res>>(
    resource: Res,
    action: N,
    ids: readonly InferRecord<Res>[Res['primaryKey']][],
    options?: RunOptions & { readonly input?: ActionInput<Res, N> },
  ): Promise<ActionResult<Res, N>[]> {
    const opts = sanitizeOptions(options)
    return this.#engine.executeMany(
      resource,
      action,
      ids.map((id) => ({ input: options?.input ?? {}, options: { ...opts, id } })),
    ) as Promise<ActionResult<Res, N>[]>
  }

  /** The record with this primary key, or undefined. Multitenant resources need `{ tenant }`. */
  async get<Res extends R[number]>(
    resource: Res,
    id: InferRecord<Res>[Res['primaryKey']],
    options?: { readonly tenant?: unknown },
  ): Promise<InferRecord<Res> | undefined> {
    return readOne(this.#db, this.#registered(resource), id, options?.tenant) as Promise<
      InferRecord<Res> | undefined
    >
  }

  /** Records matching equality filters, sorted and limited. Multitenant resources need `{ tenant }`. */
  async list<Res extends R[number]>(
    resource: Res,
    options?: ListOptions<InferRecord<Res>>,
  ): Promise<InferRecord<Res>[]> {
    return readList(this.#db, this.#registered(resource), options ?? {}) as Promise<InferRecord<Res>[]>
  }

  /** The SQL that creates every resource's table (idempotent). */
  schemaSql(): string[] {
    const tables = [...this.resources.values()].map((r) => r.table)
    if (!this.#log) return createTableStatements(tables)
    return [
      ...createTableStatements([...tables, this.#log.config.table, ...consumerTables(this.#consumerList)]),
      ...appendOnlyStatements(this.#log.config.table),
    ]
  }

  /**
   * Creates the tables that do not exist yet, and the log's append-only trigger. Safe when several processes
   * start at once: they take turns on an advisory lock (PostgreSQL's `CREATE TABLE IF NOT EXISTS` alone is not
   * safe under concurrency). For production, generate migrations with drizzle-kit instead.
   */
  async createTables(): Promise<void> {
    try {
      await this.#db.transaction(async (client) => {
        await client.query(`SELECT pg_advisory_xact_lock(${CREATE_TABLES_LOCK})`)
        for (const statement of this.schemaSql()) await client.query(statement)
      })
    } catch (error) {
      throw failureIn(error, 'createTables')
    }
  }

  /** Closes the embedded database Rewind opened (a database you passed stays yours to close). */
  async close(): Promise<void> {
    await this.#consumers?.stop()
    await this.#close?.()
    this.#close = undefined
  }

  #registered(resource: AnyResource): AnyResource {
    const r = this.resources.get(resource?.name)
    if (r !== resource) {
      throw new RewindError(
        'INVALID_DEFINITION',
        `Resource ${resource?.name} is not registered with this Rewind instance`,
      )
    }
    return r
  }
}

/** The names PostgreSQL gives the tables in its messages (schema-qualified when in a schema). */
function tableNames(tables: readonly PgTable[]): string[] {
  return tables.map((table) => {
    const { name, schema } = getTableConfig(table)
    return schema ? `${schema}.${name}` : name
  })
}

/** The advisory-lock key createTables takes (the text "rewind:createTables" hashed once, a constant). */
const CREATE_TABLES_LOCK = '7436018284015939121'

const OPTION_KEYS = new Set(['actor', 'tenant', 'context', 'metadata', 'authorize', 'id', 'record'])

/** Options come from callers: reject unknown keys (a typo such as `tennant` must not silently drop scoping). */
function sanitizeOptions(options: unknown): ExecOptions {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new RewindError(
      'VALIDATION',
      `expected the options to be an object, got ${Array.isArray(options) ? 'an array' : typeof options}`,
    )
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new RewindError(
        'VALIDATION',
        `unknown option "${key}": expected ${[...OPTION_KEYS].join(', ')}`,
        {
          issues: [{ path: [key], message: 'is not an option' }],
        },
      )
    }
  }
  const o = options as ExecOptions
  for (const key of ['context', 'metadata'] as const) {
    const v = o[key]
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new RewindError(
        'VALIDATION',
        `expected the ${key} option to be an object, got ${Array.isArray(v) ? 'an array' : typeof v}`,
        {
          issues: [{ path: [key], message: 'must be an object' }],
        },
      )
    }
  }
  return o
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
  const rewind = new Rewind<R>(db, resources, log, close, consumers, config.notifyCommits ?? true)
  if (createTables) await rewind.createTables()
  return rewind
}
