import type { ExecOptions } from '../actions/action-run.js'
import { ActionEngine } from '../actions/engine.js'
import { Consumers } from '../consumers/consumers.js'
import type { Consumer } from '../consumers/definitions.js'
import { consumerObservers } from '../consumers/engine-observers.js'
import { consumerTables } from '../consumers/registration.js'
import type { Database } from '../data/database.js'
import { failureIn } from '../errors/database-failure.js'
import { RewindError } from '../errors/rewind-error.js'
import { appendOnlyStatements } from '../events/append-only.js'
import type { EventFilter, EventPage, RewindEvent } from '../events/event.js'
import type { EventLog } from '../events/event-log.js'
import { LogTail } from '../events/log-tail.js'
import { type ConsistencyReport, checkConsistency } from '../replay/check-consistency.js'
import { Replayer } from '../replay/replay.js'
import type { ReplayOptions, ReplayResult } from '../replay/replay-options.js'
import { type HistoryEntry, type PointInTime, TimeTravel } from '../replay/time-travel.js'
import { type VerifyOptions, type VerifyResult, verifyReplay } from '../replay/verify.js'
import type {
  ActionInput,
  ActionName,
  ActionResult,
  AnyResource,
  InferRecord,
} from '../resource/define-resource.js'
import { createTableStatements } from '../schema/create-tables.js'
import { type ListOptions, readList, readOne } from './reads.js'
import { type InputArg, type OptionsArg, type RunOptions, sanitizeOptions } from './run-options.js'

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
    consumers: { readonly list: readonly Consumer[]; readonly notifyCommits: boolean } = {
      list: [],
      notifyCommits: false,
    },
  ) {
    this.#db = db
    this.resources = resources
    this.#log = log
    this.#consumerList = consumers.list
    // Inline projections see their events in the actions' transactions; commits that recorded events wake
    // the consumers (see consumers/engine-observers.ts).
    const observers = log ? consumerObservers(db, log, consumers.list, consumers.notifyCommits) : {}
    this.#engine = new ActionEngine(db, resources, log, observers)
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
    return this.#requireLog().store.page(this.#db, filter)
  }

  /**
   * The event with this id (a number, or its digits as a string, for the default ids; a UUID for `uuidv7`
   * logs), or undefined when the log has none. A malformed id fails with `VALIDATION`.
   */
  async event(id: number | string): Promise<RewindEvent | undefined> {
    return this.#requireLog().store.event(this.#db, id, 'eventId')
  }

  /**
   * A reader that follows the log in position order from `afterPosition` and never skips an event, even
   * when transactions commit out of position order (see {@link LogTail}). For relays and projections.
   */
  tail(afterPosition = 0): LogTail {
    return new LogTail(this.#requireLog().store, this.#db, afterPosition)
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
    return new TimeTravel(this.#requireLog(), this.#replayer().routes, this.#db)
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
    // A rejected promise for every failure, bad options included; no extra turns on the way.
    try {
      return this.#engine.execute(resource, action, input, sanitizeOptions(options)) as Promise<
        ActionResult<Res, N>
      >
    } catch (error) {
      return Promise.reject(error)
    }
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

/** The advisory-lock key createTables takes (the text "rewind:createTables" hashed once, a constant). */
const CREATE_TABLES_LOCK = '7436018284015939121'
