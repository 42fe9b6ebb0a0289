import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import { change, defineResource, eventLogTable, generateId, setAttribute, timestamps } from '../src/index.js'

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 6, mode: 'string' })

export const items = pgTable('items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  seq: integer('seq').notNull().default(0),
  status: text('status').notNull().default('active'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
  deletedAt: ts('deleted_at'),
})
export const notes = pgTable('notes', {
  id: uuid('id').primaryKey(),
  itemId: uuid('item_id')
    .notNull()
    .references(() => items.id),
  body: text('body').notNull(),
})
/** The same shape as items, for untracked writes. */
export const plainItems = pgTable('plain_items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  seq: integer('seq').notNull().default(0),
  status: text('status').notNull().default('active'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
  deletedAt: ts('deleted_at'),
})

/** Accounts for the read-modify-write workload: a deposit reads the balance and adds to it. */
export const accounts = pgTable('accounts', {
  id: uuid('id').primaryKey(),
  owner: text('owner').notNull(),
  balance: integer('balance').notNull().default(0),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})

/** The audit-trigger peer's tables (not resources: plain Drizzle tables; bench/peers.ts adds the trigger). */
export const itemsTrig = pgTable('items_trig', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  seq: integer('seq').notNull().default(0),
  status: text('status').notNull().default('active'),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
  deletedAt: ts('deleted_at'),
})
export const accountsTrig = pgTable('accounts_trig', {
  id: uuid('id').primaryKey(),
  owner: text('owner').notNull(),
  balance: integer('balance').notNull().default(0),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
})

export const events = eventLogTable('events', {
  actors: { userId: uuid('user_id'), systemActor: text('system_actor') },
})

const itemActions = (a: any) => ({
  create: a.create({ accept: ['name'], changes: [generateId(), timestamps()] }),
  rename: a.update({ accept: ['name'], changes: [timestamps({ create: false })] }),
  bump: a.update({
    changes: [timestamps({ create: false }), (cs: any) => cs.set('seq', (cs.record?.seq ?? 0) + 1)],
  }),
  upsert: a.create({
    accept: ['name'],
    changes: [generateId(), timestamps()],
    upsert: { identity: 'byName', update: ['updatedAt'] },
  }),
  archive: a.destroy({
    soft: true,
    changes: [setAttribute('status', 'archived'), setAttribute('deletedAt', () => new Date().toISOString())],
  }),
  destroy: a.destroy(),
  legacyCreate: a.create({ accept: ['name'], changes: [timestamps()] }),
})

export const Item = defineResource(items, {
  name: 'Item',
  identities: { byName: ['name'] },
  actions: itemActions,
  events: {
    ignore: ['legacyCreate'],
    versions: { create: 2 },
    createTimestamp: 'createdAt',
    updateTimestamp: 'updatedAt',
  },
})
export const Note = defineResource(notes, {
  name: 'Note',
  actions: (a) => ({
    create: a.create({ accept: ['itemId', 'body'], changes: [generateId()] }),
    destroy: a.destroy(),
  }),
})
export const PlainItem = defineResource(plainItems, {
  name: 'PlainItem',
  identities: { byName: ['name'] },
  actions: itemActions,
  events: { track: false },
})

/**
 * `deposit` reads the record (its change is a function of the current balance), so it takes Rewind's
 * read-modify-write path: BEGIN, SELECT ... FOR UPDATE, the row and its event in one statement, COMMIT.
 */
export const Account = defineResource(accounts, {
  name: 'Account',
  actions: (a) => ({
    open: a.create({ accept: ['owner'], changes: [generateId(), timestamps()] }),
    deposit: a.update({
      arguments: { amount: z.number().int() },
      changes: [
        timestamps({ create: false }),
        change('deposit', (cs) => cs.set('balance', (cs.record?.balance ?? 0) + cs.args.amount)),
      ],
    }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})

export const resources = [Item, Note, PlainItem, Account] as const
