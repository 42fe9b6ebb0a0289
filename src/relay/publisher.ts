import type { RelayMessage } from './message.js'

/** What a publisher did with a batch. */
export interface PublishResult {
  /** Messages the broker stored now. */
  readonly published: number
  /** Messages it already had (found on a look at the stream, or dropped by its duplicate detection). */
  readonly duplicates: number
}

/**
 * The seam between the relay and a broker: JetStream today (see {@link JetStreamPublisher}); Kafka or
 * RabbitMQ would be siblings (docs/relay.md says what each would take).
 *
 * The relay calls `publishBatch` with messages in position order, one batch at a time, and moves its
 * checkpoint only when it resolves. A publisher:
 * - resolves only once the broker has acknowledged (stored) every message of the batch;
 * - keeps them in order: the broker never stores a message before one that precedes it in the batch (or in
 *   an earlier batch);
 * - rejects on any failure, after which the relay calls again with the same messages (and maybe more): the
 *   messages the broker already stored must not be stored twice.
 */
export interface Publisher {
  publishBatch(messages: readonly RelayMessage[]): Promise<PublishResult>
  /** Whether it is connected now (for status). */
  readonly connected: boolean
  /** Lets its connection go; a later publishBatch connects again. */
  close(): Promise<void>
}
