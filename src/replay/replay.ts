import type { ActionEngine } from '../actions/engine.js'
import { newScope, type Scope, settleAfterTransaction } from '../actions/scope.js'
import type { Database } from '../data/database.js'
import { isLostConnection } from '../errors/database-failure.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { ReplayedEvent } from '../events/event.js'
import type { EventLog } from '../events/event-log.js'
import type { EventSelection } from '../events/store/selection.js'
import type { AnyResource } from '../resource/define-resource.js'
import { BatchRowStore, isCannotFold } from '../rows/batch-row-store.js'
import { rowKey } from '../rows/records.js'
import type { RowStore } from '../rows/row-store.js'
import { sortTablesByDependencies } from '../schema/create-tables.js'
import { qualifiedName } from '../schema/names.js'
import { advanceSequences, clearTables } from './clear-tables.js'
import { inLockedTransaction } from './lock-tables.js'
import { replayCall } from './recorded-values.js'
import type { ReplayOptions, ReplayResult, SkippedEvent } from './replay-options.js'
import { Routes } from './routes.js'

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

/** What one replay has done so far. */
interface Tally {
  readonly counts: Record<string, number>
  readonly skipped: SkippedEvent[]
}

/**
 * Rebuilds the tracked tables from the event log: clear, then re-run every event's action (or the actions
 * an override routes it to) through the ordinary pipeline with a replay mode (recorded values forced, hooks
 * off, no new events), in one transaction.
 */
export class Replayer {
  readonly routes: Routes

  constructor(
    readonly db: Database,
    readonly engine: ActionEngine,
    readonly log: EventLog,
    readonly resources: ReadonlyMap<string, AnyResource>,
  ) {
    this.routes = new Routes(log.config.replayOverrides, resources)
  }

  #tracked: readonly AnyResource[] | undefined

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
    const store = this.log.store
    const selection = await this.#selection(scope, options)
    await clearTables(scope, this.trackedResources(), this.log.config.clearRecords, options.tenant, how.clear)
    // The tables were just emptied inside this transaction, so the planner's statistics say they are tiny and
    // it would scan them whole for every batch's lookups by key: make it use the primary-key indexes.
    await scope.client.query('SET LOCAL enable_seqscan = off')

    const total = await store.count(scope.client, selection)
    const tally: Tally = { counts: {}, skipped: [] }
    const batches = { bulk: 0, oneByOne: 0 }
    let done = 0
    let cursor: number | undefined
    for (;;) {
      const next = cursor === undefined ? selection : { ...selection, afterPosition: cursor }
      const events = await store.scan(scope.client, next, batchSize, 'replayed')
      if (events.length === 0) break
      if (options.mode === 'naive') {
        for (const event of events) await this.#apply(scope, scope.rows, event, options, tally)
        batches.oneByOne++
      } else {
        // An event whose action runs hooks in replay (allowHooksInReplay) needs the real write, row by row:
        // it runs on its own, between the bulk-written runs of events before and after it.
        let start = 0
        let bulk = false
        let oneByOne = false
        for (let i = 0; i <= events.length; i++) {
          const hooked = i < events.length && this.routes.runsHooks(events[i]!)
          if (i < events.length && !hooked) continue
          if (i > start) {
            if (await this.#applyBatch(scope, events.slice(start, i), options, tally)) bulk = true
            else oneByOne = true
          }
          if (hooked) {
            await this.#apply(scope, scope.rows, events[i]!, options, tally)
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
      if (events.length < batchSize) break
    }
    if (how.advanceSequences) await advanceSequences(scope, this.trackedResources())
    return {
      eventsApplied: done,
      counts: tally.counts,
      skipped: tally.skipped,
      batches,
      durationMs: performance.now() - started,
    }
  }

  /** The events to replay: up to `untilEventId` or `untilTime`, of one tenant or all. */
  async #selection(scope: Scope, options: ReplayOptions): Promise<EventSelection> {
    const store = this.log.store
    let untilPosition: number | undefined
    let to: string | undefined
    if (options.untilEventId !== undefined) {
      untilPosition = await store.positionOf(scope.client, options.untilEventId, 'replay: untilEventId')
      if (untilPosition === undefined) {
        throw new RewindError(
          'NOT_FOUND',
          `replay: no event with id ${JSON.stringify(options.untilEventId)}`,
          {
            details: { eventId: options.untilEventId },
          },
        )
      }
    } else if (options.untilTime !== undefined) {
      const cast = store.table.codecs.get('occurredAt')!.fromApp(options.untilTime)
      if (!cast.ok || cast.value === null) {
        const message = cast.ok ? 'is required' : cast.message
        throw new RewindError('VALIDATION', `replay: untilTime: ${message}`, {
          issues: [{ path: ['untilTime'], message }],
        })
      }
      to = cast.value as string
    }
    return {
      ...(untilPosition !== undefined ? { untilPosition } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(isEveryTenant(options) ? {} : { tenant: options.tenant }),
    }
  }

  /**
   * Runs one event through the pipeline, once per target action, writing through `rows`. A failure names the
   * event; a missing record is skipped and reported with `missingRecords: 'skip'`.
   */
  async #apply(
    scope: Scope,
    rows: RowStore,
    event: ReplayedEvent,
    options: ReplayOptions,
    tally: Tally,
  ): Promise<void> {
    const routed = this.routes.override(event) !== undefined
    for (const [target, action] of this.routes.route(event)) {
      const shape = this.routes.shape(target, action)
      try {
        const call = replayCall(target, action, shape, event, routed)
        await this.engine.execute(target, action, call.input, call.options, { scope, store: rows })
      } catch (error) {
        if (isCannotFold(error)) throw error
        if (this.#skippable(error, options)) {
          tally.skipped.push(skipOf(event, error))
          continue
        }
        throw this.#failure(event, target, action, error)
      }
      tally.counts[shape.countKey] = (tally.counts[shape.countKey] ?? 0) + 1
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
   * Applies a batch through a {@link BatchRowStore}: every event runs through the pipeline with its rows in
   * memory, then the rows are written in bulk. Gives the same tables as applying the events one by one; when
   * the fold cannot be done safely, or the database refuses a bulk statement, the batch is applied one event
   * at a time instead (from a savepoint, so nothing of the bulk attempt remains), which names a failing event.
   */
  async #applyBatch(
    scope: Scope,
    events: readonly ReplayedEvent[],
    options: ReplayOptions,
    tally: Tally,
  ): Promise<boolean> {
    const rows = new BatchRowStore(scope.client, this.trackedResources())
    const local: Tally = { counts: {}, skipped: [] }
    let folded = true
    try {
      await rows.prefetch(this.#wanted(events))
      for (const event of events) await this.#apply(scope, rows, event, options, local)
      await scope.client.query('SAVEPOINT rewind_replay_batch')
      try {
        await rows.flush()
        await scope.client.query('RELEASE SAVEPOINT rewind_replay_batch')
      } catch {
        // The database refused a bulk statement: the one-event-at-a-time path decides, and names the event.
        await scope.client.query('ROLLBACK TO SAVEPOINT rewind_replay_batch')
        await scope.client.query('RELEASE SAVEPOINT rewind_replay_batch')
        folded = false
      }
    } catch {
      // Nothing was written yet. A batch that cannot be folded, or an event that fails, is applied one at a
      // time: the same tables, and the failing event named as the one-by-one path names it.
      folded = false
    }
    if (!folded) {
      for (const event of events) await this.#apply(scope, scope.rows, event, options, tally)
      return false
    }
    for (const [k, n] of Object.entries(local.counts)) tally.counts[k] = (tally.counts[k] ?? 0) + n
    tally.skipped.push(...local.skipped)
    return true
  }

  /** The rows a batch's events will read: those of updates, destroys and upserts not created earlier in it. */
  #wanted(events: readonly ReplayedEvent[]): Map<AnyResource, Set<string>> {
    const wanted = new Map<AnyResource, Set<string>>()
    const createdHere = new Map<AnyResource, Set<string>>()
    for (const event of events) {
      for (const [target, action] of this.routes.route(event)) {
        const def = target.actions[action] as { kind: string; upsert?: unknown }
        const id = rowKey(target.codecs.get(target.primaryKey)!.fromText(event.recordId))
        // A record created earlier in this batch is already in memory: no need to look for it in the table.
        if (createdHere.get(target)?.has(id)) continue
        const into = def.kind === 'create' && !def.upsert ? createdHere : wanted
        let set = into.get(target)
        if (!set) {
          set = new Set()
          into.set(target, set)
        }
        set.add(id)
      }
    }
    return wanted
  }
}
