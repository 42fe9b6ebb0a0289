import { sql } from 'drizzle-orm'
import {
  bigint,
  customType,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import { z } from 'zod'
import {
  change,
  defineResource,
  eventLogTable,
  generateId,
  manageRelated,
  setAttribute,
  timestamps,
} from '../../src/index.js'

/** bytea, which drizzle-orm/pg-core has no builder for. */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
  toDriver: (v) => v,
  fromDriver: (v) => v,
})

export const events = eventLogTable('events', {
  actors: { userId: uuid('user_id'), systemActor: text('system_actor') },
})

export const accounts = pgTable('accounts', {
  id: uuid('id').primaryKey(),
  email: text('email').notNull().unique(),
  name: text('name'),
  hashedPassword: text('hashed_password'),
  apiKey: bytea('api_key'),
  status: text('status').notNull().default('active'),
  seq: integer('seq').notNull().default(0),
  balance: numeric('balance', { precision: 20, scale: 6 }).notNull().default('0'),
  big: bigint('big', { mode: 'bigint' }),
  blobs: bytea('blobs').array(),
  tags: text('tags').array(),
  prefs: jsonb('prefs'),
  tenant: text('tenant'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6, mode: 'string' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 6, mode: 'string' }).notNull(),
  deletedAt: timestamp('deleted_at', { withTimezone: true, precision: 6, mode: 'string' }),
})

export const notes = pgTable('notes', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  accountId: uuid('account_id')
    .notNull()
    .references(() => accounts.id),
  body: text('body').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().default(sql`now()`),
})

export const mirrors = pgTable('mirrors', {
  id: uuid('id').primaryKey(),
  email: text('email').notNull(),
  note: text('note'),
})

export const emails: string[] = []

export const Account = defineResource(accounts, {
  name: 'Account',
  sensitive: ['hashedPassword', 'apiKey', 'password'],
  identities: { email: ['email'] },
  actions: (a) => ({
    register: a.create({
      accept: ['email', 'name', 'apiKey', 'big', 'blobs', 'tags', 'prefs', 'balance'],
      arguments: { password: z.string().min(4), notes: z.array(z.object({ body: z.string() })).default([]) },
      changes: [
        generateId(),
        timestamps(),
        change('hashPassword', (cs) => cs.set('hashedPassword', `h(${cs.args.password})`)),
        change('welcome', (cs) => cs.afterTransaction(() => void emails.push(String(cs.get('email'))))),
        manageRelated({
          resource: () => Note,
          foreignKey: 'accountId',
          argument: 'notes',
          action: 'fromParent',
        }),
      ],
    }),
    upsert: a.create({
      accept: ['email', 'name'],
      changes: [generateId(), timestamps()],
      upsert: { identity: 'email', update: ['name', 'updatedAt'] },
    }),
    rename: a.update({ accept: ['name'], changes: [timestamps({ create: false })] }),
    bump: a.update({
      changes: [timestamps({ create: false }), (cs) => cs.set('seq', (cs.record?.seq ?? 0) + 1)],
    }),
    shout: a.update({
      accept: ['name'],
      changes: [(cs) => cs.set('name', String(cs.get('name')).toUpperCase())],
    }),
    touchNothing: a.update({}),
    /** Renames, then waits for `context.pause` (tests use it to break the connection mid-action). */
    pausingRename: a.update({
      accept: ['name'],
      changes: [
        (cs) =>
          cs.afterAction(async (_record, ctx) => {
            const pause = ctx.context.pause
            if (typeof pause === 'function') await pause(ctx)
          }),
      ],
    }),
    archive: a.destroy({
      soft: true,
      changes: [
        setAttribute('deletedAt', () => new Date().toISOString()),
        setAttribute('status', 'archived'),
      ],
    }),
    destroy: a.destroy(),
    legacyCreate: a.create({ accept: ['email', 'name'], changes: [generateId(), timestamps()] }),
  }),
  events: {
    ignore: ['legacyCreate'],
    versions: { register: 2 },
    createTimestamp: 'createdAt',
    updateTimestamp: 'updatedAt',
  },
})

export const Note = defineResource(notes, {
  name: 'Note',
  actions: (a) => ({
    create: a.create({ accept: ['accountId', 'body'] }),
    fromParent: a.create({ accept: ['accountId', 'body'] }),
    destroy: a.destroy(),
  }),
})

/** A read model fed only by replay overrides (its action records no events). */
export const Mirror = defineResource(mirrors, {
  name: 'Mirror',
  actions: (a) => ({
    // Fed by Account.register v1 events, whose other inputs (name) it has no use for.
    fromAccount: a.create({
      accept: ['email'],
      ignoreUnknownInputs: true,
      changes: [setAttribute('note', 'mirrored')],
    }),
  }),
  events: { ignore: ['fromAccount'], replayStrategy: { fromAccount: 'asArguments' } },
})

export const loggedResources = [Account, Note, Mirror] as const
