import { createHash } from 'node:crypto'
import {
  change,
  defineResource,
  equals,
  generateId,
  hasMany,
  length,
  match,
  notEquals,
  setAttribute,
  timestamps,
} from 'rewind-es'
import { z } from 'zod'
import { articles, memberships, orgs, users } from './schema.js'

/** A stand-in for bcrypt or argon2: what matters here is that the hash is sensitive. */
const hash = (password: string) => `sha256:${createHash('sha256').update(password).digest('hex')}`

export const Org = defineResource(orgs, {
  name: 'Org',
  actions: (a) => ({
    create: a.create({
      accept: ['name'],
      changes: [generateId(), timestamps()],
      validations: [length('name', { min: 2 })],
    }),
    rename: a.update({ accept: ['name'], changes: [timestamps({ create: false })] }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})

export const User = defineResource(users, {
  name: 'User',
  // Stored encrypted in events, masked by the CLI unless --reveal.
  sensitive: ['hashedPassword', 'password'],
  relationships: { memberships: hasMany(() => Membership, 'userId') },
  actions: (a) => ({
    /** Version 2: hashes the password and makes the user a member of their organisation. */
    create: a.create({
      accept: ['email', 'name', 'orgId'],
      arguments: { password: z.string().min(8), role: z.enum(['member', 'admin']).default('member') },
      validations: [match('email', /^[^@\s]+@[^@\s]+$/, { message: 'That is not an email address' })],
      changes: [
        generateId(),
        timestamps(),
        change('hashPassword', (cs) => cs.set('hashedPassword', hash(cs.args.password))),
        // An after-action hook: the membership is created in the same transaction and records its own
        // event. Replay does not run hooks; it replays that event instead.
        change('addMembership', (cs) =>
          cs.afterAction(async (user, ctx) => {
            if (user.orgId) {
              await ctx.run(Membership, 'create', { userId: user.id, orgId: user.orgId, role: cs.args.role })
            }
          }),
        ),
      ],
    }),
    /** Version 1, kept only as a replay target for old events: no password, no membership. */
    createV1: a.create({ accept: ['email', 'name'], changes: [timestamps()] }),
    rename: a.update({ accept: ['name'], changes: [timestamps({ create: false })] }),
  }),
  events: {
    // createV1 never records events of its own; the replay override routes v1 events of `create` to it.
    ignore: ['createV1'],
    versions: { create: 2 },
    createTimestamp: 'createdAt',
    updateTimestamp: 'updatedAt',
  },
})

export const Membership = defineResource(memberships, {
  name: 'Membership',
  actions: (a) => ({
    create: a.create({ accept: ['userId', 'orgId', 'role'] }),
    changeRole: a.update({ accept: ['role'] }),
  }),
})

export const Article = defineResource(articles, {
  name: 'Article',
  actions: (a) => ({
    create: a.create({ accept: ['authorId', 'title'], changes: [generateId(), timestamps()] }),
    archive: a.update({
      validations: [notEquals('status', 'archived', { message: 'The article is already archived' })],
      changes: [setAttribute('status', 'archived'), timestamps({ create: false })],
    }),
    unarchive: a.update({
      validations: [equals('status', 'archived', { message: 'Only archived articles can be unarchived' })],
      changes: [setAttribute('status', 'draft'), timestamps({ create: false })],
    }),
    /** A soft delete: the row stays, with deletedAt set; the event is a destroy. */
    softDelete: a.destroy({
      soft: true,
      changes: [setAttribute('deletedAt', () => new Date().toISOString())],
    }),
  }),
  events: { createTimestamp: 'createdAt', updateTimestamp: 'updatedAt' },
})

export const resources = [Org, User, Membership, Article] as const
