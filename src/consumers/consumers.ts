import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Database } from '../data/database.js'
import { RewindError } from '../errors/rewind-error.js'
import type { EventLog } from '../events/event-log.js'
import { checkpoints, type Run } from './checkpoint-store.js'
import { type DeadLetter, deadLetters } from './dead-letters.js'
import type { Consumer, Projection } from './definitions.js'
import { type RebuildResult, rebuildProjection } from './rebuild.js'
import { ConsumerRunner } from './runner.js'
import { announce, CONTROL_CHANNEL, eventsChannel, WakeUps } from './wake-ups.js'

/** Options of {@link Consumers.start}. */
export interface StartOptions {
  /** Only these consumers (by name); default every async projection and subscription. */
  readonly only?: readonly string[]
  /** How long a lease lasts without a heartbeat: a dead process loses it after this (default 5,000 ms). */
  readonly leaseMs?: number
  /** The longest wait between two looks at the log when no notification comes (default 1,000 ms). */
  readonly pollMs?: number
  /** Partitions of one consumer this process runs at most (default all of them). */
  readonly maxPartitions?: number
  /** Failures that are not a handler's (a lost database connection): the consumer tries again after. */
  readonly onError?: (error: unknown, consumer: string) => void
}

/** One consumer (and partition) as `rewind consumers` shows it. */
export interface ConsumerStatus {
  readonly name: string
  readonly kind: 'projection' | 'subscription'
  readonly lifecycle: 'inline' | 'async'
  readonly partition: number
  /** Every event up to this position has taken effect (inline: the end of the log). */
  readonly position: number
  /** Events after the checkpoint, and the age in seconds of the oldest of them. */
  readonly lagEvents: number
  readonly lagSeconds: number
  /**
   * `running` (a live process holds the lease), `idle` (nobody does), `stopped` (on a failing event, until
   * it is retried or skipped), `new` (never ran), `inline` (runs in the actions' transactions).
   */
  readonly state: 'running' | 'idle' | 'stopped' | 'new' | 'inline'
  readonly owner: string | null
  readonly lastError: string | null
  readonly lastErrorAt: string | null
  /** Events on its dead-letter list that are parked, stopped on, or waiting for a retry. */
  readonly deadLetters: number
  /** False for a row of the consumers table that this instance has no definition for. */
  readonly registered: boolean
}

/**
 * The consumers of a Rewind instance (`rewind.consumers`): run the async ones in this process, see where
 * each one is, and retry, skip or rebuild by name.
 */
export class Consumers {
  readonly #byName: ReadonlyMap<string, Consumer>
  readonly #run: Run
  #runners: ConsumerRunner[] = []
  #onError: (error: unknown, consumer: string) => void = () => {}
  #wake: WakeUps | undefined
  readonly #held = new Map<string, number>()

  /** @internal made by the Rewind instance. */
  constructor(
    readonly db: Database,
    readonly log: EventLog,
    consumers: readonly Consumer[],
  ) {
    this.#byName = new Map(consumers.map((c) => [c.name, c]))
    this.#run = (text, params) => db.query(text, params ?? [])
  }

  /** The registered consumers, by name. */
  get definitions(): ReadonlyMap<string, Consumer> {
    return this.#byName
  }

  #owner: string | undefined

  /** This process's name in the leases while its consumers run (`host:pid:random`), else undefined. */
  get owner(): string | undefined {
    return this.#owner
  }

  /** Whether this process runs consumers now. */
  get running(): boolean {
    return this.#runners.length > 0
  }

  #get(name: string): Consumer {
    const c = this.#byName.get(name)
    if (!c) {
      throw new RewindError(
        'NOT_FOUND',
        `no consumer named "${name}"; registered: ${[...this.#byName.keys()].join(', ') || 'none'} (createRewind({ consumers: [...] }))`,
        { details: { consumer: name } },
      )
    }
    return c
  }

  /**
   * Runs the async projections and subscriptions in this process, until {@link stop} (or `rewind.close()`).
   * Safe to call in every instance of the app: each consumer (and partition) runs in one process at a time,
   * under a lease; another process takes over within `leaseMs` of this one dying. Resolves once every
   * consumer has its checkpoint row (created at its `start` position).
   */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.#runners.length > 0) {
      throw new RewindError(
        'INVALID_DEFINITION',
        'rewind.consumers.start(): the consumers already run in this process',
      )
    }
    for (const name of options.only ?? []) this.#get(name)
    const chosen = [...this.#byName.values()].filter(
      (c) =>
        !(c.kind === 'projection' && c.lifecycle === 'inline') &&
        (!options.only || options.only.includes(c.name)),
    )
    const leaseMs = options.leaseMs ?? 5000
    const pollMs = options.pollMs ?? 1000
    const maxPartitions = options.maxPartitions ?? Number.POSITIVE_INFINITY
    for (const [what, v] of [
      ['leaseMs', leaseMs],
      ['pollMs', pollMs],
      ['maxPartitions', maxPartitions],
    ] as const) {
      if (!(v >= 1))
        throw new RewindError('VALIDATION', `rewind.consumers.start(): ${what} must be at least 1, got ${v}`)
    }
    for (const c of chosen) {
      for (let p = 0; p < c.partitions; p++) {
        if (await checkpoints.exists(this.#run, c.name, p)) continue
        const start =
          c.start === 'beginning'
            ? 0
            : c.start === 'now'
              ? await this.log.store.settledEnd(this.db)
              : c.start.afterPosition
        await checkpoints.create(this.#run, c.name, p, c.kind, start)
      }
    }
    const wake = new WakeUps(this.db, [eventsChannel(this.log.config.table), CONTROL_CHANNEL])
    await wake.start()
    this.#wake = wake
    const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
    this.#owner = owner
    const deps = {
      db: this.db,
      log: this.log,
      wake,
      owner,
      leaseMs,
      pollMs,
      canTake: (name: string) => (this.#held.get(name) ?? 0) < maxPartitions,
      held: (name: string, delta: 1 | -1) => this.#held.set(name, (this.#held.get(name) ?? 0) + delta),
      onError: options.onError ?? (() => {}),
    }
    this.#onError = deps.onError
    for (const c of chosen) {
      for (let p = 0; p < c.partitions; p++) {
        const runner = new ConsumerRunner(c as ConstructorParameters<typeof ConsumerRunner>[0], p, deps)
        this.#runners.push(runner)
        runner.start()
      }
    }
  }

  /** Stops the consumers of this process, letting their leases go (another process takes over at once). */
  async stop(): Promise<void> {
    const runners = this.#runners
    this.#runners = []
    await Promise.all(runners.map((r) => r.stop()))
    // A subscription's onStop closes what it holds (a relay's connection): its failure is the app's onError's,
    // and never keeps the others from stopping.
    for (const c of new Set(runners.map((r) => r.consumer))) {
      if (c.kind !== 'subscription' || !c.onStop) continue
      try {
        await c.onStop()
      } catch (error) {
        this.#onError(error, c.name)
      }
    }
    await this.#wake?.close()
    this.#wake = undefined
    this.#owner = undefined
  }

  /**
   * Waits until the async consumers (all, or those named) have taken in every event committed before the
   * call: for reading a projection after writing, in scripts and tests. They may run in any process. Fails
   * with `INTERNAL` if one is stopped on an event, or has not caught up within `timeoutMs` (default 30 s).
   */
  async catchUp(
    options: { readonly only?: readonly string[]; readonly timeoutMs?: number } = {},
  ): Promise<void> {
    for (const name of options.only ?? []) this.#get(name)
    const chosen = [...this.#byName.values()].filter(
      (c) =>
        !(c.kind === 'projection' && c.lifecycle === 'inline') &&
        (!options.only || options.only.includes(c.name)),
    )
    if (chosen.length === 0) return
    const target = await this.log.store.settledEnd(this.db)
    const deadline = Date.now() + (options.timeoutMs ?? 30_000)
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const rows = await checkpoints.list(this.#run)
      const behind: string[] = []
      for (const c of chosen) {
        for (let p = 0; p < c.partitions; p++) {
          const r = rows.find((x) => x.name === c.name && x.partition === p)
          if (r?.state === 'stopped') {
            throw new RewindError(
              'INTERNAL',
              `consumer "${c.name}" is stopped on a failing event: ${r.lastError ?? ''}; see rewind consumers`,
              {
                details: { consumer: c.name },
              },
            )
          }
          if (!r || r.position < target)
            behind.push(`${c.name}${c.partitions > 1 ? `#${p}` : ''} at ${r?.position ?? 'no checkpoint'}`)
        }
      }
      if (behind.length === 0) return
      if (Date.now() > deadline) {
        throw new RewindError(
          'INTERNAL',
          `consumers did not catch up to position ${target} within ${options.timeoutMs ?? 30_000} ms: ${behind.join(', ')} (are they started? rewind.consumers.start())`,
          { details: { position: target } },
        )
      }
      await new Promise((r) => setTimeout(r, wait))
    }
  }

  /** Where every consumer is: position, lag, state, last error, dead letters (the figures of `rewind consumers`). */
  async status(): Promise<ConsumerStatus[]> {
    const rows = await checkpoints.list(this.#run)
    const open = await deadLetters.openCounts(this.#run)
    const out: ConsumerStatus[] = []
    const end = await this.log.store.end(this.db)
    for (const c of this.#byName.values()) {
      if (c.kind === 'projection' && c.lifecycle === 'inline') {
        out.push({
          name: c.name,
          kind: 'projection',
          lifecycle: 'inline',
          partition: 0,
          position: end,
          lagEvents: 0,
          lagSeconds: 0,
          state: 'inline',
          owner: null,
          lastError: null,
          lastErrorAt: null,
          deadLetters: 0,
          registered: true,
        })
        continue
      }
      const mine = rows.filter((r) => r.name === c.name)
      for (let p = 0; p < c.partitions; p++) {
        const r = mine.find((x) => x.partition === p)
        const lag = await this.log.store.lag(this.db, r?.position ?? 0)
        out.push({
          name: c.name,
          kind: c.kind,
          lifecycle: 'async',
          partition: p,
          position: r?.position ?? 0,
          lagEvents: lag.events,
          lagSeconds: lag.seconds,
          state: !r ? 'new' : r.state === 'stopped' ? 'stopped' : r.leaseLive ? 'running' : 'idle',
          owner: r?.leaseLive ? r.owner : null,
          lastError: r?.lastError ?? null,
          lastErrorAt: r?.lastErrorAt ?? null,
          deadLetters: p === 0 ? (open.get(c.name) ?? 0) : 0,
          registered: true,
        })
      }
    }
    for (const r of rows) {
      if (this.#byName.has(r.name)) continue
      const lag = await this.log.store.lag(this.db, r.position)
      out.push({
        name: r.name,
        kind: r.kind === 'projection' ? 'projection' : 'subscription',
        lifecycle: 'async',
        partition: r.partition,
        position: r.position,
        lagEvents: lag.events,
        lagSeconds: lag.seconds,
        state: r.state === 'stopped' ? 'stopped' : r.leaseLive ? 'running' : 'idle',
        owner: r.leaseLive ? r.owner : null,
        lastError: r.lastError,
        lastErrorAt: r.lastErrorAt,
        deadLetters: r.partition === 0 ? (open.get(r.name) ?? 0) : 0,
        registered: false,
      })
    }
    return out
  }

  /** The dead-letter list (of one consumer, or all), oldest first. */
  async deadLetters(name?: string): Promise<DeadLetter[]> {
    if (name !== undefined) this.#get(name)
    return deadLetters.list(this.#run, name)
  }

  async #letter(name: string, eventId: unknown): Promise<DeadLetter> {
    const position = await this.log.store.positionOf(this.db, eventId, 'eventId')
    const letter =
      position === undefined
        ? undefined
        : (await deadLetters.list(this.#run, name)).find((l) => l.position === position)
    if (!letter) {
      throw new RewindError(
        'NOT_FOUND',
        `consumer "${name}" has no dead letter for event ${String(eventId)}`,
        {
          details: { consumer: name, eventId },
        },
      )
    }
    return letter
  }

  /**
   * Delivers dead letters again: the one of `eventId` (with the events of its record parked behind it, in
   * order), or every open one. A consumer stopped on an event runs again from it. Returns how many events
   * were put up for retry; the running consumer picks them up at once.
   */
  async retry(name: string, eventId?: unknown): Promise<number> {
    this.#get(name)
    const target = eventId === undefined ? undefined : await this.#letter(name, eventId)
    // A consumer stopped on an event has its checkpoint just before it: running again delivers it.
    const stopped = (await deadLetters.list(this.#run, name)).filter(
      (l) => l.status === 'stopped' && (!target || l.recordKey === target.recordKey),
    )
    for (const l of stopped) {
      await deadLetters.remove(this.#run, name, l.position)
      await checkpoints.resume(this.#run, name, l.partition)
    }
    const marked = await deadLetters.markRetry(this.#run, name, target?.position)
    await this.#notify()
    return stopped.length + marked.length
  }

  /**
   * Gives up on one event: it stays on the list as `skipped` and is never delivered (nor applied by a
   * rebuild). A consumer stopped on it goes on after it.
   */
  async skip(name: string, eventId: unknown): Promise<void> {
    this.#get(name)
    const letter = await this.#letter(name, eventId)
    await this.db.transaction(async (client) => {
      const run: Run = (t, p) => client.query(t, p ?? [])
      await deadLetters.skip(run, name, letter.position)
      if (letter.status === 'stopped') {
        await checkpoints.reset(run, name, letter.position, letter.partition)
        await checkpoints.resume(run, name, letter.partition)
      }
    })
    await this.#notify()
  }

  /** Rebuilds a projection from the log (see {@link rebuildProjection}); the app keeps running meanwhile. */
  async rebuild(name: string): Promise<RebuildResult> {
    const c = this.#get(name)
    if (c.kind !== 'projection') {
      throw new RewindError(
        'VALIDATION',
        `"${name}" is a subscription; only projections are rebuilt (their side effects are outside the database)`,
      )
    }
    const result = await rebuildProjection(this.db, this.log.store, c as Projection)
    await this.#notify()
    return result
  }

  async #notify(): Promise<void> {
    await announce(this.db, CONTROL_CHANNEL).catch(() => {})
  }
}
