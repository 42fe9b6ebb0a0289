import { pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { defineResource, eventLogTable, generateId } from '../../src/index.js'

/** The relay tests' domain: members of an organisation (the tenant), with sensitive email and secret. */
export const relayEvents = eventLogTable('relay_events', { actors: { userId: text('user_id') } })

export const members = pgTable('members', {
  id: uuid('id').primaryKey(),
  org: text('org').notNull(),
  name: text('name').notNull(),
  email: text('email'),
  secret: text('secret'),
})

export const Member = defineResource(members, {
  name: 'Member',
  tenant: 'org',
  sensitive: ['email', 'secret'],
  actions: (a) => ({
    join: a.create({ accept: ['name', 'email', 'secret'], changes: [generateId()] }),
    rename: a.update({ accept: ['name'] }),
    leave: a.destroy(),
  }),
})
