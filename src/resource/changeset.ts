import type { ColumnCodec } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import type { Issue } from '../errors/rewind-error.js'
import type { AnyTable, ColumnKey, InsertOf, RecordOf } from './types.js'

/** A value given in canonical form (exact, e.g. a timestamp with microseconds); see {@link exact}. */
export class ExactValue {
  constructor(
    readonly value: Json,
    /**
     * @internal Rewind's own: canonical for its column (a clock reading at the column's precision), so the
     * database stores it exactly as given. A value given with {@link exact} is the caller's word, which only the
     * written row can check.
     */
    readonly canonical = false,
  ) {}
}

/**
 * Marks a value as already canonical (the exact database form: an ISO timestamp with microseconds, a
 * decimal string for a bigint, base64 for bytes). Changes use it to set values a JavaScript type would
 * round off, such as microsecond timestamps on a `Date`-mode column.
 */
export function exact(value: Json): ExactValue {
  return new ExactValue(value)
}

/** What an after-action hook receives. */
export type AfterActionHook<T extends AnyTable> = (
  record: RecordOf<T>,
  ctx: HookContext,
) => void | Promise<void>
/** What an after-transaction hook receives: the result, or the error when the transaction failed. */
export type AfterTransactionHook<T extends AnyTable> = (
  outcome:
    | { readonly ok: true; readonly record: RecordOf<T> | undefined }
    | { readonly ok: false; readonly error: unknown },
) => void | Promise<void>
export type BeforeHook = (ctx: HookContext) => void | Promise<void>

/** Options of an action run, as they pass on to nested actions. */
export interface CallOptions {
  readonly actor?: unknown
  readonly tenant?: unknown
  readonly context?: Readonly<Record<string, unknown>>
  readonly metadata?: Readonly<Record<string, unknown>>
  readonly authorize?: boolean
}

/** The runner hooks use to call other actions; inside the transaction they join it. */
export interface NestedRunner {
  run(resource: any, action: string, input?: any, options?: any): Promise<any>
}

/** What hooks can use: the transaction's Drizzle database, raw SQL, and nested actions. */
export interface HookContext extends NestedRunner {
  readonly actor: unknown
  readonly tenant: unknown
  readonly context: Readonly<Record<string, unknown>>
  /** True while the action runs as part of a replay. */
  readonly replaying: boolean
  /** A Drizzle database bound to the action's transaction (created on first use). */
  db(): Promise<unknown>
  /** Raw SQL on the action's transaction; values come back as PostgreSQL text. */
  sql(text: string, params?: readonly (string | null)[]): Promise<Record<string, string | null>[]>
}

/** A registered hook and the change that registered it (replay keeps hooks of allowed changes only). */
export interface Registered<F> {
  readonly fn: F
  readonly change: string | undefined
}

/** What a changeset is made of: the action, who runs it, and what the caller passed. */
export type ChangesetInit<T extends AnyTable, Args> = Pick<
  Changeset<T, Args>,
  'resource' | 'action' | 'actionType' | 'args' | 'actor' | 'tenant' | 'context' | 'replaying'
> & {
  /** The accepted columns the caller passed, or how to build them when first read. */
  readonly input: Readonly<Partial<InsertOf<T>>> | (() => Readonly<Partial<InsertOf<T>>>)
  /** The current record (updates and destroys), or how to build it when it is first read. */
  readonly record: RecordOf<T> | undefined | (() => RecordOf<T> | undefined)
}

/**
 * What the engine keeps of a changeset besides what changes see: the resource's columns, the hooks
 * changes register, and, in replay, the values the event recorded.
 */
export interface ChangesetInternals {
  /** The columns of the resource, by key. */
  readonly codecs: ReadonlyMap<string, ColumnCodec>
  /** Keys that were forced: later `set` calls do not change them (made on the first `force`). */
  forced: Set<string> | undefined
  /** Columns an upsert's update path writes too (the update column of `timestamps()`; made on the first). */
  alsoOnUpdate: string[] | undefined
  readonly beforeActionHooks: Registered<BeforeHook>[]
  readonly afterActionHooks: Registered<AfterActionHook<any>>[]
  readonly beforeTransactionHooks: Registered<BeforeHook>[]
  readonly afterTransactionHooks: Registered<AfterTransactionHook<any>>[]
  /** The name of the change now running, so hooks it registers are attributed to it. */
  currentChange: string | undefined
  /** In replay, the value the event recorded for a column (undefined when it recorded none). */
  readonly recorded: ((key: string) => Json | undefined) | undefined
}

/**
 * The pending state of one action on one record: input, arguments, who is acting, the current record, the
 * attribute values changes set, errors, and hooks. Changes and validations read and write it.
 */
export class Changeset<T extends AnyTable = AnyTable, Args = Record<string, unknown>> {
  /** Attribute values set so far (app values, or {@link ExactValue}s), by column key. */
  readonly attributes = new Map<string, unknown>()
  readonly errors: Issue[] = []
  /** The resource's name. */
  readonly resource: string
  /** The primary key column. */
  readonly primaryKey: string
  readonly action: string
  readonly actionType: 'create' | 'update' | 'destroy'
  /** The accepted attributes the caller passed (app values). */
  #input: Readonly<Partial<InsertOf<T>>> | (() => Readonly<Partial<InsertOf<T>>>)
  /** The parsed arguments (schema outputs, defaults applied). */
  readonly args: Readonly<Args>
  readonly actor: unknown
  readonly tenant: unknown
  readonly context: Readonly<Record<string, unknown>>
  /** True while the action runs as part of a replay. */
  readonly replaying: boolean
  #record: RecordOf<T> | undefined | (() => RecordOf<T> | undefined)
  readonly #internals: ChangesetInternals

  /** @internal the engine makes changesets. */
  constructor(init: ChangesetInit<T, Args>, primaryKey: string, internals: ChangesetInternals) {
    this.resource = init.resource
    this.primaryKey = primaryKey
    this.action = init.action
    this.actionType = init.actionType
    this.#input = init.input
    this.args = init.args
    this.actor = init.actor
    this.tenant = init.tenant
    this.context = init.context
    this.replaying = init.replaying
    this.#record = init.record
    this.#internals = internals
  }

  /** @internal the engine's bookkeeping of a changeset (hooks, forced keys, recorded values). */
  static internals(cs: Changeset<any, any>): ChangesetInternals {
    return cs.#internals
  }

  /** The accepted columns the caller passed (as the app gave them). */
  get input(): Readonly<Partial<InsertOf<T>>> {
    if (typeof this.#input === 'function') this.#input = this.#input()
    return this.#input
  }

  /** The current record (updates and destroys), as the app sees it. */
  get record(): RecordOf<T> | undefined {
    if (typeof this.#record === 'function') this.#record = this.#record()
    return this.#record
  }

  /** The value an attribute will have: set by this action, else the current record's. */
  get<K extends ColumnKey<T>>(key: K): RecordOf<T>[K] | undefined {
    if (this.attributes.has(key)) {
      const v = this.attributes.get(key)
      return (v instanceof ExactValue ? this.#internals.codecs.get(key)?.toApp(v.value) : v) as RecordOf<T>[K]
    }
    return this.record?.[key]
  }

  /** True when this action sets the attribute. */
  isChanging(key: ColumnKey<T>): boolean {
    return this.attributes.has(key)
  }

  /** Sets an attribute (any column, accepted or not). A forced value is kept. */
  set<K extends ColumnKey<T>>(key: K, value: InsertOf<T>[K] | ExactValue): this {
    if (this.#internals.forced?.has(key) !== true) this.attributes.set(key, value)
    return this
  }

  /** Sets an attribute and keeps it against later `set` calls. */
  force<K extends ColumnKey<T>>(key: K, value: InsertOf<T>[K] | ExactValue): this {
    this.attributes.set(key, value)
    this.#internals.forced ??= new Set()
    this.#internals.forced.add(key)
    return this
  }

  /**
   * Sets a generated value (a new id, the current time, a random token) unless this action already sets the
   * attribute. In replay it sets the value the event recorded instead of calling `make`, so later changes see
   * the original (replay writes the recorded value in the end anyway).
   */
  setGenerated<K extends ColumnKey<T>>(key: K, make: () => InsertOf<T>[K] | ExactValue): this {
    if (this.attributes.has(key)) return this
    const recorded = this.#internals.recorded?.(key)
    return this.set(key, recorded !== undefined && recorded !== null ? new ExactValue(recorded) : make())
  }

  /** Adds a validation error; the action fails with `VALIDATION` and writes nothing. */
  addError(field: string | readonly (string | number)[] | undefined, message: string): this {
    const path = field === undefined ? [] : typeof field === 'string' ? [field] : [...field]
    this.errors.push({ path, message })
    return this
  }

  #hook<F>(list: Registered<F>[], fn: F): this {
    list.push({ fn, change: this.#internals.currentChange })
    return this
  }

  /** Runs inside the transaction, just before the row is written. */
  beforeAction(fn: BeforeHook): this {
    return this.#hook(this.#internals.beforeActionHooks, fn)
  }

  /** Runs inside the transaction, after the row and its event are written. */
  afterAction(fn: AfterActionHook<T>): this {
    return this.#hook(this.#internals.afterActionHooks, fn)
  }

  /** Runs before the transaction begins (for a nested action: right away, inside the parent's). */
  beforeTransaction(fn: BeforeHook): this {
    return this.#hook(this.#internals.beforeTransactionHooks, fn)
  }

  /** Runs after the transaction commits (or rolls back, with the error). */
  afterTransaction(fn: AfterTransactionHook<T>): this {
    return this.#hook(this.#internals.afterTransactionHooks, fn)
  }
}
