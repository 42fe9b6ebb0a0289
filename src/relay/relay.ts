import type { StartFrom, Subscription } from '../consumers/definitions.js'
import { defineSubscription } from '../consumers/definitions.js'
import { definitionError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event.js'
import type { AnyResource } from '../resource/define-resource.js'
import { DEFAULT_PREFIX, type MessageOptions, SUBJECT_PREFIX, toMessage } from './message.js'
import type { Publisher } from './publisher.js'

const BRAND = Symbol.for('rewind.relay')

/** What a relay has done in this process (lag is in `rewind.consumers.status()`, by the relay's name). */
export interface RelayStats {
  /** Events the broker stored, since this process started the relay. */
  readonly published: number
  /** Events left out because the broker had them already (a batch published again after a failure). */
  readonly duplicates: number
  readonly batches: number
  /** Events stored per second over the last 10 seconds. */
  readonly eventsPerSecond: number
  /** The position of the last event the broker acknowledged. */
  readonly lastPosition: number | undefined
  readonly connected: boolean
  /** The last failure (the batch is tried again with backoff until it goes through), cleared by a success. */
  readonly lastError: string | undefined
  readonly lastErrorAt: string | undefined
}

/** The options every relay takes, whatever its broker. */
export interface RelayOptions {
  /** The consumer's name: its checkpoint and lease (default `natsRelay` for {@link natsRelay}). */
  readonly name?: string
  /** The first token of every subject (default `rewind`). */
  readonly prefix?: string
  /** `${prefix}.${tenant ?? '_'}.${resource}.${action}` (default false: `${prefix}.${resource}.${action}`). */
  readonly tenantInSubject?: boolean
  /** A subject of your own per event (the stream must take it). */
  readonly subject?: (event: RewindEvent) => string
  /**
   * Sensitive fields that go out in clear, by resource (`{ User: ['email'] }`); every other sensitive value
   * is masked (`{"$masked":true}`) on the bus. Clear means decrypted when the log has the key.
   */
  readonly allowSensitive?: Readonly<Record<string, readonly string[]>>
  /** Only the events of these resources (default every event). */
  readonly resources?: readonly (AnyResource | string)[]
  /** Only the events of this tenant (as the event stores it). */
  readonly tenant?: string
  /** Events read and published per batch (default 1,000). */
  readonly batchSize?: number
  /** Where the relay starts the first time (default `'beginning'`: the whole log). */
  readonly start?: StartFrom
  /** Backoff between attempts after a failure: first and longest delay (default 100 ms and 5 s). */
  readonly retryDelayMs?: { readonly initial?: number; readonly max?: number }
}

/** A relay: a subscription (register it in `createRewind({ consumers })`) that publishes every event. */
export interface Relay extends Subscription {
  readonly [BRAND]: true
  /** What it has done in this process. */
  stats(): RelayStats
  /** Closes the broker connection (done when the consumers stop; a later batch connects again). */
  close(): Promise<void>
}

/** Whether a consumer is a relay (what `rewind relay` runs). */
export function isRelay(consumer: unknown): consumer is Relay {
  return typeof consumer === 'object' && consumer !== null && (consumer as Relay)[BRAND] === true
}

/** The checked message options of a relay. */
export function messageOptions(what: string, options: RelayOptions): MessageOptions {
  const prefix = options.prefix ?? DEFAULT_PREFIX
  if (typeof prefix !== 'string' || !SUBJECT_PREFIX.test(prefix)) {
    throw definitionError(
      `${what}: prefix must be subject tokens (letters, digits, _ and -, separated by dots), got ${JSON.stringify(prefix)}`,
    )
  }
  if (options.subject !== undefined && typeof options.subject !== 'function') {
    throw definitionError(`${what}: subject must be a function (event) => string`)
  }
  const allow = options.allowSensitive ?? {}
  if (
    typeof allow !== 'object' ||
    allow === null ||
    !Object.values(allow).every((v) => Array.isArray(v) && v.every((f) => typeof f === 'string'))
  ) {
    throw definitionError(
      `${what}: allowSensitive must map resource names to field names: { User: ['email'] }`,
    )
  }
  return {
    prefix,
    tenantInSubject: options.tenantInSubject === true,
    subject: options.subject,
    allowSensitive: allow,
  }
}

/**
 * A relay over any {@link Publisher}: a subscription whose `handleBatch` turns the batch into messages,
 * publishes them and returns once the broker acknowledged every one, so the checkpoint moves only then. A
 * failure (the broker down) is retried with backoff for ever (never parked), its error visible in
 * `rewind consumers` and {@link Relay.stats}; the lease makes one process publish at a time.
 */
export function defineRelay(name: string, publisher: Publisher, options: RelayOptions = {}): Relay {
  const what = `relay "${name}"`
  const message = messageOptions(what, options)
  const delays = options.retryDelayMs ?? {}
  const window: [number, number][] = []
  let published = 0
  let duplicates = 0
  let batches = 0
  let lastPosition: number | undefined
  let lastError: string | undefined
  let lastErrorAt: string | undefined
  const subscription = defineSubscription(name, {
    batchSize: options.batchSize ?? 1000,
    start: options.start ?? 'beginning',
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.resources === undefined ? {} : { filter: { resources: options.resources } }),
    retry: {
      // Never exhausted: a broker that is down is waited for, the events are never parked.
      attempts: Number.MAX_SAFE_INTEGER,
      initialDelayMs: delays.initial ?? 100,
      maxDelayMs: delays.max ?? 5000,
      onExhausted: 'stop',
    },
    async handleBatch(events, ctx) {
      const messages = events.map((e) => toMessage(e as RewindEvent, ctx.resources, message))
      try {
        const r = await publisher.publishBatch(messages)
        published += r.published
        duplicates += r.duplicates
        batches++
        lastPosition = messages[messages.length - 1]?.position ?? lastPosition
        lastError = undefined
        const now = Date.now()
        window.push([now, r.published])
        while (window.length > 0 && window[0]![0] < now - 10_000) window.shift()
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error)
        lastErrorAt = new Date().toISOString()
        throw error
      }
    },
    onStop: () => publisher.close(),
  })
  const relay: Relay = {
    ...subscription,
    [BRAND]: true,
    stats() {
      const now = Date.now()
      const recent = window.filter(([t]) => t >= now - 10_000)
      const span = recent.length > 0 ? Math.max(1000, now - recent[0]![0]) : 10_000
      return {
        published,
        duplicates,
        batches,
        eventsPerSecond: Math.round((recent.reduce((n, [, c]) => n + c, 0) * 1000) / span),
        lastPosition,
        connected: publisher.connected,
        lastError,
        lastErrorAt,
      }
    },
    close: () => publisher.close(),
  }
  return relay
}
