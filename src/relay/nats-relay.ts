import { definitionError } from '../errors/rewind-error.js'
import { JetStreamPublisher } from './jetstream-publisher.js'
import { defineRelay, messageOptions, type Relay, type RelayOptions } from './relay.js'

/** What {@link natsRelay} takes. */
export interface NatsRelayOptions extends RelayOptions {
  /** The NATS servers: `'nats://127.0.0.1:4222'` or several. */
  readonly servers: string | readonly string[]
  /** The JetStream stream (default `REWIND`); made if missing, with subjects `<prefix>.>`. */
  readonly stream?: string
  /** Make the stream when it does not exist (default true). */
  readonly createStream?: boolean
  /** The duplicate window of a stream the relay makes (default 120,000 ms). */
  readonly duplicateWindowMs?: number
  /** Messages waiting for their acknowledgement, at most (default 5,000): past it, publishing waits. */
  readonly maxInFlight?: number
  /** Time without an acknowledgement after which the batch fails and is tried again (default 10,000 ms). */
  readonly ackTimeoutMs?: number
  /**
   * The stream is the relay's alone (default true): see docs/relay.md. False for a stream other publishers
   * write to as well; a republished event is then dropped only within the duplicate window.
   */
  readonly exclusiveStream?: boolean
  /** More options of `connect()` of `@nats-io/transport-node` (credentials, TLS, ...). */
  readonly connectionOptions?: Readonly<Record<string, unknown>>
}

const STREAM = /^[A-Za-z0-9_-]{1,255}$/

function positive(what: string, key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) {
    throw definitionError(`${what}: ${key} must be a positive integer, got ${value}`)
  }
  return value
}

/**
 * A relay to NATS JetStream: publishes every committed event, in position order, to a stream (subject
 * `<prefix>.<resource>.<action>`, body the event as `rewind.events()` gives it, headers with id, position,
 * version, tenant, actor and time; see docs/relay.md). Register it as a consumer and run it with
 * `rewind relay` or `rewind.consumers.start()`:
 *
 * ```ts
 * import { natsRelay } from 'rewind-es/relay'
 * const relay = natsRelay({ servers: 'nats://127.0.0.1:4222' })
 * const rewind = await createRewind({ db, resources, eventLog, consumers: [relay] })
 * await rewind.consumers.start({ only: [relay.name] })
 * ```
 *
 * Needs the optional peer dependencies `@nats-io/transport-node` and `@nats-io/jetstream`.
 */
export function natsRelay(options: NatsRelayOptions): Relay {
  const name = options?.name ?? 'natsRelay'
  const what = `natsRelay "${name}"`
  if (options === null || typeof options !== 'object') throw definitionError(`${what}: expected options`)
  const servers = options.servers
  if (
    !(typeof servers === 'string' && servers.length > 0) &&
    !(Array.isArray(servers) && servers.length > 0 && servers.every((s) => typeof s === 'string'))
  ) {
    throw definitionError(
      `${what}: servers must be a NATS URL or a list of them, e.g. 'nats://127.0.0.1:4222'`,
    )
  }
  const stream = options.stream ?? 'REWIND'
  if (typeof stream !== 'string' || !STREAM.test(stream)) {
    throw definitionError(
      `${what}: stream must be a JetStream stream name (letters, digits, _ and -), got ${JSON.stringify(stream)}`,
    )
  }
  const { prefix } = messageOptions(what, options)
  const publisher = new JetStreamPublisher({
    servers,
    stream,
    subjects: [`${prefix}.>`],
    createStream: options.createStream !== false,
    duplicateWindowMs: positive(what, 'duplicateWindowMs', options.duplicateWindowMs, 120_000),
    maxInFlight: positive(what, 'maxInFlight', options.maxInFlight, 5000),
    ackTimeoutMs: positive(what, 'ackTimeoutMs', options.ackTimeoutMs, 10_000),
    exclusive: options.exclusiveStream !== false,
    connectionOptions: options.connectionOptions,
  })
  return defineRelay(name, publisher, options)
}
