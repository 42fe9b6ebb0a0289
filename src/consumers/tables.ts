import { sql } from 'drizzle-orm'
import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * Rewind's table of consumers: one row per projection or subscription (and partition) with its checkpoint
 * (`position`: every event up to it has taken effect), its lease (`owner`, `lease_until`) and its state.
 * `createTables()` creates it; with drizzle-kit, export it from your schema (`export { rewindConsumers }
 * from 'rewind-es'`) and it is in your migrations.
 */
export const rewindConsumers = pgTable(
  'rewind_consumers',
  {
    name: text('name').notNull(),
    partition: integer('partition').notNull().default(0),
    kind: text('kind').notNull(),
    position: bigint('position', { mode: 'number' }).notNull().default(0),
    /** `running`, `stopped` (a failure under the stop policy), or `rebuilding`. */
    state: text('state').notNull().default('running'),
    owner: text('owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, precision: 6, mode: 'string' }),
    lastError: text('last_error'),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true, precision: 6, mode: 'string' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 6, mode: 'string' })
      .notNull()
      .default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.name, t.partition] })],
)

/**
 * Rewind's dead-letter list: events a consumer failed to handle after its retries, parked (the consumer went
 * on) or stopped on (the consumer waits), until they are retried or skipped by name.
 */
export const rewindDeadLetters = pgTable(
  'rewind_dead_letters',
  {
    consumer: text('consumer').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    partition: integer('partition').notNull().default(0),
    eventId: text('event_id').notNull(),
    /** The record the event belongs to (`resource/record id`): later events of it wait behind this one. */
    recordKey: text('record_key').notNull(),
    /** `parked`, `retry` (asked for, the consumer picks it up), `skipped`, `stopped` (the consumer waits on it). */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    /** The position of the parked event this one waits behind (same record), if any. */
    behind: bigint('behind', { mode: 'number' }),
    firstFailedAt: timestamp('first_failed_at', { withTimezone: true, precision: 6, mode: 'string' })
      .notNull()
      .default(sql`now()`),
    lastFailedAt: timestamp('last_failed_at', { withTimezone: true, precision: 6, mode: 'string' })
      .notNull()
      .default(sql`now()`),
  },
  (t) => [
    primaryKey({ columns: [t.consumer, t.position] }),
    index('rewind_dead_letters_status').on(t.consumer, t.status),
  ],
)
