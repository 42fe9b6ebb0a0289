import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import { z } from 'zod'
import {
  defineResource,
  equals,
  generateId,
  length,
  manageRelated,
  match,
  notEquals,
  oneOf,
  present,
  setAttribute,
  timestamps,
} from '../../src/index.js'

/** The fixture domain of the contract suite: organisations, users, memberships, articles. */
export const orgs = pgTable('orgs', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6, mode: 'string' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 6, mode: 'string' }).notNull(),
})

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull().unique(),
  name: text('name'),
  hashedPassword: text('hashed_password'),
  orgId: uuid('org_id').references(() => orgs.id),
  role: text('role').notNull().default('member'),
  loginCount: integer('login_count').notNull().default(0),
  lockVersion: integer('lock_version').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
})

export const memberships = pgTable('memberships', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  role: text('role').notNull(),
})

export const articles = pgTable('articles', {
  id: uuid('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  title: varchar('title', { length: 100 }).notNull(),
  body: text('body'),
  status: text('status').notNull().default('draft'),
  views: bigint('views', { mode: 'bigint' }).notNull().default(sql`0`),
  price: numeric('price', { precision: 12, scale: 4 }),
  tags: text('tags').array(),
  meta: jsonb('meta'),
  featured: boolean('featured').notNull().default(false),
  deletedAt: timestamp('deleted_at', { withTimezone: true, precision: 6, mode: 'string' }),
})

export const Org = defineResource(orgs, {
  name: 'Org',
  identities: { uniqueName: ['name'] },
  actions: (a) => ({
    create: a.create({ accept: ['name'], changes: [generateId(), timestamps()] }),
    upsertByName: a.create({
      accept: ['name'],
      changes: [generateId(), timestamps()],
      upsert: { identity: 'uniqueName', update: ['updatedAt'] },
    }),
    rename: a.update({
      accept: ['name'],
      changes: [timestamps()],
      validations: [length('name', { min: 2, max: 50 })],
    }),
    destroy: a.destroy(),
  }),
})

export const sentEmails: string[] = []

export const User = defineResource(users, {
  name: 'User',
  sensitive: ['hashedPassword'],
  identities: { uniqueEmail: ['email'] },
  actions: (a) => ({
    create: a.create({
      accept: ['email', 'name', 'orgId'],
      arguments: {
        password: z.string().min(8).optional(),
        role: z.enum(['member', 'admin']).default('member'),
      },
      changes: [
        (cs) => {
          if (cs.args.password) cs.set('hashedPassword', `hashed:${cs.args.password}`)
        },
        setAttribute('role', (cs: any) => cs.args.role),
        {
          name: 'welcomeEmail',
          run: (cs) => {
            cs.afterTransaction((outcome) => {
              if (outcome.ok) sentEmails.push(`welcome ${outcome.record?.email}`)
            })
          },
        },
      ],
      validations: [present('email'), match('email', /@/, { message: 'Email must contain an @' })],
    }),
    createWithMemberships: a.create({
      accept: ['email', 'name'],
      arguments: { memberships: z.array(z.object({ role: z.string() })).default([]) },
      changes: [manageRelated({ resource: () => Membership, foreignKey: 'userId', argument: 'memberships' })],
    }),
    rename: a.update({
      accept: ['name'],
      validations: [notEquals('name', 'root', { message: 'That name is reserved' })],
      policy: ({ actor, record }) =>
        (actor as { id?: string } | undefined)?.id === record?.id || (actor as any)?.admin === true,
    }),
    login: a.update({
      changes: [(cs) => cs.set('loginCount', (cs.record?.loginCount ?? 0) + 1)],
    }),
    promote: a.update({
      arguments: { role: z.enum(['member', 'admin']) },
      changes: [(cs) => cs.set('role', cs.args.role)],
      validations: [oneOf('role', ['member', 'admin'])],
      optimisticLock: 'lockVersion',
    }),
    failInHook: a.update({
      accept: ['name'],
      changes: [(cs) => cs.afterAction(() => Promise.reject(new Error('hook exploded')))],
    }),
    destroy: a.destroy(),
    countUsers: a.action({
      arguments: { prefix: z.string() },
      run: async (ctx) => {
        const rows = await ctx.sql('SELECT count(*) AS n FROM users WHERE email LIKE $1', [
          `${ctx.args.prefix}%`,
        ])
        return Number(rows[0]!.n)
      },
    }),
  }),
})

export const Membership = defineResource(memberships, {
  name: 'Membership',
  actions: (a) => ({
    create: a.create({ accept: ['userId', 'role'] }),
    destroy: a.destroy(),
  }),
})

export const Article = defineResource(articles, {
  name: 'Article',
  tenant: 'tenantId',
  actions: (a) => ({
    create: a.create({
      accept: ['title', 'body', 'tags', 'meta', 'price', 'views', 'featured'],
      changes: [generateId()],
      validations: [length('title', { min: 3 })],
    }),
    publish: a.update({
      validations: [equals('status', 'draft', { message: 'Only drafts can be published' })],
      changes: [setAttribute('status', 'published')],
    }),
    archive: a.update({
      validations: [notEquals('status', 'archived', { message: 'Article is already archived' })],
      changes: [setAttribute('status', 'archived')],
    }),
    unarchive: a.update({
      validations: [equals('status', 'archived', { message: 'Article is not archived' })],
      changes: [setAttribute('status', 'draft')],
    }),
    softDelete: a.destroy({
      soft: true,
      changes: [setAttribute('deletedAt', () => new Date().toISOString())],
    }),
    destroy: a.destroy(),
  }),
})

export const allResources = [Org, User, Membership, Article] as const
