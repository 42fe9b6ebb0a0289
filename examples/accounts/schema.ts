import { bigint, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { eventLogTable } from 'rewind-es'

// Rewind's consumer tables (checkpoints and leases, dead letters): exported here, drizzle-kit migrates them too.
export { rewindConsumers, rewindDeadLetters } from 'rewind-es'

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 6, mode: 'string' })

export const orgs = pgTable('orgs', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})

export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  email: text('email').notNull().unique(),
  name: text('name'),
  hashedPassword: text('hashed_password'),
  orgId: uuid('org_id').references(() => orgs.id),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})

export const memberships = pgTable('memberships', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id),
  orgId: uuid('org_id')
    .notNull()
    .references(() => orgs.id),
  role: text('role').notNull(),
})

export const articles = pgTable('articles', {
  id: uuid('id').primaryKey(),
  authorId: uuid('author_id')
    .notNull()
    .references(() => users.id),
  title: text('title').notNull(),
  status: text('status').notNull().default('draft'),
  deletedAt: ts('deleted_at'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})

/** The event log: one actor column per actor type. */
export const events = eventLogTable('events', {
  actors: { userId: uuid('user_id'), systemActor: text('system_actor') },
})
