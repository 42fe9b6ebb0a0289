/**
 * Publishing the event log to a message broker: {@link natsRelay} (NATS JetStream), and {@link defineRelay}
 * with a {@link Publisher} of your own. Needs the optional peer dependencies `@nats-io/transport-node` and
 * `@nats-io/jetstream` for NATS. See docs/relay.md for the message format.
 * @module
 */
export { JetStreamPublisher, type JetStreamPublisherOptions } from './jetstream-publisher.js'
export {
  defaultSubject,
  HEADERS,
  headerValue,
  type RelayMessage,
  subjectToken,
  toMessage,
} from './message.js'
export { type NatsRelayOptions, natsRelay } from './nats-relay.js'
export type { Publisher, PublishResult } from './publisher.js'
export { defineRelay, isRelay, type Relay, type RelayOptions, type RelayStats } from './relay.js'
