import { type Json, sameJson } from '../columns/values.js'
import type { SqlClient } from '../data/database.js'
import type { AnyResource } from '../resource/define-resource.js'
import { deleteByKeys, insertRows, selectByKeys, updateRows } from './bulk-statements.js'
import { canonicalRow, type Row, rowKey } from './records.js'
import type { RowStore, UpsertSpec, Written } from './row-store.js'

/** One row as the batch has it while folding its events in memory. */
interface Entry {
  /** `db`: the row existed before the batch; `new`: created by an event of this batch. */
  readonly origin: 'db' | 'new'
  /** The row as the events of the batch left it so far (undefined: destroyed). */
  state: Row | undefined
  /** The columns the batch's events wrote (what the bulk statements write). */
  readonly written: Map<string, Json>
}

/**
 * Raised when a batch cannot be folded in memory with the same result as its events one by one (a key
 * destroyed and created again, an upsert by identity); the replayer then applies the batch one event at a time.
 */
export class CannotFold extends Error {}

/** Whether an error (or its cause, once the pipeline wrapped it) is a {@link CannotFold}. */
export function isCannotFold(error: unknown): boolean {
  return error instanceof CannotFold || (error as { cause?: unknown } | null)?.cause instanceof CannotFold
}

/**
 * A row store that folds the writes of a batch of replayed events in memory, then {@link flush}es them as a
 * few bulk statements: inserts and updates parents first, deletes children first. The final tables equal
 * applying the events one by one; anything that could differ refuses to fold ({@link CannotFold}), and a bulk
 * statement the database refuses makes the replayer redo the batch one event at a time.
 */
export class BatchRowStore implements RowStore {
  readonly #rows = new Map<AnyResource, Map<string, Entry>>()
  /** Keys read from the database and not found there (before the batch). */
  readonly #absent = new Map<AnyResource, Set<string>>()

  constructor(
    readonly client: SqlClient,
    /** The tracked resources in foreign-key order (parents first). */
    readonly resources: readonly AnyResource[],
  ) {}

  #table(resource: AnyResource): Map<string, Entry> {
    let t = this.#rows.get(resource)
    if (!t) {
      t = new Map()
      this.#rows.set(resource, t)
    }
    return t
  }

  /** Reads the rows the batch will touch that are not in memory yet, in one query per table. */
  async prefetch(wanted: ReadonlyMap<AnyResource, ReadonlySet<string>>): Promise<void> {
    for (const [resource, ids] of wanted) {
      const table = this.#table(resource)
      let absent = this.#absent.get(resource)
      if (!absent) {
        absent = new Set()
        this.#absent.set(resource, absent)
      }
      const missing = [...ids].filter((id) => !table.has(id) && !absent.has(id))
      if (missing.length === 0) continue
      const q = selectByKeys(resource, missing)
      const found = new Set<string>()
      for (const raw of await this.client.queryText(q.text, q.params)) {
        const row = canonicalRow(resource, raw)
        const id = rowKey(row.get(resource.primaryKey)!)
        found.add(id)
        table.set(id, { origin: 'db', state: row, written: new Map() })
      }
      for (const id of missing) if (!found.has(id)) absent.add(id)
    }
  }

  async load(resource: AnyResource, id: Json, tenant: Json | undefined): Promise<Row | undefined> {
    const key = rowKey(id)
    const t = this.#table(resource)
    if (!t.has(key) && !this.#absent.get(resource)?.has(key)) {
      await this.prefetch(new Map([[resource, new Set([key])]]))
    }
    const state = t.get(key)?.state
    // As the statement's WHERE would: a row of another tenant is not found.
    if (state && resource.tenant !== undefined && tenant !== undefined) {
      if (!sameJson(state.get(resource.tenant), tenant)) return undefined
    }
    return state
  }

  async insert(resource: AnyResource, values: Row): Promise<Row> {
    const id = values.get(resource.primaryKey)
    if (id === undefined || id === null) throw new CannotFold('a create without its primary key')
    const t = this.#table(resource)
    // A key destroyed and created again in one batch: a bulk write would merge the two rows.
    if (t.has(rowKey(id)))
      throw new CannotFold(`${resource.name} ${rowKey(id)} is written twice as new in one batch`)
    const state = new Map<string, Json>()
    for (const k of resource.codecs.keys()) state.set(k, null)
    for (const [k, v] of values) state.set(k, v)
    t.set(rowKey(id), { origin: 'new', state, written: new Map(values) })
    return state
  }

  async upsert(_resource: AnyResource, _values: Row, _spec: UpsertSpec): Promise<never> {
    // Replay takes an upsert's path by the recorded id (insert or update); a lookup by identity is not folded.
    throw new CannotFold('an upsert by identity')
  }

  async update(
    resource: AnyResource,
    id: Json,
    tenant: Json | undefined,
    values: Row,
  ): Promise<Written | undefined> {
    const before = await this.load(resource, id, tenant)
    const entry = this.#table(resource).get(rowKey(id))
    if (!entry || !before) return undefined
    const after = new Map(before)
    for (const [k, v] of values) {
      after.set(k, v)
      entry.written.set(k, v)
    }
    entry.state = after
    return { before, after }
  }

  async delete(resource: AnyResource, id: Json, tenant: Json | undefined): Promise<Row | undefined> {
    const before = await this.load(resource, id, tenant)
    if (!before) return undefined
    this.#table(resource).get(rowKey(id))!.state = undefined
    return before
  }

  /** Writes the batch: inserts and updates in foreign-key order, then deletes in reverse. */
  async flush(): Promise<void> {
    for (const resource of this.resources) {
      const rows = this.#rows.get(resource)
      if (!rows) continue
      const inserts: Row[] = []
      const updates: { id: Json; values: Row }[] = []
      for (const entry of rows.values()) {
        if (!entry.state) continue
        if (entry.origin === 'new') inserts.push(entry.written)
        else if (entry.written.size > 0)
          updates.push({ id: entry.state.get(resource.primaryKey)!, values: entry.written })
      }
      for (const q of [...insertRows(resource, inserts), ...updateRows(resource, updates)])
        await this.client.queryText(q.text, q.params)
    }
    for (const resource of [...this.resources].reverse()) {
      const rows = this.#rows.get(resource)
      if (!rows) continue
      const ids = [...rows.entries()]
        .filter(([, e]) => e.origin === 'db' && e.state === undefined)
        .map(([id]) => id)
      if (ids.length === 0) continue
      const q = deleteByKeys(resource, ids)
      await this.client.queryText(q.text, q.params)
    }
    this.#rows.clear()
    this.#absent.clear()
  }
}
