import { randomUUID } from 'node:crypto'
import {
  CommandHandler,
  type Event,
  isExpectedVersionConflictError,
  projections,
} from '@event-driven-io/emmett'
import { getPostgreSQLEventStore, pongoSingleStreamProjection } from '@event-driven-io/emmett-postgresql'
import { pongoClient } from '@event-driven-io/pongo'
import { eq } from 'drizzle-orm'
import type { NodePgDatabase } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { Account, accountsTrig, Item, itemsTrig, PlainItem } from './domain.js'
import type { BenchDb, openRewind, RawSql } from './lib.js'
import { rawSql } from './lib.js'

/**
 * The write workload's three operations, as each peer does them: a create, a rename that does not read the
 * record, and a deposit that reads the balance and adds to it. `deposit` is absent for a path without
 * accounts (the untracked resource).
 */
export interface WritePath {
  create(name: string): Promise<string>
  rename(id: string, name: string): Promise<void>
  deposit?(accountId: string, amount: number): Promise<void>
  /** Accounts for this path's deposits (not measured). */
  openAccounts?(count: number): Promise<string[]>
  close?(): Promise<void>
}

type RewindInstance = Awaited<ReturnType<typeof openRewind>>

/** Rewind: creates and renames one autocommit statement; a deposit BEGIN, SELECT FOR UPDATE, one, COMMIT. */
export function trackedPath(rewind: RewindInstance): WritePath {
  return {
    create: async (name) => (await rewind.run(Item, 'create', { name })).id,
    rename: async (id, name) => {
      await rewind.run(Item, 'rename', { name }, { id })
    },
    deposit: async (id, amount) => {
      await rewind.run(Account, 'deposit', { amount }, { id })
    },
    openAccounts: async (count) =>
      (
        await rewind.bulkCreate(
          Account,
          'open',
          Array.from({ length: count }, (_, i) => ({ owner: `owner-${i}` })),
        )
      ).map((a) => a.id),
  }
}

/** A tracked create and rename as Rewind sent them, captured once at its database seam, and how to send more. */
interface Captured {
  readonly send: SqlCall
  readonly create: { readonly text: string; readonly params: readonly (string | null)[] }
  readonly rename: { readonly text: string; readonly params: readonly (string | null)[] }
  /** The captured create's id, name and time, and the rename's name and time: where each parameter holds them. */
  readonly id: string
  readonly name: string
  readonly createdAt: string
  readonly renamed: string
  readonly renamedAt: string
}

async function captureStatements(rewind: RewindInstance, path: string): Promise<Captured> {
  // The seam's own object is what Rewind's row store holds: its method is wrapped while the probe runs.
  const seam = (rewind.database as { autocommit: { queryText: SqlCall } }).autocommit
  const send = seam.queryText
  const seen: { text: string; params: readonly (string | null)[] }[] = []
  seam.queryText = (text, params = []) => {
    seen.push({ text, params })
    return send(text, params)
  }
  const name = `${path}-probe-${randomUUID()}`
  const renamed = `${name}-renamed`
  let created: { id: string; createdAt: string }
  let renamedAt: string
  try {
    created = await rewind.run(Item, 'create', { name })
    renamedAt = (await rewind.run(Item, 'rename', { name: renamed }, { id: created.id })).updatedAt
  } finally {
    seam.queryText = send
  }
  const [create, rename] = seen.filter((q) => q.text.startsWith('WITH w AS'))
  if (!create || !rename)
    throw new Error(`${path}Path: the tracked create and rename were not one statement each`)
  return { send, create, rename, id: created.id, name, createdAt: created.createdAt, renamed, renamedAt }
}

/** Each parameter as a function of the call's values (`tokens[i]` in the captured parameter is `values[i]`). */
type Template = ((values: readonly string[]) => string | null)[]

/**
 * The captured parameters cut into their literal parts once, glued with the new values per call: the least a
 * call can cost (the JSON parameters are not built, only glued).
 */
function glued(params: readonly (string | null)[], tokens: readonly string[]): Template {
  return params.map((v) => {
    if (v === null || !tokens.some((t) => v.includes(t))) return () => v
    const parts: (string | number)[] = [v]
    tokens.forEach((token, t) => {
      for (let i = parts.length - 1; i >= 0; i--) {
        const part = parts[i]!
        if (typeof part !== 'string' || !part.includes(token)) continue
        const pieces = part.split(token)
        parts.splice(i, 1, ...pieces.flatMap((piece, k) => (k === 0 ? [piece] : [t, piece])))
      }
    })
    return (values) => {
      let out = ''
      for (const part of parts) out += typeof part === 'number' ? values[part] : part
      return out
    }
  })
}

/**
 * The captured parameters rebuilt per call as a library must build them: a parameter that is a captured value
 * takes the new one, and a JSON parameter (the event's input, its changed columns, a JSON value) is built again
 * from its values with JSON.stringify.
 */
function built(params: readonly (string | null)[], tokens: readonly string[]): Template {
  return params.map((v) => {
    if (v === null || !tokens.some((t) => v.includes(t))) return () => v
    const exact = tokens.indexOf(v)
    if (exact >= 0) return (values) => values[exact]!
    const parsed = JSON.parse(v) as unknown
    if (typeof parsed === 'string') {
      const t = tokens.indexOf(parsed)
      if (t < 0) throw new Error(`floorPath: a JSON parameter that is not a captured value: ${v}`)
      return (values) => JSON.stringify(values[t])
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`floorPath: an unexpected parameter: ${v}`)
    const entries = Object.entries(parsed).map(([k, x]) => [k, tokens.indexOf(x as string), x] as const)
    return (values) => {
      const out: Record<string, unknown> = {}
      for (const [k, t, x] of entries) out[k] = t >= 0 ? values[t] : x
      return JSON.stringify(out)
    }
  })
}

/**
 * A clock with microseconds, as Rewind's (two writes in the same millisecond have different times: an update
 * that sets the time changes it), in Rewind's format: UTC, six digits of fraction.
 */
function microClock(): () => string {
  let last = 0
  return () => {
    const micros = Math.max(last + 1, Math.round((performance.timeOrigin + performance.now()) * 1000))
    last = micros
    const fraction = String(micros % 1_000_000).padStart(6, '0')
    return `${new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19)}.${fraction}Z`
  }
}

/**
 * Rewind's own statements with none of its JavaScript around them: the exact statement a tracked create and
 * rename send (captured once), sent again through the same database seam with a new id, name and time (a
 * rename writes only if its time changes the row's), every other parameter as captured. The bound of the tracked path on this machine: what the statement costs when the
 * pipeline (input, changes, event, decoding the row) costs nothing. Creates and renames only.
 */
export async function statementPath(rewind: RewindInstance): Promise<WritePath> {
  const c = await captureStatements(rewind, 'statement')
  // The rename's token is the whole renamed name (the probe's name is a prefix of it, and would leave its suffix
  // glued to the new name).
  const createParams = glued(c.create.params, [c.id, c.name, c.createdAt])
  const renameParams = glued(c.rename.params, [c.id, c.renamed, c.renamedAt])
  const now = microClock()
  return {
    async create(name) {
      const id = randomUUID()
      const values = [id, name, now()]
      await c.send(
        c.create.text,
        createParams.map((f) => f(values)),
      )
      return id
    },
    async rename(id, name) {
      const values = [id, name, now()]
      await c.send(
        c.rename.text,
        renameParams.map((f) => f(values)),
      )
    },
  }
}

/**
 * The least JavaScript that records what a tracked action records, through the same statement: per call a
 * checked input, a new id and time, the event's JSON built with JSON.stringify, the parameters, Rewind's
 * statement sent through the same database seam, and the record made from the row it returns. Hand-written for
 * `Item` (no pipeline, no changeset, no planning): the ceiling of the tracked path on this machine. Creates and
 * renames only.
 */
export async function floorPath(rewind: RewindInstance): Promise<WritePath> {
  const c = await captureStatements(rewind, 'floor')
  const createParams = built(c.create.params, [c.id, c.name, c.createdAt])
  const renameParams = built(c.rename.params, [c.id, c.renamed, c.renamedAt])
  const checked = (name: unknown) => {
    if (typeof name !== 'string') throw new Error(`floorPath: name must be a string, got ${typeof name}`)
    return name
  }
  const now = microClock()
  const record = (row: Record<string, string | null>, name: string, at: string, createdAt?: string) => ({
    id: row.id!,
    name,
    seq: Number(row.seq),
    status: row.status!,
    createdAt: createdAt ?? row.createdAt!,
    updatedAt: at,
    deletedAt: row.deletedAt ?? null,
  })
  const path: WritePath = {
    async create(name) {
      const values = [randomUUID(), checked(name), now()]
      const rows = (await c.send(
        c.create.text,
        createParams.map((f) => f(values)),
      )) as Record<string, string | null>[]
      return record(rows[0]!, values[1]!, values[2]!, values[2]!).id
    },
    async rename(id, name) {
      const values = [id, checked(name), now()]
      const rows = (await c.send(
        c.rename.text,
        renameParams.map((f) => f(values)),
      )) as Record<string, string | null>[]
      if (!rows[0]) throw new Error(`floorPath: no item ${id}`)
      record(rows[0], values[1]!, values[2]!)
    },
  }
  await sameEvents(rewind, c, path)
  return path
}

/**
 * The floor records what a tracked action records: its create and rename events equal the captured tracked
 * ones column for column, once each call's own id, name and times are set aside. Checked once per run, so that
 * the floor is the least code for the same work, not less work.
 */
async function sameEvents(rewind: RewindInstance, c: Captured, path: WritePath): Promise<void> {
  const name = `floor-check-${randomUUID()}`
  const id = await path.create(name)
  await path.rename(id, `${name}-renamed`)
  const rows = await rewind.database.queryText(
    `SELECT record_id, resource, action, action_type, version::text, data::text, changed_attributes::text,
       metadata::text, encoders::text, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
       tenant, user_id::text, system_actor
     FROM events WHERE record_id IN ($1, $2) ORDER BY position`,
    [c.id, id],
  )
  const times = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/g
  const plain = (row: Record<string, unknown>, ids: string, names: string) =>
    JSON.stringify(row).replaceAll(ids, '<id>').replaceAll(names, '<name>').replace(times, '<time>')
  const tracked = rows.filter((r) => r.record_id === c.id).map((r) => plain(r, c.id, c.name))
  const floor = rows.filter((r) => r.record_id === id).map((r) => plain(r, id, name))
  if (tracked.length !== 2 || JSON.stringify(tracked) !== JSON.stringify(floor))
    throw new Error(
      `floorPath: its events differ from the tracked action's:\n${tracked.join('\n')}\n${floor.join('\n')}`,
    )
}

type SqlCall = (text: string, params?: readonly (string | null)[]) => Promise<unknown[]>

/** An untracked resource (`events.track: false`): the row only. */
export function untrackedPath(rewind: RewindInstance): WritePath {
  return {
    create: async (name) => (await rewind.run(PlainItem, 'create', { name })).id,
    rename: async (id, name) => {
      await rewind.run(PlainItem, 'rename', { name }, { id })
    },
  }
}

const EVENT_COLUMNS =
  'record_id, resource, action, action_type, version, data, changed_attributes, occurred_at'
/** The event inserts, with the constant parts as literals: the least the database can be asked to do. */
const EVENT_SQL = {
  create: `INSERT INTO events (${EVENT_COLUMNS}) VALUES ($1, 'Item', 'create', 'create', 2, $2, $3, $4)`,
  rename: `INSERT INTO events (${EVENT_COLUMNS}) VALUES ($1, 'Item', 'rename', 'update', 1, $2, $3, $4)`,
  deposit: `INSERT INTO events (${EVENT_COLUMNS}) VALUES ($1, 'Account', 'deposit', 'update', 1, $2, $3, $4)`,
}

/**
 * Raw SQL on the same driver, the row and its event in one transaction: BEGIN, the row, the event, COMMIT
 * (four round trips); a deposit also reads the balance with SELECT ... FOR UPDATE (five).
 */
export function rawPath(raw: RawSql): WritePath {
  return {
    async create(name) {
      const id = randomUUID()
      const at = new Date().toISOString()
      await raw.transaction(async (q) => {
        await q('INSERT INTO items (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)', [
          id,
          name,
          at,
        ])
        await q(EVENT_SQL.create, [
          id,
          JSON.stringify({ name }),
          JSON.stringify({ id, createdAt: at, updatedAt: at }),
          at,
        ])
      })
      return id
    },
    async rename(id, name) {
      const at = new Date().toISOString()
      await raw.transaction(async (q) => {
        await q('UPDATE items SET name = $2, updated_at = $3 WHERE id = $1', [id, name, at])
        await q(EVENT_SQL.rename, [id, JSON.stringify({ name }), JSON.stringify({ updatedAt: at }), at])
      })
    },
    async deposit(id, amount) {
      const at = new Date().toISOString()
      await raw.transaction(async (q) => {
        const balance = balanceOf(await q('SELECT balance FROM accounts WHERE id = $1 FOR UPDATE', [id]))
        await q('UPDATE accounts SET balance = $2, updated_at = $3 WHERE id = $1', [id, balance + amount, at])
        await q(EVENT_SQL.deposit, [
          id,
          JSON.stringify({ amount }),
          JSON.stringify({ balance: balance + amount, updatedAt: at }),
          at,
        ])
      })
    },
    async openAccounts(count) {
      const ids = Array.from({ length: count }, () => randomUUID())
      const at = new Date().toISOString()
      await raw.transaction(async (q) => {
        for (const id of ids)
          await q('INSERT INTO accounts (id, owner, created_at, updated_at) VALUES ($1, $2, $3, $3)', [
            id,
            `raw-${id}`,
            at,
          ])
      })
      return ids
    },
  }
}

function balanceOf(result: unknown): number {
  // pg and PGlite.query give { rows }; PGlite's wire protocol gives the rows.
  type Row = { balance: number | string }
  const row = Array.isArray(result) ? (result as Row[])[0] : (result as { rows: Row[] }).rows[0]
  if (!row) throw new Error('no such account')
  return Number(row.balance)
}

/**
 * What many teams pick instead of event sourcing: plain tables with an audit trigger that writes the row's
 * images (`to_jsonb(OLD)`, `to_jsonb(NEW)`) to an audit table.
 */
export const TRIGGER_SCHEMA = `
CREATE TABLE items_trig (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  seq integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'active',
  created_at timestamptz(6) NOT NULL,
  updated_at timestamptz(6) NOT NULL,
  deleted_at timestamptz(6)
);
CREATE TABLE accounts_trig (
  id uuid PRIMARY KEY,
  owner text NOT NULL,
  balance integer NOT NULL DEFAULT 0,
  created_at timestamptz(6) NOT NULL,
  updated_at timestamptz(6) NOT NULL
);
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  table_name text NOT NULL,
  op text NOT NULL,
  row_id uuid,
  old_row jsonb,
  new_row jsonb,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (table_name, op, row_id, old_row, new_row)
  VALUES (
    TG_TABLE_NAME,
    TG_OP,
    CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
    CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
    CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END
  );
  RETURN NULL;
END $$;
CREATE TRIGGER items_trig_audit AFTER INSERT OR UPDATE OR DELETE ON items_trig
  FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE TRIGGER accounts_trig_audit AFTER INSERT OR UPDATE OR DELETE ON accounts_trig
  FOR EACH ROW EXECUTE FUNCTION audit_row();
`

export async function createTriggerSchema(b: BenchDb): Promise<void> {
  if (b.pool) await b.pool.query(TRIGGER_SCHEMA)
  else await b.pglite!.exec(TRIGGER_SCHEMA)
}

/**
 * The same statements as an app over Drizzle tables writes them, with Drizzle's query builder (a deposit in
 * `db.transaction`): the same round trips, plus the builder's work and Drizzle's driver adapter.
 */
export function triggerDrizzlePath(b: BenchDb): WritePath {
  // Both drivers' Drizzle databases have the same query builder; typed as the pg one.
  const db = b.db as NodePgDatabase
  return {
    async create(name) {
      const id = randomUUID()
      const at = new Date().toISOString()
      await db.insert(itemsTrig).values({ id, name, createdAt: at, updatedAt: at })
      return id
    },
    async rename(id, name) {
      await db
        .update(itemsTrig)
        .set({ name, updatedAt: new Date().toISOString() })
        .where(eq(itemsTrig.id, id))
    },
    async deposit(id, amount) {
      await db.transaction(async (tx) => {
        const [row] = await tx
          .select({ balance: accountsTrig.balance })
          .from(accountsTrig)
          .where(eq(accountsTrig.id, id))
          .for('update')
        if (!row) throw new Error('no such account')
        await tx
          .update(accountsTrig)
          .set({ balance: row.balance + amount, updatedAt: new Date().toISOString() })
          .where(eq(accountsTrig.id, id))
      })
    },
    async openAccounts(count) {
      const at = new Date().toISOString()
      const rows = Array.from({ length: count }, (_, i) => ({
        id: randomUUID(),
        owner: `trig-${i}`,
        createdAt: at,
        updatedAt: at,
      }))
      await db.insert(accountsTrig).values(rows)
      return rows.map((r) => r.id)
    },
  }
}

/**
 * The audit-trigger peer as plain statements on the driver's ordinary query call (the target's peer): a create
 * or a rename is one autocommit statement (the trigger's insert runs inside it); a deposit is BEGIN,
 * SELECT ... FOR UPDATE, UPDATE, COMMIT.
 */
export function triggerDriverPath(b: BenchDb): WritePath {
  const autocommit = (text: string, params: unknown[]) =>
    b.pool ? b.pool.query(text, params) : b.pglite!.query(text, params)
  const raw = rawSql(b)
  return {
    async create(name) {
      const id = randomUUID()
      const at = new Date().toISOString()
      await autocommit('INSERT INTO items_trig (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)', [
        id,
        name,
        at,
      ])
      return id
    },
    async rename(id, name) {
      await autocommit('UPDATE items_trig SET name = $2, updated_at = $3 WHERE id = $1', [
        id,
        name,
        new Date().toISOString(),
      ])
    },
    async deposit(id, amount) {
      const at = new Date().toISOString()
      await raw.transaction(async (q) => {
        const balance = balanceOf(await q('SELECT balance FROM accounts_trig WHERE id = $1 FOR UPDATE', [id]))
        await q('UPDATE accounts_trig SET balance = $2, updated_at = $3 WHERE id = $1', [
          id,
          balance + amount,
          at,
        ])
      })
    },
    async openAccounts(count) {
      const ids = Array.from({ length: count }, () => randomUUID())
      const at = new Date().toISOString()
      for (const id of ids)
        await autocommit(
          'INSERT INTO accounts_trig (id, owner, created_at, updated_at) VALUES ($1, $2, $3, $3)',
          [id, `trig-${id}`, at],
        )
      return ids
    },
  }
}

type ItemCreated = Event<'ItemCreated', { id: string; name: string; at: string }>
type ItemRenamed = Event<'ItemRenamed', { name: string; at: string }>
type ItemEvent = ItemCreated | ItemRenamed
type AccountOpened = Event<'AccountOpened', { id: string; owner: string; at: string }>
type Deposited = Event<'Deposited', { amount: number; at: string }>
type AccountEvent = AccountOpened | Deposited

interface ItemDoc {
  [key: string]: unknown
  id: string
  name: string
  createdAt: string
  updatedAt: string
}
interface AccountDoc {
  [key: string]: unknown
  id: string
  owner: string
  balance: number
  createdAt: string
  updatedAt: string
}

const evolveAccount = (state: { balance: number }, event: AccountEvent) =>
  event.type === 'Deposited' ? { balance: state.balance + event.data.amount } : state
const handleAccount = CommandHandler<{ balance: number }, AccountEvent>({
  evolve: evolveAccount,
  initialState: () => ({ balance: 0 }),
  // Eight writers deposit into shared accounts: a stale expected version is retried, as Emmett's docs advise.
  retry: { onVersionConflict: { retries: 100, minTimeout: 1, factor: 1, maxTimeout: 5 } },
})

/**
 * Emmett (`@event-driven-io/emmett-postgresql`) with an inline Pongo projection of each item and account, kept
 * in the append's transaction. A create or rename appends one event to the record's stream; a deposit is
 * Emmett's command handler: read the stream, decide, append with the expected stream version.
 */
export function emmettPath(url: string, poolSize: number): WritePath {
  const pool = new pg.Pool({ connectionString: url, max: poolSize })
  pool.on('error', () => {})
  // Pongo makes each collection's table (CREATE TABLE IF NOT EXISTS) on first use of each collection object,
  // and the projection opens a new client per append: one more statement per append. The fastest
  // configuration turns that off and makes the tables once (`ready`, below).
  const collectionOptions = { schema: { autoMigration: 'None' } } as never
  const store = getPostgreSQLEventStore(url, {
    connectionOptions: { pool },
    projections: projections.inline([
      pongoSingleStreamProjection<ItemDoc, ItemEvent>({
        collectionName: 'emmett_items',
        collectionOptions,
        canHandle: ['ItemCreated', 'ItemRenamed'],
        evolve: (doc: ItemDoc | null, { type, data }: ItemEvent): ItemDoc | null =>
          type === 'ItemCreated'
            ? { id: data.id, name: data.name, createdAt: data.at, updatedAt: data.at }
            : doc && { ...doc, name: data.name, updatedAt: data.at },
      }),
      pongoSingleStreamProjection<AccountDoc, AccountEvent>({
        collectionName: 'emmett_accounts',
        collectionOptions,
        canHandle: ['AccountOpened', 'Deposited'],
        evolve: (doc: AccountDoc | null, { type, data }: AccountEvent): AccountDoc | null =>
          type === 'AccountOpened'
            ? { id: data.id, owner: data.owner, balance: 0, createdAt: data.at, updatedAt: data.at }
            : doc && { ...doc, balance: doc.balance + data.amount, updatedAt: data.at },
      }),
    ]),
  })
  let made: Promise<unknown> | undefined
  const ready = () => {
    made ??= (async () => {
      const pongo = pongoClient(url, { connectionOptions: { pool } } as never)
      await pongo.db().collection('emmett_items').findOne({ _id: 'none' })
      await pongo.db().collection('emmett_accounts').findOne({ _id: 'none' })
      await pongo.close()
    })()
    return made
  }
  return {
    async create(name) {
      await ready()
      const id = randomUUID()
      await store.appendToStream<ItemEvent>(`item-${id}`, [
        { type: 'ItemCreated', data: { id, name, at: new Date().toISOString() } },
      ])
      return id
    },
    async rename(id, name) {
      // Appends without an expected version can still collide on the stream's next position when writers
      // append to one stream at once; Emmett reports that as a version conflict, and an app retries.
      for (let attempt = 1; ; attempt++) {
        try {
          await store.appendToStream<ItemEvent>(`item-${id}`, [
            { type: 'ItemRenamed', data: { name, at: new Date().toISOString() } },
          ])
          return
        } catch (e) {
          if (!isExpectedVersionConflictError(e) || attempt >= 100) throw e
        }
      }
    },
    async deposit(id, amount) {
      await handleAccount(store, `account-${id}`, () => ({
        type: 'Deposited',
        data: { amount, at: new Date().toISOString() },
      }))
    },
    async openAccounts(count) {
      await ready()
      const ids = Array.from({ length: count }, () => randomUUID())
      for (const id of ids)
        await store.appendToStream<AccountEvent>(`account-${id}`, [
          { type: 'AccountOpened', data: { id, owner: `emmett-${id}`, at: new Date().toISOString() } },
        ])
      return ids
    },
    async close() {
      await store.close()
      await pool.end().catch(() => {})
    },
  }
}
