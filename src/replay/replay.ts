import type { ActionDefinition } from '../actions/action.js'
import { ExactValue } from '../actions/changeset.js'
import { inputShape } from '../actions/input.js'
import type { ActionEngine, ExecOptions, ReplayDirective } from '../actions/pipeline.js'
import { newScope, type Scope, settleAfterTransaction } from '../actions/scope.js'
import type { Json } from '../columns/values.js'
import type { Database } from '../data/database.js'
import { Params, selectByKey } from '../data/statements.js'
import { isLostConnection } from '../errors/database-failure.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { EventLog, ReplayedEvent } from '../events/event-log.js'
import type { ReplayOverride } from '../events/event-log-config.js'
import type { AnyResource } from '../resource/define-resource.js'
import { sortTablesByDependencies } from '../schema/create-tables.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import { BatchWriter, CannotBatch } from './batch-writer.js'
import { decodeArgument, UNAVAILABLE_ENCODERS } from './decode.js'
import { inLockedTransaction } from './lock-tables.js'

/** What {@link Replayer.replay} takes. */
export interface ReplayOptions {
  /** Replay up to and including this event (wins over `untilTime`). */
  readonly untilEventId?: number | string
  /** Replay events that occurred at or before this time. */
  readonly untilTime?: Date | string
  /** Replay one tenant only: its rows are cleared and its events replayed. */
  readonly tenant?: unknown
  /** Called after every batch with the progress so far. */
  readonly onProgress?: (progress: ReplayProgress) => void
  /** Events read per query (default 500): memory stays bounded whatever the log size. */
  readonly batchSize?: number
  /** Update and destroy events whose record is missing: fail (default) or skip and report them. */
  readonly missingRecords?: 'fail' | 'skip'
  /**
   * `'batched'` (default) folds each batch of events in memory and writes rows in bulk, falling back to one
   * event at a time for a batch whose bulk write the database refuses; `'naive'` runs one action per event
   * (the baseline the benchmark measures against). Both give the same tables.
   */
  readonly mode?: 'batched' | 'naive'
}

export interface ReplayProgress {
  readonly done: number
  readonly total: number
  readonly eventsPerSecond: number
  readonly elapsedMs: number
}

/** An event replay skipped (only with `missingRecords: 'skip'`). */
export interface SkippedEvent {
  readonly eventId: number | string
  readonly position: number
  readonly resource: string
  readonly action: string
  readonly reason: string
}

export interface ReplayResult {
  /** Events read and applied (an event routed to several targets counts once). */
  readonly eventsApplied: number
  /** Actions run per `Resource.action`. */
  readonly counts: Readonly<Record<string, number>>
  readonly skipped: readonly SkippedEvent[]
  readonly durationMs: number
  /** Batches written in bulk, and batches applied one event at a time (naive mode, or a bulk write refused). */
  readonly batches: { readonly bulk: number; readonly oneByOne: number }
}

const DEFAULT_BATCH = 500

/** A replay without `tenant` rebuilds the rows of every tenant. */
function isEveryTenant(options: ReplayOptions): boolean {
  return options.tenant === undefined || options.tenant === null
}

function skipOf(event: ReplayedEvent, error: unknown): SkippedEvent {
  return {
    eventId: event.id,
    position: event.position,
    resource: event.resource,
    action: event.action,
    reason: (error as Error).message,
  }
}

/** What replaying into one action needs of its definition (see {@link Replayer}'s `#shape`). */
interface ActionShape {
  readonly def: ActionDefinition
  readonly strategy: string
  readonly accepted: ReadonlySet<string>
  readonly argNames: ReadonlySet<string>
  readonly allowedChanges: ReadonlySet<string>
  /** The key of the replay's counts ("Resource.action"). */
  readonly countKey: string
}

/**
 * Rebuilds the tracked tables from the event log: clear, then re-run every event's action (or the actions
 * an override routes it to) with its recorded values forced, hooks off and no new events, in one transaction.
 */
export class Replayer {
  constructor(
    readonly db: Database,
    readonly engine: ActionEngine,
    readonly log: EventLog,
    readonly resources: ReadonlyMap<string, AnyResource>,
  ) {}

  #tracked: readonly AnyResource[] | undefined
  readonly #shapes = new Map<AnyResource, Map<string, ActionShape>>()
  /** Each (resource, action) an event routes to when no override applies, built once. */
  readonly #ownRoutes = new Map<string, Map<string, readonly (readonly [AnyResource, string])[]>>()

  /**
   * The resources whose tables replay rebuilds: those with a tracked action, and every override target. In
   * foreign-key order (parents before children); computed once, since resources and the log do not change.
   */
  trackedResources(): readonly AnyResource[] {
    if (!this.#tracked) {
      const targets = new Set(this.log.config.replayOverrides.flatMap((o) => o.routeTo.map(([r]) => r)))
      const tracked = [...this.resources.values()].filter(
        (r) => targets.has(r) || Object.keys(r.actions).some((a) => this.log.tracks(r, a)),
      )
      const byTable = new Map(tracked.map((r) => [r.table, r]))
      this.#tracked = Object.freeze(
        sortTablesByDependencies(tracked.map((r) => r.table)).map((t) => byTable.get(t)!),
      )
    }
    return this.#tracked
  }

  /** Replays in a transaction of its own: on any failure the database is exactly as before. */
  async replay(options: ReplayOptions = {}): Promise<ReplayResult> {
    // The whole log against still tables: writers wait until the replay commits. Replaying every tenant empties
    // the tables with TRUNCATE, which holds readers back too; one tenant's replay lets readers go on.
    const everyTenant = isEveryTenant(options)
    const tables = this.trackedResources().map((r) => qualifiedName(r.table))
    let scope: Scope | undefined
    let result: ReplayResult
    try {
      result = await inLockedTransaction(
        this.db,
        tables,
        everyTenant ? 'ACCESS EXCLUSIVE' : 'EXCLUSIVE',
        'replay',
        (client) => {
          scope = newScope(client)
          return this.replayInScope(scope, options, { advanceSequences: true, clear: 'truncate' })
        },
      )
    } catch (error) {
      let err: RewindError
      if (isRewindError(error)) err = error
      else {
        const e = error as { code?: string; message?: string }
        err = new RewindError(
          'REPLAY',
          `replay failed, nothing was changed: ${e?.message ?? String(error)}`,
          {
            cause: error,
            sqlState: typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined,
          },
        )
      }
      // After-transaction hooks of allowed changes hear that the replay's transaction rolled back.
      if (scope) await settleAfterTransaction(scope.afterTransaction, { error: err })
      throw err
    }
    // They run once the replay has committed, as they would after an action's own transaction.
    await settleAfterTransaction(scope!.afterTransaction)
    return result
  }

  /** @internal replay inside an existing transaction (verification rolls it back). */
  async replayInScope(
    scope: Scope,
    options: ReplayOptions,
    how: {
      advanceSequences: boolean
      /**
       * How the tracked tables are emptied first. `truncate` (a replay) locks them against readers and writers
       * until the replay commits; `delete` (a verification, rolled back) leaves readers free.
       */
      clear: 'truncate' | 'delete'
    },
  ): Promise<ReplayResult> {
    const started = performance.now()
    const batchSize = options.batchSize ?? DEFAULT_BATCH
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
      throw new RewindError(
        'VALIDATION',
        `replay: batchSize must be an integer from 1 to 100000, got ${String(batchSize)}`,
      )
    }
    const filter = await this.#filter(scope, options)
    await this.#clear(scope, options, how.clear)
    // The tables were just emptied inside this transaction, so the planner's statistics say they are tiny and
    // it would scan them whole for every batch's lookups by key: make it use the primary-key indexes.
    await scope.client.query('SET LOCAL enable_seqscan = off')

    const countRows = await scope.client.query(
      `SELECT count(*) AS n FROM ${qualifiedName(this.log.config.table)}${filter.where ? ` WHERE ${filter.where}` : ''}`,
      filter.params,
    )
    const total = Number(countRows[0]?.n ?? 0)
    const counts: Record<string, number> = {}
    const skipped: SkippedEvent[] = []
    const batches = { bulk: 0, oneByOne: 0 }
    let done = 0
    let cursor: number | undefined
    const positionCol = quoteIdent(this.log.codecs.get('position')!.name)
    for (;;) {
      const params = [...filter.params]
      let where = filter.where
      if (cursor !== undefined) {
        params.push(String(cursor))
        where = `${where ? `${where} AND ` : ''}${positionCol} > $${params.length}::int8`
      }
      const rows = await scope.client.queryText(this.log.selectSql(where, batchSize, 'replayed'), params)
      if (rows.length === 0) break
      const events = rows.map((row) => this.log.decodeReplayed(row))
      if (options.mode === 'naive') {
        for (const event of events) await this.#apply(scope, event, options, counts, skipped)
        batches.oneByOne++
      } else {
        // An event whose action runs hooks in replay (allowHooksInReplay) needs the real write, row by row:
        // it runs on its own, between the bulk-written runs of events before and after it.
        let start = 0
        let bulk = false
        let oneByOne = false
        for (let i = 0; i <= events.length; i++) {
          const hooked = i < events.length && this.#runsHooks(events[i]!)
          if (i < events.length && !hooked) continue
          if (i > start) {
            if (await this.#applyBatch(scope, events.slice(start, i), options, counts, skipped)) bulk = true
            else oneByOne = true
          }
          if (hooked) {
            await this.#apply(scope, events[i]!, options, counts, skipped)
            oneByOne = true
          }
          start = i + 1
        }
        if (bulk) batches.bulk++
        if (oneByOne) batches.oneByOne++
      }
      done += events.length
      cursor = events[events.length - 1]!.position
      const elapsedMs = performance.now() - started
      options.onProgress?.({
        done,
        total,
        elapsedMs,
        eventsPerSecond: elapsedMs > 0 ? (done * 1000) / elapsedMs : 0,
      })
      if (rows.length < batchSize) break
    }
    if (how.advanceSequences) await this.#advanceSequences(scope)
    return { eventsApplied: done, counts, skipped, batches, durationMs: performance.now() - started }
  }

  /** The WHERE clause (and its parameters) selecting the events to replay. */
  async #filter(scope: Scope, options: ReplayOptions): Promise<{ where: string; params: (string | null)[] }> {
    const params = new Params()
    const conds: string[] = []
    const col = (key: string) => quoteIdent(this.log.codecs.get(key)!.name)
    if (options.untilEventId !== undefined) {
      const position = await this.log.positionOf(
        (text, values) => scope.client.query(text, values),
        options.untilEventId,
        'replay: untilEventId',
      )
      if (position === undefined) {
        throw new RewindError(
          'NOT_FOUND',
          `replay: no event with id ${JSON.stringify(options.untilEventId)}`,
          {
            details: { eventId: options.untilEventId },
          },
        )
      }
      conds.push(`${col('position')} <= ${params.raw(String(position), 'int8')}`)
    } else if (options.untilTime !== undefined) {
      const cast = this.log.codecs.get('occurredAt')!.fromApp(options.untilTime)
      if (!cast.ok || cast.value === null) {
        const message = cast.ok ? 'is required' : cast.message
        throw new RewindError('VALIDATION', `replay: untilTime: ${message}`, {
          issues: [{ path: ['untilTime'], message }],
        })
      }
      conds.push(`${col('occurredAt')} <= ${params.raw(cast.value as string, 'timestamptz')}`)
    }
    if (options.tenant !== undefined && options.tenant !== null) {
      conds.push(this.log.tenantCondition(params, options.tenant))
    }
    return { where: conds.join(' AND '), params: params.values }
  }

  /** Clears the tracked tables: the configured hook, else every tracked table (one tenant's rows with `tenant`). */
  async #clear(scope: Scope, options: ReplayOptions, how: 'truncate' | 'delete'): Promise<void> {
    if (this.log.config.clearRecords) {
      await this.log.config.clearRecords({ sql: (text, params) => scope.client.query(text, params) })
      return
    }
    const tracked = this.trackedResources()
    if (tracked.length === 0) return
    const everyTenant = isEveryTenant(options)
    if (everyTenant && how === 'truncate') {
      await scope.client.query(`TRUNCATE ${tracked.map((r) => qualifiedName(r.table)).join(', ')}`)
      return
    }
    // Delete rows (of one tenant, or all of them), children before parents.
    for (const r of [...tracked].reverse()) {
      const table = r.table
      if (everyTenant) {
        await scope.client.query(`DELETE FROM ${qualifiedName(table)}`)
        continue
      }
      if (r.tenant === undefined) continue
      const codec = r.codecs.get(r.tenant)!
      const cast = codec.fromApp(options.tenant)
      if (!cast.ok)
        throw new RewindError('VALIDATION', `replay: tenant: ${cast.message}`, {
          issues: [{ path: ['tenant'], message: cast.message }],
        })
      const params = new Params()
      await scope.client.query(
        `DELETE FROM ${qualifiedName(table)} WHERE ${quoteIdent(codec.name)} = ${params.add(codec, cast.value)}`,
        params.values,
      )
    }
  }

  /** Replayed rows carry their recorded ids: move identity sequences past them (never backwards). */
  async #advanceSequences(scope: Scope): Promise<void> {
    for (const r of this.trackedResources()) {
      for (const codec of r.codecs.values()) {
        const col = codec.column as unknown as { generatedIdentity?: unknown; columnType: string }
        if (!col.generatedIdentity && !/Serial/.test(col.columnType)) continue
        const rows = await scope.client.query('SELECT pg_get_serial_sequence($1, $2) AS seq', [
          qualifiedName(r.table),
          codec.name,
        ])
        const seq = rows[0]?.seq
        if (!seq) continue
        await scope.client.query(
          `SELECT setval($1::regclass, GREATEST((SELECT last_value FROM ${seq}), (SELECT COALESCE(max(${quoteIdent(codec.name)}), 1) FROM ${qualifiedName(r.table)})))`,
          [seq],
        )
      }
    }
  }

  /** The (resource, action) targets of an event: the first matching override's, else its own. */
  route(event: ReplayedEvent): readonly (readonly [AnyResource, string])[] {
    const override = this.#override(event)
    if (override) return override.routeTo
    const own = this.#ownRoutes.get(event.resource)?.get(event.action)
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
    let byAction = this.#ownRoutes.get(event.resource)
    if (!byAction) {
      byAction = new Map()
      this.#ownRoutes.set(event.resource, byAction)
    }
    byAction.set(event.action, route)
    return route
  }

  /** The first override that routes this event, if any. */
  #override(event: ReplayedEvent): ReplayOverride | undefined {
    for (const o of this.log.config.replayOverrides) {
      const name = typeof o.resource === 'string' ? o.resource : o.resource.name
      if (name === event.resource && o.action === event.action && o.versions.includes(event.version)) return o
    }
    return undefined
  }

  /** Whether one of the event's target actions runs hooks in replay (`events.allowHooksInReplay`). */
  #runsHooks(event: ReplayedEvent): boolean {
    return this.route(event).some(([target, action]) => this.#shape(target, action).allowedChanges.size > 0)
  }

  async #apply(
    scope: Scope,
    event: ReplayedEvent,
    options: ReplayOptions,
    counts: Record<string, number>,
    skipped: SkippedEvent[],
  ): Promise<void> {
    const routed = this.#override(event) !== undefined
    for (const [target, action] of this.route(event)) {
      try {
        const called = this.#call(scope, target, action, event, routed)
        const { input, execOptions } = called instanceof Promise ? await called : called
        await this.engine.execute(target, action, input, execOptions, scope)
      } catch (error) {
        if (this.#skippable(error, options)) {
          skipped.push(skipOf(event, error))
          continue
        }
        throw this.#failure(event, target, action, error)
      }
      const key = this.#shape(target, action).countKey
      counts[key] = (counts[key] ?? 0) + 1
    }
  }

  #skippable(error: unknown, options: ReplayOptions): boolean {
    const missing = isRewindError(error, 'NOT_FOUND') || isRewindError(error, 'STALE')
    return missing && options.missingRecords === 'skip'
  }

  #failure(event: ReplayedEvent, target: AnyResource, action: string, error: unknown): RewindError {
    // A lost connection is the database's failure, not the event's: DATABASE, still naming where it happened.
    const lost = isLostConnection(error)
    return new RewindError(
      lost ? 'DATABASE' : 'REPLAY',
      `replay failed at event ${event.id} (position ${event.position}, ${event.resource}.${event.action} v${event.version}${
        target.name !== event.resource || action !== event.action ? ` routed to ${target.name}.${action}` : ''
      }): ${(error as Error).message}`,
      {
        cause: error,
        resource: target.name,
        action,
        details: lost
          ? { eventId: event.id, position: event.position, connection: true }
          : { eventId: event.id, position: event.position },
      },
    )
  }

  /**
   * Applies a batch by folding it in memory and writing rows in bulk. Gives the same tables as applying the
   * events one by one; when the fold cannot be done safely, or the database refuses a bulk statement, the
   * batch is applied one event at a time instead (from a savepoint, so nothing of the bulk attempt remains).
   */
  async #applyBatch(
    scope: Scope,
    events: readonly ReplayedEvent[],
    options: ReplayOptions,
    counts: Record<string, number>,
    skipped: SkippedEvent[],
  ): Promise<boolean> {
    const writer = new BatchWriter(scope, this.trackedResources())
    const planned = events.map((event) => ({
      event,
      targets: this.route(event),
      routed: this.#override(event) !== undefined,
    }))
    const wanted = new Map<AnyResource, Set<string>>()
    const createdHere = new Map<AnyResource, Set<string>>()
    for (const { event, targets } of planned) {
      for (const [target, action] of targets) {
        const def = target.actions[action] as { kind: string; upsert?: unknown }
        const id = target.codecs.get(target.primaryKey)!.fromText(event.recordId)
        const idKey = typeof id === 'string' ? id : JSON.stringify(id)
        // A record created earlier in this batch is already in memory: no need to look for it in the table.
        if (createdHere.get(target)?.has(idKey)) continue
        if (def.kind === 'create' && !def.upsert) {
          let created = createdHere.get(target)
          if (!created) {
            created = new Set()
            createdHere.set(target, created)
          }
          created.add(idKey)
          continue
        }
        let set = wanted.get(target)
        if (!set) {
          set = new Set()
          wanted.set(target, set)
        }
        set.add(idKey)
      }
    }
    const localCounts: Record<string, number> = {}
    const localSkipped: SkippedEvent[] = []
    let batched = true
    try {
      await writer.prefetch(wanted)
      for (const { event, targets, routed } of planned) {
        for (const [target, action] of targets) {
          let prepared: Awaited<ReturnType<ActionEngine['prepareReplay']>>
          try {
            const called = this.#call(scope, target, action, event, routed, writer)
            const { input, execOptions } = called instanceof Promise ? await called : called
            prepared = await this.engine.prepareReplay(target, action, input, execOptions, scope)
          } catch (error) {
            if (this.#skippable(error, options)) {
              localSkipped.push(skipOf(event, error))
              continue
            }
            throw this.#failure(event, target, action, error)
          }
          if (prepared.actionType === 'create' && !prepared.existing) writer.create(target, prepared.values)
          else if (prepared.actionType === 'destroy' && !prepared.soft) writer.destroy(target, prepared.id!)
          else writer.update(target, prepared.id!, prepared.values)
          const key = this.#shape(target, action).countKey
          localCounts[key] = (localCounts[key] ?? 0) + 1
        }
      }
      await scope.client.query('SAVEPOINT rewind_replay_batch')
      try {
        await writer.flush()
        await scope.client.query('RELEASE SAVEPOINT rewind_replay_batch')
      } catch (error) {
        if (process.env.REWIND_DEBUG_REPLAY) console.error('bulk write refused:', (error as Error).message)
        await scope.client.query('ROLLBACK TO SAVEPOINT rewind_replay_batch')
        await scope.client.query('RELEASE SAVEPOINT rewind_replay_batch')
        batched = false
      }
    } catch (error) {
      // Nothing was written: the one-event-at-a-time path decides (and names the failing event, if any).
      if (process.env.REWIND_DEBUG_REPLAY)
        console.error('cannot batch:', (error as Error).message, error instanceof CannotBatch)
      batched = false
    }
    if (!batched) {
      for (const event of events) await this.#apply(scope, event, options, counts, skipped)
      return false
    }
    for (const [k, n] of Object.entries(localCounts)) counts[k] = (counts[k] ?? 0) + n
    skipped.push(...localSkipped)
    return true
  }

  /** What replaying into `target.action` needs of its definition, computed once per action. */
  #shape(target: AnyResource, action: string): ActionShape {
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

  /**
   * The input and options that re-run `event` through `target.action`. Synchronous except for an upsert's
   * create, which must first know whether its record exists.
   *
   * forceChange writes the values the event recorded over whatever the action computes. An event replayed
   * through its own action keeps only the columns the event recorded (what the action computed then was
   * recorded, so anything else would be new); an event routed to another action keeps what that action's
   * changes compute, since the event was recorded by a different action and the target handles it
   * (the seeds' decision for rerouted replay). asArguments merges recorded columns into the input instead.
   * Either way, the built-in changes take the recorded id and times.
   */
  #call(
    scope: Scope,
    target: AnyResource,
    action: string,
    event: ReplayedEvent,
    routed: boolean,
    writer?: BatchWriter,
  ): ReplayCall | Promise<ReplayCall> {
    const { def, strategy, accepted, argNames, allowedChanges } = this.#shape(target, action)
    const dataEnc = event.encoders.data
    const changedEnc = event.encoders.changed
    const pk = target.codecs.get(target.primaryKey)!
    const id = pk.fromText(event.recordId)
    const forceChange = strategy === 'forceChange'
    const keepOnly = forceChange && !routed ? new Set<string>([target.primaryKey]) : undefined
    const input: Record<string, unknown> = {}
    for (const key of Object.keys(event.data)) {
      if (dataEnc !== undefined && UNAVAILABLE_ENCODERS.has(dataEnc[key] ?? '')) continue
      const value = event.data[key]!
      if (accepted.has(key)) {
        input[key] = new ExactValue(value)
        keepOnly?.add(key)
      } else if (argNames.has(key)) input[key] = decodeArgument(value, dataEnc?.[key])
      else if (!def.ignoreUnknownInputs) {
        // Runtime errors from mismatches are preferable to silent data loss.
        const expected = [...accepted, ...argNames]
        throw new RewindError(
          'VALIDATION',
          `the event's input has "${key}", which ${target.name}.${action} does not accept (it accepts ${expected.length ? expected.map((k) => `"${k}"`).join(', ') : 'no input'}); accept it, declare it as an argument, or set ignoreUnknownInputs: true on the action to drop it`,
          { resource: target.name, action, issues: [{ path: [key], message: 'is not accepted' }] },
        )
      }
    }
    const forced = new Map<string, Json>([[target.primaryKey, id]])
    const recorded = new Map<string, Json>([[target.primaryKey, id]])
    for (const key of Object.keys(event.changedAttributes)) {
      if (!target.codecs.has(key)) continue
      if (changedEnc !== undefined && UNAVAILABLE_ENCODERS.has(changedEnc[key] ?? '')) continue
      const value = event.changedAttributes[key]!
      recorded.set(key, value)
      if (forceChange) {
        forced.set(key, value)
        keepOnly?.add(key)
      } else if (accepted.has(key) && !(key in input)) input[key] = new ExactValue(value)
    }
    const call = (existing: boolean): ReplayCall => {
      const directive: ReplayDirective = {
        forced,
        recorded,
        keepOnly,
        allowedChanges,
        existing,
        loader: writer?.loader,
      }
      const tenantCodec = target.tenant !== undefined ? target.codecs.get(target.tenant)! : undefined
      const execOptions: ExecOptions = {
        replay: directive,
        authorize: false,
        context: { replaying: true, event: { id: event.id, position: event.position } },
        tenant:
          tenantCodec && event.tenant !== null
            ? tenantCodec.toApp(tenantCodec.fromText(event.tenant))
            : undefined,
      }
      return { input, execOptions }
    }
    if (!(def.kind === 'create' && def.upsert)) return call(false)
    if (writer) return writer.load(target, id).then((row) => call(row !== undefined))
    const q = selectByKey(target, id, undefined, false)
    return scope.client.queryText(q.text, q.params).then((rows) => call(rows.length > 0))
  }
}

/** What re-runs one event through one action. */
interface ReplayCall {
  readonly input: Record<string, unknown>
  readonly execOptions: ExecOptions
}
