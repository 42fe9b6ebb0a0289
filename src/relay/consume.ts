import type { ConsumerMessages, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { type ConsumerEvent, type EventHandler, handlersFor, recordKey } from '../consumers/definitions.js'
import { definitionError, RewindError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event.js'
import type { ActionName, AnyResource } from '../resource/define-resource.js'
import { optionalImport } from '../util/optional-import.js'
import { type Inbox, memoryInbox } from './inbox.js'
import { DEFAULT_PREFIX, HEADERS, NO_TENANT, SUBJECT_PREFIX, subjectFilter } from './message.js'
import { serversText } from './servers.js'

// ---------------------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------------------

/** What every handler gets about the delivery, besides what the inbox adds. */
export interface DeliveryContext {
  /** The event's id as text: the idempotency key of side effects outside the inbox's transaction. */
  readonly idempotencyKey: string
  /** 1 on the first delivery, then 2, 3, ... (JetStream's count, across processes). */
  readonly attempt: number
  readonly subject: string
  /** The message's sequence in the stream. */
  readonly streamSequence: number
}

/**
 * Registers a handler for the events of one resource: one action, several, or `'*'`. With the resource's
 * definition (shared with the app that runs Rewind), the event's `data` and `changedAttributes` are typed from
 * the action; with the resource's name as a string, the event is a plain {@link RewindEvent}.
 */
export interface OnEvent<C> {
  <R extends AnyResource, const N extends ActionName<R> | '*'>(
    resource: R,
    action: N | readonly N[],
    handle: (event: ConsumerEvent<R, N extends '*' ? ActionName<R> : N>, ctx: C) => unknown,
  ): EventHandler<C>
  (
    resource: string,
    action: string | readonly string[],
    handle: (event: RewindEvent, ctx: C) => unknown,
  ): EventHandler<C>
}

const SUBJECT_TOKEN = /^[^\s.*>]+$/

function onEvent<C>(resource: AnyResource | string, action: string | readonly string[], handle: unknown) {
  const name =
    typeof resource === 'string' ? resource : resource?.kind === 'rewind.resource' ? resource.name : undefined
  if (name === undefined || !SUBJECT_TOKEN.test(name)) {
    throw definitionError(
      'on(resource, action, handler): expected a resource made with defineResource, or its name (no spaces, dots, * or >)',
    )
  }
  const list = typeof action === 'string' ? [action] : [...(action ?? [])]
  if (list.length === 0)
    throw definitionError(`on(${name}, ...): name at least one action, or '*' for all of them`)
  for (const a of list) {
    if (typeof a !== 'string' || (a !== '*' && !SUBJECT_TOKEN.test(a))) {
      throw definitionError(`on(${name}, ${JSON.stringify(a)}): expected an action name or '*'`, name)
    }
    if (typeof resource !== 'string' && a !== '*' && !Object.hasOwn(resource.actions, a)) {
      throw definitionError(
        `on(${name}, '${a}'): ${name} has no action "${a}". Actions: ${Object.keys(resource.actions).join(', ')}`,
        name,
        a,
      )
    }
  }
  if (typeof handle !== 'function')
    throw definitionError(`on(${name}, ${list.join(', ')}): expected a handler function`)
  return {
    resource: name,
    actions: list.includes('*') ? undefined : new Set(list),
    handle: handle as EventHandler<C>['handle'],
  }
}

// ---------------------------------------------------------------------------------------------------------
// The consumer
// ---------------------------------------------------------------------------------------------------------

/** An event that will not be processed: its handler failed on every attempt, or the message is malformed. */
export interface ConsumeDeadLetter {
  /** Undefined when the message is not an event in Rewind's format. */
  readonly event: RewindEvent | undefined
  readonly error: unknown
  readonly attempts: number
  readonly subject: string
  readonly streamSequence: number
}

/** What {@link consumeRewindEvents} takes. */
export interface ConsumeConfig<X extends object> {
  /** NATS servers to connect to (the consumer closes this connection on stop)... */
  readonly servers?: string | readonly string[]
  /** ...or a connection of yours (left open on stop). */
  readonly connection?: NatsConnection
  /** The JetStream stream the relay publishes to. */
  readonly stream: string
  /** The durable consumer's name: created if missing, resumed from its acknowledgements if present. */
  readonly durable: string
  /** `(on) => [on(User, 'create', (event, ctx) => ...), on('Order', '*', ...)]` */
  readonly handlers: (on: OnEvent<DeliveryContext & X>) => readonly EventHandler<DeliveryContext & X>[]
  /** Where processed ids are kept (default {@link memoryInbox}). */
  readonly inbox?: Inbox<X>
  /** The subject layout of the relay: its prefix (default `rewind`), and whether subjects carry the tenant. */
  readonly prefix?: string
  readonly tenants?: boolean
  /** Only this tenant's events (implies `tenants`; events without a tenant are `'_'`). */
  readonly tenant?: string
  /** The consumer's subject filter; default: the subjects of the handlers' resources and actions. */
  readonly subjects?: readonly string[]
  /** Where a new durable consumer starts: the stream's first message (default) or the next one published. */
  readonly start?: 'all' | 'new'
  /** Handler attempts before an event goes to `onDeadLetter` (and is terminated in JetStream); default 5. */
  readonly maxDeliver?: number
  /** The delay before a failed event is redelivered, doubled each attempt (default 200 ms, at most 30 s). */
  readonly backoff?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number }
  /**
   * How long JetStream waits for an acknowledgement before it redelivers (default 30 s; set when the durable is
   * created). Messages wait in this process's buffer (4 × concurrency, at least 10) with their ack wait running:
   * keep it above the time that many handlers take, or the slow ones' followers come again (the inbox skips them).
   */
  readonly ackWaitMs?: number
  /** Handlers running at once (default 1); the events of one record are always processed one at a time, in order. */
  readonly concurrency?: number
  /** Called once per dead letter; the message is then terminated. If it throws, the message is redelivered. */
  readonly onDeadLetter?: (letter: ConsumeDeadLetter) => unknown
  /** Errors outside handlers (the connection, the subscription); the consumer stops after them. */
  readonly onError?: (error: unknown) => void
}

/** Counts since the consumer started. */
export interface ConsumeStats {
  /** Events whose handlers ran and succeeded. */
  readonly processed: number
  /** Events skipped because the inbox had them (redeliveries, duplicates). */
  readonly duplicates: number
  /** Handler failures (each followed by a redelivery or a dead letter). */
  readonly failures: number
  readonly deadLetters: number
  /** Events acknowledged without a handler (no handler for the resource, action or tenant). */
  readonly ignored: number
}

/** A running consumer (see {@link consumeRewindEvents}). */
export interface RewindEventConsumer {
  readonly durable: string
  readonly stats: ConsumeStats
  /** Stops pulling, hands back messages not yet started, waits for the handlers in flight, then closes. */
  stop(): Promise<void>
  /** Resolves once the consumer has stopped (after {@link stop}, or after a fatal error of the connection). */
  readonly closed: Promise<void>
}

const DURABLE = /^[A-Za-z0-9_-]{1,100}$/

/**
 * The delay of a message handed back on stop. Redelivered at once, it could go to this process's pull request,
 * still open at the server while the connection closes, and then wait out the whole ack wait.
 */
const HANDED_BACK_DELAY_MS = 1000

function positive(name: string, value: number | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback
  if (
    typeof value !== 'number' ||
    !(integer ? Number.isSafeInteger(value) : Number.isFinite(value)) ||
    value <= 0
  ) {
    throw definitionError(
      `consumeRewindEvents: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`,
    )
  }
  return value
}

/** A message read as an event; `error` says why it is not one. */
type Parsed =
  | { readonly ok: true; readonly event: RewindEvent; readonly id: string; readonly key: string }
  | { readonly ok: false; readonly error: RewindError; readonly key: string }

function parseMessage(m: JsMsg): Parsed {
  const h = m.headers
  const headerKey = (() => {
    const resource = h?.get(HEADERS.resource)
    const recordId = h?.get(HEADERS.recordId)
    return resource && recordId !== undefined ? recordKey({ resource, recordId }) : `#${m.seq}`
  })()
  const bad = (message: string, cause?: unknown) =>
    ({
      ok: false,
      key: headerKey,
      error: new RewindError('VALIDATION', `message ${m.seq} on ${m.subject}: ${message}`, {
        cause,
        details: { streamSequence: m.seq, subject: m.subject },
      }),
    }) as const
  let body: unknown
  try {
    body = m.json()
  } catch (error) {
    return bad(
      'expected a JSON body (an event as rewind.events() returns it), got text that is not JSON',
      error,
    )
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return bad('expected a JSON object as body')
  const e = body as Record<string, unknown>
  for (const [field, type] of [
    ['resource', 'string'],
    ['action', 'string'],
    ['recordId', 'string'],
    ['position', 'number'],
  ] as const) {
    if (typeof e[field] !== type)
      return bad(`expected the event's ${field} as a ${type}, got ${typeof e[field]}`)
  }
  const headerId = h?.get(HEADERS.eventId)
  const id = headerId || (typeof e.id === 'string' || typeof e.id === 'number' ? String(e.id) : '')
  if (id === '') return bad(`expected an event id (header ${HEADERS.eventId} or the body's id)`)
  const event = body as RewindEvent
  return { ok: true, event, id, key: recordKey(event) }
}

/**
 * Consumes Rewind's events from NATS JetStream in another service: a durable pull consumer, handlers typed by
 * resource and action, acknowledgement after the handler succeeds, redelivery with backoff when it fails, a
 * dead letter after `maxDeliver` attempts, and an inbox that skips events already processed.
 *
 * Delivery is at least once; with an inbox the handler's effect happens once per event id (exactly once when the
 * handler writes through {@link databaseInbox}'s transaction). The events of one record are processed in stream
 * order, one at a time; a failing event holds back the later events of its record (in this process) until it
 * succeeds or is dead-lettered.
 *
 * ```ts
 * const consumer = await consumeRewindEvents({
 *   servers: 'nats://127.0.0.1:4222', stream: 'REWIND', durable: 'billing',
 *   inbox: databaseInbox({ db }),
 *   handlers: (on) => [on(User, 'create', (e, { db }) => db.insert(customers).values({ id: e.recordId, email: e.data.email }))],
 * })
 * await consumer.stop()
 * ```
 */
export async function consumeRewindEvents<X extends object = {}>(
  config: ConsumeConfig<X>,
): Promise<RewindEventConsumer> {
  if (config === null || typeof config !== 'object')
    throw definitionError('consumeRewindEvents: expected a config object')
  const { stream, durable } = config
  if (typeof stream !== 'string' || !DURABLE.test(stream)) {
    throw definitionError(
      `consumeRewindEvents: stream must be a JetStream stream name, got ${JSON.stringify(stream)}`,
    )
  }
  if (typeof durable !== 'string' || !DURABLE.test(durable)) {
    throw definitionError(
      `consumeRewindEvents: the durable name ${JSON.stringify(durable)} is not valid; use letters, digits, _ and - (at most 100)`,
    )
  }
  if ((config.servers === undefined) === (config.connection === undefined)) {
    throw definitionError(
      'consumeRewindEvents: give either servers (to connect) or connection (yours), not both or neither',
    )
  }
  if (typeof config.handlers !== 'function') {
    throw definitionError(
      "consumeRewindEvents: expected handlers: (on) => [on(Resource, 'action', handler), ...]",
    )
  }
  const handlers = config.handlers(onEvent as OnEvent<DeliveryContext & X>)
  if (!Array.isArray(handlers) || handlers.length === 0) {
    throw definitionError('consumeRewindEvents: handlers must return at least one on(...)')
  }
  const maxDeliver = positive('maxDeliver', config.maxDeliver, 5)
  const initialDelayMs = positive('backoff.initialDelayMs', config.backoff?.initialDelayMs, 200, false)
  const maxDelayMs = positive('backoff.maxDelayMs', config.backoff?.maxDelayMs, 30_000, false)
  const ackWaitMs = positive('ackWaitMs', config.ackWaitMs, 30_000)
  const concurrency = positive('concurrency', config.concurrency, 1)
  const start = config.start ?? 'all'
  if (start !== 'all' && start !== 'new') {
    throw definitionError(`consumeRewindEvents: start must be 'all' or 'new', got ${JSON.stringify(start)}`)
  }
  const prefix = config.prefix ?? DEFAULT_PREFIX
  if (typeof prefix !== 'string' || !SUBJECT_PREFIX.test(prefix)) {
    throw definitionError(`consumeRewindEvents: prefix ${JSON.stringify(prefix)} is not a subject prefix`)
  }
  const tenant = config.tenant
  if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '' || tenant === '*')) {
    throw definitionError(
      `consumeRewindEvents: tenant must be a tenant as events store it ('_' for events without one), got ${JSON.stringify(tenant)}`,
    )
  }
  const layout = { prefix, tenants: config.tenants === true || tenant !== undefined }
  const subjects = config.subjects
    ? [...config.subjects]
    : subjectsOf(handlers, (resource, action) =>
        subjectFilter({ resource, action, tenant: tenant ?? '*' }, layout.prefix, layout.tenants),
      )
  if (subjects.length === 0 || subjects.some((s) => typeof s !== 'string' || s === '')) {
    throw definitionError('consumeRewindEvents: subjects must be a non-empty list of subjects')
  }
  const inbox: Inbox<X> = config.inbox ?? (memoryInbox() as Inbox<X>)
  if (typeof inbox?.once !== 'function') {
    throw definitionError(
      'consumeRewindEvents: inbox must be an Inbox (memoryInbox(), databaseInbox({ db }), ...)',
    )
  }

  const { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } = await optionalImport<
    typeof import('@nats-io/jetstream')
  >('@nats-io/jetstream', 'consumeRewindEvents')
  const own = config.connection === undefined
  let nc: NatsConnection
  if (config.connection) nc = config.connection
  else {
    const { connect } = await optionalImport<typeof import('@nats-io/transport-node')>(
      '@nats-io/transport-node',
      'consumeRewindEvents',
    )
    try {
      nc = await connect({
        servers: typeof config.servers === 'string' ? config.servers : [...config.servers!],
      })
    } catch (error) {
      throw new RewindError(
        'BROKER',
        `consumeRewindEvents: could not connect to NATS at ${serversText(config.servers!)}`,
        {
          cause: error,
          details: { connection: true },
        },
      )
    }
  }

  let messages: ConsumerMessages
  try {
    const jsm = await jetstreamManager(nc)
    await ensureConsumer(jsm, {
      stream,
      durable,
      subjects,
      broadFilter: `${prefix}.>`,
      ackWaitMs,
      deliverAll: start === 'all',
      AckPolicy,
      DeliverPolicy,
    })
    const consumer = await jetstream(nc).consumers.get(stream, durable)
    messages = await consumer.consume({ max_messages: Math.max(10, concurrency * 4) })
  } catch (error) {
    if (own) await nc.close().catch(() => {})
    throw error
  }

  const stats = { processed: 0, duplicates: 0, failures: 0, deadLetters: 0, ignored: 0 }
  /** Records held back by a failed event: its stream sequence and when it is due again. */
  const blocked = new Map<string, { seq: number; until: number }>()
  /** How many times this process handed a message back only because its record was held back. */
  const heldBack = new Map<number, number>()
  /** The last task of each record, so the next one of the same record waits for it. */
  const tails = new Map<string, Promise<void>>()
  const inFlight = new Set<Promise<void>>()
  let running = 0
  const waiting: (() => void)[] = []
  let stopping = false

  // A lost connection makes ack, nak and term throw: the message is then redelivered after the ack wait, and the
  // loop ends on the closed subscription, so there is nothing more to do with the error here.
  const reply = (m: JsMsg, how: 'ack' | 'nak' | 'term', arg?: number | string) => {
    try {
      if (how === 'ack') m.ack()
      else if (how === 'nak') m.nak(arg as number | undefined)
      else m.term(arg as string)
    } catch {}
  }
  const backoffMs = (attempt: number) => Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, attempt - 1))

  async function deadLetter(m: JsMsg, letter: ConsumeDeadLetter): Promise<boolean> {
    try {
      await config.onDeadLetter?.(letter)
    } catch (error) {
      config.onError?.(error)
      reply(m, 'nak', backoffMs(letter.attempts))
      return false
    }
    stats.deadLetters++
    reply(m, 'term', `rewind: dead letter after ${letter.attempts} attempt(s)`)
    return true
  }

  async function process(m: JsMsg, parsed: Parsed): Promise<void> {
    const now = Date.now()
    const hold = blocked.get(parsed.key)
    if (hold && hold.seq !== m.seq) {
      // A stale hold (the failed message went to another process of this durable, or was removed) expires.
      if (now > hold.until + ackWaitMs) blocked.delete(parsed.key)
      else if (hold.seq < m.seq) {
        heldBack.set(m.seq, (heldBack.get(m.seq) ?? 0) + 1)
        reply(m, 'nak', Math.max(50, hold.until - now + 10))
        return
      }
    }
    const attempt = Math.max(1, m.info.deliveryCount - (heldBack.get(m.seq) ?? 0))
    const settle = () => {
      if (blocked.get(parsed.key)?.seq === m.seq) blocked.delete(parsed.key)
      heldBack.delete(m.seq)
    }
    if (!parsed.ok) {
      // A malformed message never gets better: straight to the dead letters.
      if (
        await deadLetter(m, {
          event: undefined,
          error: parsed.error,
          attempts: attempt,
          subject: m.subject,
          streamSequence: m.seq,
        })
      )
        settle()
      return
    }
    const { event } = parsed
    const matching =
      tenant !== undefined && (event.tenant ?? NO_TENANT) !== tenant ? [] : handlersFor(handlers, event)
    if (matching.length === 0) {
      stats.ignored++
      reply(m, 'ack')
      settle()
      return
    }
    try {
      const ran = await inbox.once(durable, parsed.id, async (x) => {
        const ctx = { ...x, idempotencyKey: parsed.id, attempt, subject: m.subject, streamSequence: m.seq }
        for (const h of matching) await h.handle(event as ConsumerEvent, ctx)
      })
      if (ran) stats.processed++
      else stats.duplicates++
      reply(m, 'ack')
      settle()
    } catch (error) {
      stats.failures++
      if (attempt >= maxDeliver) {
        if (
          await deadLetter(m, { event, error, attempts: attempt, subject: m.subject, streamSequence: m.seq })
        )
          settle()
        return
      }
      const delay = backoffMs(attempt)
      blocked.set(parsed.key, { seq: m.seq, until: Date.now() + delay })
      reply(m, 'nak', delay)
    }
  }

  async function slot(): Promise<void> {
    if (running < concurrency) {
      running++
      return
    }
    await new Promise<void>((resolve) => waiting.push(resolve))
  }
  function release() {
    const next = waiting.shift()
    if (next) next()
    else running--
  }

  let failure: unknown
  const loop = (async () => {
    try {
      for await (const m of messages) {
        if (stopping || nc.isClosed()) {
          // Not started: hand it back now rather than after the ack wait (with a lost connection, the ack wait
          // will: a handler whose result could not be acknowledged is not started).
          reply(m, 'nak', HANDED_BACK_DELAY_MS)
          continue
        }
        await slot()
        const parsed = parseMessage(m)
        const previous = tails.get(parsed.key)
        const task: Promise<void> = (previous ?? Promise.resolve())
          .then(() =>
            stopping || nc.isClosed() ? reply(m, 'nak', HANDED_BACK_DELAY_MS) : process(m, parsed),
          )
          .catch((error) => {
            config.onError?.(error)
            reply(m, 'nak', backoffMs(1))
          })
          .finally(() => {
            release()
            inFlight.delete(task)
            if (tails.get(parsed.key) === task) tails.delete(parsed.key)
          })
        tails.set(parsed.key, task)
        inFlight.add(task)
      }
    } catch (error) {
      failure = error
    }
    if (!stopping && failure === undefined) {
      failure = new RewindError(
        'BROKER',
        `consumeRewindEvents: the consumer "${durable}" stopped receiving messages`,
        {
          details: { connection: true },
        },
      )
    }
    if (failure !== undefined && !stopping) config.onError?.(failure)
    while (inFlight.size > 0) await Promise.allSettled([...inFlight])
  })()

  let closing: Promise<void> | undefined
  const close = async () => {
    stopping = true
    await messages.close().catch(() => {})
    await loop
    if (own) await nc.drain().catch(() => {})
    else if (!nc.isClosed()) await nc.flush().catch(() => {})
  }
  const closed = loop.then(() => (closing ??= close()))

  return {
    durable,
    get stats() {
      return { ...stats }
    },
    stop: () => (closing ??= close()),
    closed,
  }
}

/** Server addresses for a message: user and password left out. */
/** The subjects of the handlers' resources and actions, without overlaps. */
function subjectsOf(
  handlers: readonly EventHandler<never>[],
  subject: (resource: string, action: string) => string,
): string[] {
  const whole = new Set(handlers.filter((h) => !h.actions).map((h) => h.resource))
  const out = new Set<string>()
  for (const h of handlers) {
    if (!h.actions) out.add(subject(h.resource, '*'))
    else if (!whole.has(h.resource)) for (const a of h.actions) out.add(subject(h.resource, a))
  }
  return [...out]
}

async function ensureConsumer(
  jsm: JetStreamManager,
  o: {
    stream: string
    durable: string
    subjects: string[]
    broadFilter: string
    ackWaitMs: number
    deliverAll: boolean
    AckPolicy: typeof import('@nats-io/jetstream').AckPolicy
    DeliverPolicy: typeof import('@nats-io/jetstream').DeliverPolicy
  },
): Promise<void> {
  try {
    await jsm.streams.info(o.stream)
  } catch (error) {
    throw new RewindError(
      'NOT_FOUND',
      `consumeRewindEvents: JetStream has no stream "${o.stream}" (the relay creates it)`,
      {
        cause: error,
        details: { stream: o.stream },
      },
    )
  }
  const existing = await jsm.consumers.info(o.stream, o.durable).catch(() => undefined)
  if (existing) return
  const base = {
    durable_name: o.durable,
    ack_policy: o.AckPolicy.Explicit,
    deliver_policy: o.deliverAll ? o.DeliverPolicy.All : o.DeliverPolicy.New,
    ack_wait: o.ackWaitMs * 1_000_000,
    // Attempts are counted here, not by the server: a message handed back because its record is held
    // behind a failed one is not an attempt.
    max_deliver: -1,
  }
  if (o.subjects.length === 1) {
    await jsm.consumers.add(o.stream, { ...base, filter_subject: o.subjects[0]! })
    return
  }
  try {
    await jsm.consumers.add(o.stream, { ...base, filter_subjects: o.subjects })
  } catch (error) {
    if (!/requires server/i.test(String((error as Error)?.message))) throw error
    // Servers before 2.10 take one filter: take the relay's whole subject space, and let the handlers choose.
    await jsm.consumers.add(o.stream, { ...base, filter_subject: o.broadFilter })
  }
}
