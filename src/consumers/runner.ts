import type { Database } from '../data/database.js'
import type { RewindEvent } from '../events/event.js'
import type { EventLog } from '../events/event-log.js'
import { LogTail } from '../events/log-tail.js'
import { checkpoints, type Run } from './checkpoint-store.js'
import { deadLetters } from './dead-letters.js'
import {
  type Consumer,
  type ConsumerEvent,
  handlersFor,
  type Projection,
  partitionOf,
  recordKey,
  type Subscription,
} from './definitions.js'
import { applyProjection, applyProjectionBatch, projectionContext } from './inline.js'
import type { WakeUps } from './wake-ups.js'

/** What every runner of a process shares. */
export interface RunnerDeps {
  readonly db: Database
  readonly log: EventLog
  readonly wake: WakeUps
  /** This process's name in leases. */
  readonly owner: string
  readonly leaseMs: number
  /** The longest wait between two looks at the log when no notification comes. */
  readonly pollMs: number
  /** Whether this process may take one more lease of `consumer` (partitions per process). */
  canTake(consumer: string): boolean
  held(consumer: string, delta: 1 | -1): void
  /** Failures that are not the handlers' (a lost database): reported, then the runner tries again. */
  readonly onError: (error: unknown, consumer: string) => void
}

/** The lease was lost or the checkpoint moved under us (a takeover, a rebuild): start again from the row. */
class Resync extends Error {}
/** The consumer stopped on an event (stop policy). */
class Stopped extends Error {}

const GAP_GRACE_MS = 20
/** A batch handler failed on a batch of several events: which one is not known. */
const SPLIT = -1

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function message(error: unknown): string {
  const m = error instanceof Error ? error.message : String(error)
  return m.length > 2000 ? `${m.slice(0, 2000)}…` : m
}

/**
 * Runs one consumer's partition in this process: takes its lease (or waits for it), follows the log from the
 * checkpoint with the tail's never-skip rule, applies batches (projections: handlers and checkpoint in one
 * transaction, fenced on the lease) or delivers them (subscriptions: at least once, checkpoint after), retries
 * with backoff, parks or stops on events that keep failing.
 */
export class ConsumerRunner {
  #stopped = false
  #loop: Promise<void> | undefined
  #leased = false
  #lost = false
  #checkpoint = 0
  #tail: LogTail | undefined
  /** The next batch, read while the current one is applied. */
  #prefetched: Promise<RewindEvent[]> | undefined
  #blocked = new Map<string, number>()
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #notified = false
  #control = true
  #wakeUp: (() => void) | undefined
  #unsubscribe: (() => void) | undefined
  #lastControl = 0
  readonly #run: Run

  constructor(
    readonly consumer: Exclude<Consumer, Projection & { lifecycle: 'inline' }>,
    readonly partition: number,
    readonly deps: RunnerDeps,
  ) {
    this.#run = (text, params) => deps.db.query(text, params ?? [])
  }

  start(): void {
    this.#unsubscribe = this.deps.wake.subscribe(() => {
      this.#notified = true
      this.#control = true
      this.#wakeUp?.()
    })
    this.#loop = this.#main()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#wakeUp?.()
    for (const end of this.#pauses) end()
    this.#unsubscribe?.()
    await this.#loop
  }

  readonly #pauses = new Set<() => void>()

  /** Waits `ms`, or until a stop (a backoff between attempts; notifications do not cut it short). */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer)
        this.#pauses.delete(end)
        resolve()
      }
      const timer = setTimeout(end, ms)
      this.#pauses.add(end)
    })
  }

  /** Waits for a notification, a stop, or `ms`. */
  async #idle(ms: number): Promise<void> {
    if (this.#notified || this.#stopped) {
      this.#notified = false
      return
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wakeUp = done
    })
    this.#wakeUp = undefined
    this.#notified = false
  }

  async #main(): Promise<void> {
    let gapWait = 2
    let failures = 0
    while (!this.#stopped) {
      try {
        if (!this.#leased && !(await this.#acquire())) {
          await this.#idle(Math.max(50, this.deps.leaseMs / 2))
          continue
        }
        if (this.#lost) throw new Resync('lease lost')
        if (this.#control || Date.now() - this.#lastControl > 1000) await this.#controlPass()
        const prefetched = this.#prefetched
        this.#prefetched = undefined
        const events = await (prefetched ?? this.#tail!.poll(this.consumer.batchSize))
        failures = 0
        if (events.length === 0) {
          if (this.#tail!.atGap) {
            // A transaction holding a lower position is still open: look again soon (its commit also notifies).
            await this.#idle(gapWait)
            gapWait = Math.min(gapWait * 2, this.deps.pollMs)
          } else {
            gapWait = 2
            await this.#idle(this.deps.pollMs)
          }
          continue
        }
        gapWait = 2
        if (events.length === this.consumer.batchSize) {
          // A full batch: more is waiting. Read the next one while this one is applied (the tail's cursor is
          // in memory only; a batch that is never applied is never checkpointed).
          const next = this.#tail!.poll(this.consumer.batchSize)
          next.catch(() => {})
          this.#prefetched = next
        }
        if (this.consumer.kind === 'projection') await this.#settle(events)
        else await this.#deliver(events)
      } catch (error) {
        if (error instanceof Resync || error instanceof Stopped) {
          await this.#drop(error instanceof Stopped)
          continue
        }
        this.deps.onError(error, this.consumer.name)
        await this.#drop(false)
        failures++
        await this.#idle(Math.min(100 * 2 ** failures, 5000))
      }
    }
    await this.#drop(false, true)
  }

  async #acquire(): Promise<boolean> {
    const { name } = this.consumer
    if (!this.deps.canTake(name)) return false
    // Counted before the lease is asked for: this process's other partitions must not take one meanwhile.
    this.deps.held(name, 1)
    let position: number | undefined
    try {
      position = await checkpoints.acquire(
        this.#run,
        name,
        this.partition,
        this.deps.owner,
        this.deps.leaseMs,
      )
    } finally {
      if (position === undefined) this.deps.held(name, -1)
    }
    if (position === undefined) return false
    this.#leased = true
    this.#lost = false
    this.#checkpoint = position
    // A gap is usually a concurrent commit a moment away (whose NOTIFY wakes us): only a gap that stays open
    // for GAP_GRACE_MS costs the tail a transaction id as its bound.
    this.#tail = new LogTail(this.deps.log.store, this.deps.db, position, GAP_GRACE_MS)
    this.#blocked = await deadLetters.blocking(this.#run, name, this.partition)
    this.#control = true
    const every = Math.max(20, Math.floor(this.deps.leaseMs / 3))
    this.#heartbeat = setInterval(() => {
      checkpoints
        .renew(this.#run, name, this.partition, this.deps.owner, this.deps.leaseMs)
        .then((ok) => {
          if (!ok) this.#lost = true
        })
        .catch(() => {})
    }, every)
    this.#heartbeat.unref?.()
    return true
  }

  /** Lets the lease go (stopped: the row was already released by the stop). */
  async #drop(stopped: boolean, release = !stopped): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
    if (!this.#leased) return
    this.#leased = false
    this.#tail = undefined
    this.#prefetched = undefined
    this.deps.held(this.consumer.name, -1)
    if (release && !this.#lost) {
      await checkpoints
        .release(this.#run, this.consumer.name, this.partition, this.deps.owner)
        .catch(() => {})
    }
  }

  /** Whether this partition handles the event (and the consumer at all). */
  #mine(event: RewindEvent): boolean {
    if (partitionOf(event, this.consumer.partitions) !== this.partition) return false
    return this.consumer.matches(event)
  }

  #delay(attempt: number): number {
    const { initialDelayMs, maxDelayMs } = this.consumer.retry
    return Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1))
  }

  /** Dead letters asked to be retried, and the records that hold events back (also after a skip elsewhere). */
  async #controlPass(): Promise<void> {
    this.#control = false
    this.#lastControl = Date.now()
    const { name } = this.consumer
    const due = await deadLetters.due(this.#run, name, this.partition)
    const failed = new Set<string>()
    for (const letter of due) {
      if (this.#stopped || this.#lost) break
      if (failed.has(letter.recordKey)) {
        await deadLetters.repark(this.#run, name, letter.position, null, 0)
        continue
      }
      const [event] = await this.deps.log.store.at(this.deps.db, [letter.position])
      if (!event) {
        await deadLetters.remove(this.#run, name, letter.position)
        continue
      }
      let error: unknown
      let attempts = 0
      for (let attempt = 1; attempt <= this.consumer.retry.attempts && !this.#stopped; attempt++) {
        attempts = attempt
        try {
          if (this.consumer.kind === 'projection') {
            const projection = this.consumer
            await this.deps.db.transaction(async (client) => {
              const run: Run = (t, p) => client.query(t, p ?? [])
              // Taken first: its row stays locked until the commit, so it is applied once, whoever else tries.
              if (!(await deadLetters.take(run, name, letter.position))) return
              await applyProjection(projection, event, await projectionContext(this.deps.db, client, false))
            })
          } else {
            await this.#handleOne(this.consumer, event, attempt)
            await deadLetters.remove(this.#run, name, letter.position)
          }
          error = undefined
          break
        } catch (e) {
          error = e
          if (attempt < this.consumer.retry.attempts) await sleep(this.#delay(attempt))
        }
      }
      if (error !== undefined) {
        failed.add(letter.recordKey)
        await deadLetters.repark(this.#run, name, letter.position, message(error), attempts)
      }
    }
    this.#blocked = await deadLetters.blocking(this.#run, name, this.partition)
  }

  /** Moves the checkpoint from where this runner has it to `to`, on `run` (fenced on owner and position). */
  async #advance(run: Run, to: number): Promise<void> {
    const { name } = this.consumer
    const { owner, leaseMs } = this.deps
    if (!(await checkpoints.advance(run, name, this.partition, owner, leaseMs, this.#checkpoint, to))) {
      throw new Resync('moved')
    }
  }

  /** Parks `event` behind the first open dead letter of its record, if it has one; true when it did. */
  async #parkIfBehind(run: Run, event: RewindEvent): Promise<boolean> {
    const head = this.#blocked.get(recordKey(event))
    if (head === undefined) return false
    const why = `waits behind the parked event at position ${head}`
    await deadLetters.put(run, this.consumer.name, this.partition, event, 'parked', 0, why, head)
    return true
  }

  // ── projections ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Applies `events` (all polled events, in position order; the checkpoint moves past the ones the
   * projection does not handle too). A failing event: the events before it are applied, it is retried alone
   * with backoff, then parked or stopped on.
   */
  async #settle(events: readonly RewindEvent[]): Promise<void> {
    let queue = events
    while (queue.length > 0) {
      const r = await this.#apply(queue)
      if (r === undefined) return
      if (r.index === SPLIT) {
        // A batch handler failed: find the failing event by applying the events one at a time.
        for (const event of queue) await this.#settle([event])
        return
      }
      if (r.index > 0) {
        await this.#settle(queue.slice(0, r.index))
        queue = queue.slice(r.index)
        continue
      }
      await this.#retryHead(queue[0]!, r.error)
      queue = queue.slice(1)
    }
  }

  /** One transaction: fence, handlers, checkpoint. Undefined when it committed, else the failing event. */
  async #apply(list: readonly RewindEvent[]): Promise<{ index: number; error: unknown } | undefined> {
    const projection = this.consumer as Projection
    const { name } = projection
    const from = this.#checkpoint
    const to = list[list.length - 1]!.position
    let failed: { index: number; error: unknown } | undefined
    try {
      await this.deps.db.transaction(async (client) => {
        const run: Run = (t, p) => client.query(t, p ?? [])
        const fence = await checkpoints.fence(run, name, this.partition, this.deps.owner, from)
        if (fence !== 'ok') throw new Resync(fence)
        let ctx: Awaited<ReturnType<typeof projectionContext>> | undefined
        const batch: [number, RewindEvent][] = []
        for (let i = 0; i < list.length; i++) {
          const event = list[i]!
          if (!this.#mine(event) || (await this.#parkIfBehind(run, event))) continue
          if (projection.handleBatch) {
            batch.push([i, event])
            continue
          }
          ctx ??= await projectionContext(this.deps.db, client, false)
          try {
            await applyProjection(projection, event, ctx)
          } catch (error) {
            failed = { index: i, error }
            throw error
          }
        }
        if (batch.length > 0) {
          ctx ??= await projectionContext(this.deps.db, client, false)
          try {
            await applyProjectionBatch(
              projection,
              batch.map(([, e]) => e),
              ctx,
            )
          } catch (error) {
            // One event: that one failed. Several: which one is not known (SPLIT: apply them one by one).
            failed = { index: batch.length === 1 ? batch[0]![0] : SPLIT, error }
            throw error
          }
        }
        await this.#advance(run, to)
      })
    } catch (error) {
      if (failed) return failed
      throw error
    }
    this.#checkpoint = to
    return undefined
  }

  /** Retries the event at the head of the queue alone, then parks it or stops on it. */
  async #retryHead(event: RewindEvent, first: unknown): Promise<void> {
    let error = first
    const { attempts } = this.consumer.retry
    for (let attempt = 2; attempt <= attempts; attempt++) {
      if (this.#stopped || this.#lost) throw new Resync('stopping')
      await sleep(this.#delay(attempt - 1))
      const r = await this.#apply([event])
      if (r === undefined) return
      error = r.error
    }
    await this.#giveUp(event, error, attempts)
  }

  /** After the last attempt: park (the checkpoint moves past the event) or stop (it stays before it). */
  async #giveUp(event: RewindEvent, error: unknown, attempts: number): Promise<void> {
    const { name, retry } = this.consumer
    const from = this.#checkpoint
    const text = message(error)
    await this.deps.db.transaction(async (client) => {
      const run: Run = (t, p) => client.query(t, p ?? [])
      const fence = await checkpoints.fence(run, name, this.partition, this.deps.owner, from)
      if (fence !== 'ok') throw new Resync(fence)
      await deadLetters.put(
        run,
        name,
        this.partition,
        event,
        retry.onExhausted === 'park' ? 'parked' : 'stopped',
        attempts,
        text,
      )
      if (retry.onExhausted === 'park') {
        await this.#advance(run, event.position)
        await checkpoints.fail(run, name, this.partition, text, false)
      } else {
        // The checkpoint stays before the event: it is delivered again once retried, or passed over once skipped.
        await checkpoints.fail(run, name, this.partition, text, true)
      }
    })
    if (retry.onExhausted === 'stop') throw new Stopped(text)
    this.#checkpoint = event.position
    this.#blocked.set(recordKey(event), event.position)
  }

  // ── subscriptions ───────────────────────────────────────────────────────────────────────────────────

  async #handleOne(subscription: Subscription, event: RewindEvent, attempt: number): Promise<void> {
    if (subscription.handleBatch) {
      await subscription.handleBatch([event as ConsumerEvent], {
        attempt,
        consumer: subscription.name,
        partition: this.partition,
        resources: this.deps.log.resources,
      })
      return
    }
    for (const h of handlersFor(subscription.handlers!, event)) {
      await h.handle(event as ConsumerEvent, { idempotencyKey: String(event.id), attempt })
    }
  }

  /** Calls `fn` until it succeeds or the attempts run out; the last error, or undefined on success. */
  async #attempt(fn: (attempt: number) => Promise<unknown>): Promise<{ error: unknown } | undefined> {
    let error: unknown
    for (let attempt = 1; attempt <= this.consumer.retry.attempts; attempt++) {
      if (this.#stopped || this.#lost) throw new Resync('stopping')
      try {
        await fn(attempt)
        return undefined
      } catch (e) {
        error = e
        // Seen in `rewind consumers` while it is retried (a relay whose server is down retries for ever).
        await checkpoints
          .fail(this.#run, this.consumer.name, this.partition, message(e), false)
          .catch(() => {})
        if (attempt < this.consumer.retry.attempts) await this.#pause(this.#delay(attempt))
      }
    }
    return { error }
  }

  /** Delivers `events` (at least once), then moves the checkpoint past them. */
  async #deliver(events: readonly RewindEvent[]): Promise<void> {
    const subscription = this.consumer as Subscription
    const { name } = subscription
    const ready: RewindEvent[] = []
    for (const event of events) {
      if (this.#mine(event) && !(await this.#parkIfBehind(this.#run, event))) ready.push(event)
    }
    let one = ready
    if (subscription.handleBatch && ready.length > 0) {
      const batch = ready as ConsumerEvent[]
      const failed = await this.#attempt((attempt) =>
        Promise.resolve(
          subscription.handleBatch!(batch, {
            attempt,
            consumer: name,
            partition: this.partition,
            resources: this.deps.log.resources,
          }),
        ),
      )
      if (!failed) one = []
      else if (ready.length === 1) {
        await this.#failed(ready[0]!, failed.error, events)
        one = []
      }
      // Else the batch is delivered one event at a time, to find the events that fail.
    }
    for (const event of one) {
      // An earlier event of its record may have been parked in this batch.
      if (await this.#parkIfBehind(this.#run, event)) continue
      const failed = await this.#attempt((attempt) => this.#handleOne(subscription, event, attempt))
      if (failed) await this.#failed(event, failed.error, events)
    }
    const to = events[events.length - 1]!.position
    await this.#advance(this.#run, to)
    this.#checkpoint = to
  }

  /** A subscription's event failed every attempt: park it and go on, or stop before it. */
  async #failed(event: RewindEvent, error: unknown, batch: readonly RewindEvent[]): Promise<void> {
    const { name, retry } = this.consumer
    const text = message(error)
    if (retry.onExhausted === 'park') {
      await deadLetters.put(this.#run, name, this.partition, event, 'parked', retry.attempts, text)
      await checkpoints.fail(this.#run, name, this.partition, text, false)
      this.#blocked.set(recordKey(event), event.position)
      return
    }
    // Everything before the event was delivered: the checkpoint moves up to just before it.
    const before = [...batch].reverse().find((e) => e.position < event.position)?.position ?? this.#checkpoint
    if (before !== this.#checkpoint) {
      await this.#advance(this.#run, before)
      this.#checkpoint = before
    }
    await deadLetters.put(this.#run, name, this.partition, event, 'stopped', retry.attempts, text)
    await checkpoints.fail(this.#run, name, this.partition, text, true)
    throw new Stopped(text)
  }
}
