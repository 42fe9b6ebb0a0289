import { eq, sql } from 'drizzle-orm'
import { bigint, integer, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core'
import {
  change,
  defineProjection,
  defineResource,
  defineSubscription,
  eventLogTable,
  generateId,
  type ProjectionConfig,
  type SubscriptionConfig,
} from '../../src/index.js'

/** A small domain for the consumer tests: items with a name and a quantity, per tenant or not. */
export const events = eventLogTable('events', { actors: { systemActor: text('system_actor') } })

export const items = pgTable('items', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').notNull().default(0),
})

/** Holds its transaction open until the test lets it go (a late commit). */
export const gates = new Map<string, Promise<void>>()

export const Item = defineResource(items, {
  name: 'Item',
  actions: (a) => ({
    create: a.create({ accept: ['name', 'qty'], changes: [generateId()] }),
    rename: a.update({ accept: ['name'] }),
    add: a.update({ accept: ['qty'] }),
    destroy: a.destroy(),
    /** A create whose transaction stays open (after its event is recorded) until gates.get(name) resolves. */
    slowCreate: a.create({
      accept: ['name', 'qty'],
      changes: [
        generateId(),
        change('hold', (cs) =>
          cs.afterAction(async () => {
            await gates.get(String(cs.get('name')))
          }),
        ),
      ],
    }),
  }),
})
export const resources = [Item] as const

/** The read model: one row per live item. */
export const itemNames = pgTable('item_names', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').notNull(),
})

/** How many times each consumer applied each event: exactly once means every n is 1. */
export const applied = pgTable(
  'applied',
  {
    consumer: text('consumer').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    n: integer('n').notNull(),
  },
  (t) => [primaryKey({ columns: [t.consumer, t.position] })],
)

/** A second projection's table, to show a rebuild of one leaves the other alone. */
export const totals = pgTable('item_totals', {
  id: text('id').primaryKey(),
  count: integer('count').notNull(),
  qty: integer('qty').notNull(),
})

type Handlers = NonNullable<ProjectionConfig['handlers']>

/** The item_names projection's handlers; a create named "poison" fails (always). */
export const itemNameHandlers =
  (consumer: string): Handlers =>
  (on) => [
    on(Item, ['create', 'slowCreate'], async (e, { db }) => {
      if (e.data.name === 'poison') throw new Error('poisoned event')
      await db.insert(itemNames).values({ id: e.recordId, name: e.data.name ?? '', qty: e.data.qty ?? 0 })
    }),
    on(Item, 'rename', async (e, { db }) => {
      await db
        .update(itemNames)
        .set({ name: e.data.name ?? '' })
        .where(eq(itemNames.id, e.recordId))
    }),
    on(Item, 'add', async (e, { db }) => {
      await db
        .update(itemNames)
        .set({ qty: e.data.qty ?? 0 })
        .where(eq(itemNames.id, e.recordId))
    }),
    on(Item, 'destroy', async (e, { db }) => {
      await db.delete(itemNames).where(eq(itemNames.id, e.recordId))
    }),
    on(Item, '*', async (e, { db }) => {
      await db
        .insert(applied)
        .values({ consumer, position: e.position, n: 1 })
        .onConflictDoUpdate({
          target: [applied.consumer, applied.position],
          set: { n: sql`${applied.n} + 1` },
        })
    }),
  ]

export function itemNamesProjection(
  name = 'itemNames',
  options: Omit<ProjectionConfig, 'handlers' | 'handleBatch' | 'filter' | 'tables'> = {},
) {
  return defineProjection(name, { tables: [itemNames], handlers: itemNameHandlers(name), ...options })
}

export function totalsProjection(
  name = 'totals',
  options: Omit<ProjectionConfig, 'handlers' | 'handleBatch' | 'filter' | 'tables'> = {},
) {
  return defineProjection(name, {
    tables: [totals],
    ...options,
    handlers: (on) => [
      on(Item, '*', async (e, { sql: run }) => {
        const dq = e.action === 'create' || e.action === 'slowCreate' ? 1 : e.action === 'destroy' ? -1 : 0
        await run(
          `INSERT INTO item_totals (id, count, qty) VALUES ('all', $1::int, 0)
           ON CONFLICT (id) DO UPDATE SET count = item_totals.count + $1::int`,
          [String(dq)],
        )
      }),
    ],
  })
}

/** A projection split by record into 2 partitions; it only counts its applications (table `applied`). */
export function partsProjection(
  options: Omit<ProjectionConfig, 'handlers' | 'handleBatch' | 'filter' | 'tables' | 'partitions'> = {},
) {
  return defineProjection('parts', {
    ...options,
    partitions: 2,
    handlers: (on) => [
      on(Item, '*', async (e, { sql: run }) => {
        await run(
          `INSERT INTO applied (consumer, position, n) VALUES ('parts', $1::int8, 1)
           ON CONFLICT (consumer, position) DO UPDATE SET n = applied.n + 1`,
          [String(e.position)],
        )
      }),
    ],
  })
}

/** A subscription that records each delivery (an effect outside the consumer's transaction). */
export function recordingSubscription(
  name: string,
  deliveries: { position: number; id: string; attempt: number; recordId: string }[],
  options: Omit<SubscriptionConfig, 'handlers' | 'handleBatch'> & {
    fail?: (e: { position: number; data: { name?: string } }, attempt: number) => boolean
  } = {},
) {
  const { fail, ...rest } = options
  return defineSubscription(name, {
    ...rest,
    handlers: (on) => [
      on(Item, '*', (e, ctx) => {
        if (fail?.(e as never, ctx.attempt)) throw new Error(`delivery of ${e.position} failed`)
        deliveries.push({
          position: e.position,
          id: ctx.idempotencyKey,
          attempt: ctx.attempt,
          recordId: e.recordId,
        })
      }),
    ],
  })
}

/** The read model computed independently: a fold of the log (records whose create was poisoned are absent). */
export function foldItems(
  log: readonly { resource: string; action: string; recordId: string; data: Record<string, unknown> }[],
): Map<string, { name: string; qty: number }> {
  const out = new Map<string, { name: string; qty: number }>()
  const poisoned = new Set<string>()
  for (const e of log) {
    if (e.resource !== 'Item') continue
    if (poisoned.has(e.recordId)) continue
    if (e.action === 'create' || e.action === 'slowCreate') {
      if (e.data.name === 'poison') {
        poisoned.add(e.recordId)
        continue
      }
      out.set(e.recordId, { name: String(e.data.name), qty: Number(e.data.qty ?? 0) })
    } else if (e.action === 'rename') out.get(e.recordId)!.name = String(e.data.name)
    else if (e.action === 'add') out.get(e.recordId)!.qty = Number(e.data.qty)
    else if (e.action === 'destroy') out.delete(e.recordId)
  }
  return out
}
