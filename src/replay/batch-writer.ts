import type { Scope } from '../actions/scope.js'
import type { ColumnCodec } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import { printArrayLiteral } from '../data/pg-text.js'
import { canonicalRow, selectList } from '../data/statements.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'

/** One row as batched replay tracks it while folding a batch of events in memory. */
interface Entry {
  /** `db`: the row existed before the batch; `new`: created by an event of this batch. */
  readonly origin: 'db' | 'new'
  /** The row as the events of the batch left it so far (undefined: destroyed). */
  state: Map<string, Json> | undefined
  /** The columns the batch's events wrote (what the bulk statements write). */
  readonly written: Map<string, Json>
}

/** Raised when a batch cannot be folded safely (the replayer then applies it one event at a time). */
export class CannotBatch extends Error {}

function key(id: Json): string {
  return typeof id === 'string' ? id : JSON.stringify(id)
}

/**
 * Folds the writes of a batch of events in memory and flushes them as a few bulk statements: inserts and
 * updates parents first, deletes children first. The final state equals applying the events one by one;
 * anything that could differ (a primary key destroyed and created again in one batch) refuses to batch, and
 * a bulk statement the database refuses makes the replayer redo the batch one event at a time.
 */
export class BatchWriter {
  readonly #rows = new Map<AnyResource, Map<string, Entry>>()
  /** Keys read from the database and not found there (before the batch). */
  readonly #absent = new Map<AnyResource, Set<string>>()

  constructor(
    readonly scope: Scope,
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
      const pk = resource.codecs.get(resource.primaryKey)!
      const rows = await this.scope.client.queryText(
        `SELECT ${selectList(resource)} FROM ${qualifiedName(resource.table)} WHERE ${quoteIdent(pk.name)} = ANY(CAST($1::text AS ${pk.castType}[]))`,
        [printArrayLiteral(missing)],
      )
      const found = new Set<string>()
      for (const row of rows) {
        const values = canonicalRow(resource, row)
        const id = key(values.get(resource.primaryKey)!)
        found.add(id)
        table.set(id, { origin: 'db', state: values, written: new Map() })
      }
      for (const id of missing) if (!found.has(id)) absent.add(id)
    }
  }

  /** {@link load}, bound: what replayed actions read their record through. */
  readonly loader = (resource: AnyResource, id: Json) => this.load(resource, id)

  /** The row as the batch has it now (undefined when it does not exist). */
  async load(resource: AnyResource, id: Json): Promise<Map<string, Json> | undefined> {
    const t = this.#table(resource)
    if (!t.has(key(id)) && !this.#absent.get(resource)?.has(key(id))) {
      await this.prefetch(new Map([[resource, new Set([key(id)])]]))
    }
    return t.get(key(id))?.state
  }

  create(resource: AnyResource, values: ReadonlyMap<string, Json>): void {
    const id = values.get(resource.primaryKey)
    if (id === undefined || id === null) throw new CannotBatch('a create without its primary key')
    const t = this.#table(resource)
    const existing = t.get(key(id))
    // A key destroyed and created again in one batch: a bulk write would merge the two rows.
    if (existing) throw new CannotBatch(`${resource.name} ${key(id)} is written twice as new in one batch`)
    const state = new Map<string, Json>()
    for (const k of resource.codecs.keys()) state.set(k, null)
    for (const [k, v] of values) state.set(k, v)
    t.set(key(id), { origin: 'new', state, written: new Map(values) })
  }

  update(resource: AnyResource, id: Json, values: ReadonlyMap<string, Json>): void {
    const entry = this.#table(resource).get(key(id))
    if (!entry?.state) throw new CannotBatch(`${resource.name} ${key(id)} is not loaded`)
    for (const [k, v] of values) {
      entry.state.set(k, v)
      entry.written.set(k, v)
    }
  }

  destroy(resource: AnyResource, id: Json): void {
    const entry = this.#table(resource).get(key(id))
    if (!entry?.state) throw new CannotBatch(`${resource.name} ${key(id)} is not loaded`)
    entry.state = undefined
  }

  /** Writes the batch: inserts and updates in foreign-key order, then deletes in reverse. */
  async flush(): Promise<void> {
    for (const resource of this.resources) {
      const rows = this.#rows.get(resource)
      if (!rows) continue
      const inserts: Map<string, Json>[] = []
      const updates: { id: Json; values: Map<string, Json> }[] = []
      for (const [, entry] of rows) {
        if (!entry.state) continue
        if (entry.origin === 'new') inserts.push(entry.written)
        else if (entry.written.size > 0)
          updates.push({ id: entry.state.get(resource.primaryKey)!, values: entry.written })
      }
      await this.#insert(resource, inserts)
      await this.#update(resource, updates)
    }
    for (const resource of [...this.resources].reverse()) {
      const rows = this.#rows.get(resource)
      if (!rows) continue
      const ids = [...rows.entries()]
        .filter(([, e]) => e.origin === 'db' && e.state === undefined)
        .map(([id]) => id)
      if (ids.length === 0) continue
      const pk = resource.codecs.get(resource.primaryKey)!
      await this.scope.client.queryText(
        `DELETE FROM ${qualifiedName(resource.table)} WHERE ${quoteIdent(pk.name)} = ANY(CAST($1::text AS ${pk.castType}[]))`,
        [printArrayLiteral(ids)],
      )
    }
    this.#rows.clear()
    this.#absent.clear()
  }

  /** One INSERT ... SELECT FROM unnest(...) per set of columns: one text-array parameter per column. */
  async #insert(resource: AnyResource, rows: Map<string, Json>[]): Promise<void> {
    for (const group of groupByColumns(rows)) {
      const codecs = group.columns.map((k) => resource.codecs.get(k)!)
      const overriding = group.columns.some((k) => resource.identityAlwaysColumns.has(k))
      const { params, selects, names } = unnestParams(codecs, group.rows)
      await this.scope.client.queryText(
        `INSERT INTO ${qualifiedName(resource.table)} (${codecs.map((c) => quoteIdent(c.name)).join(', ')})${overriding ? ' OVERRIDING SYSTEM VALUE' : ''} SELECT ${selects.join(', ')} FROM unnest(${params.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${names.join(', ')})`,
        params,
      )
    }
  }

  /** One UPDATE ... FROM unnest(...) per set of written columns. */
  async #update(resource: AnyResource, updates: { id: Json; values: Map<string, Json> }[]): Promise<void> {
    const pk = resource.codecs.get(resource.primaryKey)!
    const rows = updates.map((u) => new Map([[`\u0000pk`, u.id], ...u.values]))
    for (const group of groupByColumns(rows)) {
      const cols = group.columns.filter((k) => k !== '\u0000pk')
      const codecs = [pk, ...cols.map((k) => resource.codecs.get(k)!)]
      const aligned = group.rows.map(
        (r) => new Map([[pk.key, r.get('\u0000pk')!], ...cols.map((k) => [k, r.get(k)!] as const)]),
      )
      const { params, selects, names } = unnestParams(codecs, aligned, [pk.key, ...cols])
      const sets = cols.map((k, i) => `${quoteIdent(resource.codecs.get(k)!.name)} = ${selects[i + 1]}`)
      if (sets.length === 0) continue
      await this.scope.client.queryText(
        `UPDATE ${qualifiedName(resource.table)} AS t SET ${sets.join(', ')} FROM unnest(${params.map((_, i) => `$${i + 1}::text[]`).join(', ')}) AS u(${names.join(', ')}) WHERE t.${quoteIdent(pk.name)} = ${selects[0]}`,
        params,
      )
    }
  }
}

function groupByColumns(rows: Map<string, Json>[]): { columns: string[]; rows: Map<string, Json>[] }[] {
  const groups = new Map<string, { columns: string[]; rows: Map<string, Json>[] }>()
  for (const row of rows) {
    const columns = [...row.keys()].sort()
    const sig = columns.join('\u0001')
    let g = groups.get(sig)
    if (!g) {
      g = { columns, rows: [] }
      groups.set(sig, g)
    }
    g.rows.push(row)
  }
  return [...groups.values()]
}

function unnestParams(
  codecs: ColumnCodec[],
  rows: Map<string, Json>[],
  keys: string[] = codecs.map((c) => c.key),
) {
  const names = codecs.map((_, i) => `c${i}`)
  const params = codecs.map((codec, i) =>
    printArrayLiteral(rows.map((r) => codec.toText(r.get(keys[i]!) ?? null))),
  )
  const selects = codecs.map((codec, i) => `u.${names[i]}::${codec.castType}`)
  return { params, selects, names }
}
