/**
 * Publishing the event log to a message broker: {@link natsRelay} (NATS JetStream), and {@link defineRelay}
 * with a {@link Publisher} of your own; consuming it in another service: {@link consumeRewindEvents}. Needs the optional peer dependencies `@nats-io/transport-node` and
 * `@nats-io/jetstream` for NATS. See docs/relay.md for the message format.
 * @module
 */

export {
  type ConsumeConfig,
  type ConsumeDeadLetter,
  type ConsumeStats,
  consumeRewindEvents,
  type DeliveryContext,
  type OnEvent,
  type RewindEventConsumer,
} from './consume.js'
export {
  type DatabaseInboxConfig,
  databaseInbox,
  type Inbox,
  type InboxTransaction,
  inboxTableStatement,
  memoryInbox,
  type ProcessedIds,
  processedIdsInbox,
} from './inbox.js'
export { JetStreamPublisher, type JetStreamPublisherOptions } from './jetstream-publisher.js'
export {
  DEFAULT_PREFIX,
  defaultSubject,
  HEADERS,
  headerValue,
  NO_TENANT,
  type RelayMessage,
  subjectFilter,
  subjectToken,
  toMessage,
} from './message.js'
export { type NatsRelayOptions, natsRelay } from './nats-relay.js'
export type { Publisher, PublishResult } from './publisher.js'
export { defineRelay, isRelay, type Relay, type RelayOptions, type RelayStats } from './relay.js'
