import type { ColumnCodec } from '../columns/codec.js'
import { formatClockMicros, nowMicros } from '../data/pg-text.js'
import { RewindError } from '../errors/rewind-error.js'
import { uuidv7 } from '../util/uuidv7.js'
import type { ChangeObject } from './action.js'
import { Changeset, ExactValue, exact } from './changeset.js'

/**
 * Names a change (for `allowHooksInReplay`) and optionally makes it conditional. Say `readsRecord: false` when
 * it never reads the current record: an update or destroy whose changes all say so (and that has no validation,
 * policy or lock) is written without reading the record first, in one round trip.
 */
export function change<T extends import('./types.js').AnyTable = any, Args = any>(
  name: string,
  run: (cs: Changeset<T, Args>) => unknown,
  options: Pick<ChangeObject<T, Args>, 'where' | 'skipInReplay' | 'readsRecord'> = {},
): ChangeObject<T, Args> {
  return { name, run, ...options }
}

/**
 * What a built-in change does, for the compiled write (actions/compiled-write.ts), which computes its values
 * without a changeset. Keyed by the change's `run`: a change object spread into another keeps its meaning only
 * while it keeps that function.
 */
export type BuiltInChange =
  | { readonly kind: 'generateId' }
  | { readonly kind: 'timestamps'; readonly create: string | false; readonly update: string | false }
  | { readonly kind: 'set'; readonly key: string; readonly value: unknown }

const builtIns = new WeakMap<object, BuiltInChange>()

function builtIn<C extends ChangeObject<any, any>>(change: C, what: BuiltInChange): C {
  builtIns.set(change.run, what)
  return change
}

/** What a change does when it is one of these built-ins, run unconditionally; undefined for any other. */
export function builtInChange(change: unknown): BuiltInChange | undefined {
  if (typeof change !== 'object' || change === null) return undefined
  const c = change as ChangeObject<any, any>
  if (c.where !== undefined) return undefined
  return builtIns.get(c.run)
}

function missingColumn(cs: Changeset<any, any>, key: string, what: string): RewindError {
  return new RewindError(
    'INVALID_DEFINITION',
    `${cs.resource}.${cs.action}: ${what} names column "${key}", which ${cs.resource} does not have. Columns: ${[...Changeset.internals(cs).codecs.keys()].join(', ')}`,
    { resource: cs.resource, action: cs.action },
  )
}

/** Sets a column to a value, or to what a function of the changeset returns. */
export function setAttribute<Args = any>(
  key: string,
  value: unknown | ((cs: Changeset<any, Args>) => unknown),
  options: { readonly where?: (cs: Changeset<any, Args>) => boolean } = {},
): ChangeObject<any, Args> {
  const change: ChangeObject<any, Args> = {
    name: `setAttribute:${key}`,
    readsRecord: typeof value === 'function',
    ...options,
    run: (cs) => {
      if (!Changeset.internals(cs).codecs.has(key)) throw missingColumn(cs, key, 'setAttribute')
      cs.set(
        key as never,
        (typeof value === 'function' ? (value as (c: typeof cs) => unknown)(cs) : value) as never,
      )
    },
  }
  return typeof value === 'function' ? change : builtIn(change, { kind: 'set', key, value })
}

/**
 * The current time as an exact value for a timestamp column: with microseconds, or cut to the column's declared
 * precision (a `timestamp(3)` stores milliseconds: the value is what the column stores, in the record and the
 * event alike).
 */
export function timeFor(codec: ColumnCodec, micros: number): ExactValue | Date {
  if (codec.kind !== 'timestamptz' && codec.kind !== 'timestamp') return new Date(Math.floor(micros / 1000))
  const precision = (codec.column as { precision?: number }).precision
  const at = precision !== undefined && precision < 6 ? micros - (micros % 10 ** (6 - precision)) : micros
  return new ExactValue(
    codec.kind === 'timestamptz' ? `${formatClockMicros(at)}Z` : formatClockMicros(at),
    true,
  )
}

/**
 * Sets the create timestamp on creates and the update timestamp on every write, in the app, with
 * microseconds (so events and records agree exactly). Defaults: `createdAt` and `updatedAt`. In replay it
 * sets the times the event recorded (see {@link Changeset.setGenerated}).
 */
export function timestamps(
  options: { readonly create?: string | false; readonly update?: string | false } = {},
): ChangeObject<any, any> {
  const createKey = options.create === undefined ? 'createdAt' : options.create
  const updateKey = options.update === undefined ? 'updatedAt' : options.update
  return builtIn<ChangeObject<any, any>>(
    {
      name: 'timestamps',
      readsRecord: false,
      run: (cs) => {
        const internals = Changeset.internals(cs)
        const { codecs } = internals
        if (createKey && !codecs.has(createKey)) throw missingColumn(cs, createKey, 'timestamps()')
        if (updateKey && !codecs.has(updateKey)) throw missingColumn(cs, updateKey, 'timestamps()')
        // One reading of the clock for both columns, so a new record's two times are equal.
        let micros: number | undefined
        const clock = (key: string) => () => {
          micros ??= nowMicros()
          return timeFor(codecs.get(key)!, micros) as never
        }
        if (cs.actionType === 'create' && createKey) cs.setGenerated(createKey as never, clock(createKey))
        if (updateKey) {
          cs.setGenerated(updateKey as never, clock(updateKey))
          // An upsert that finds its row takes the update path: the update time moves, the create time stays.
          internals.alsoOnUpdate ??= []
          if (!internals.alsoOnUpdate.includes(updateKey)) internals.alsoOnUpdate.push(updateKey)
        }
      },
    },
    { kind: 'timestamps', create: createKey, update: updateKey },
  )
}

/** Generates a UUIDv7 primary key in the app when none was given (ids sort by creation time); in replay, the recorded one. */
export function generateId(): ChangeObject<any, any> {
  return builtIn<ChangeObject<any, any>>(
    {
      name: 'generateId',
      readsRecord: false,
      run: (cs) => {
        if (cs.actionType !== 'create' || cs.isChanging(cs.primaryKey as never)) return
        const codec = Changeset.internals(cs).codecs.get(cs.primaryKey)!
        if (codec.kind !== 'uuid' && codec.kind !== 'text') {
          throw new RewindError(
            'INVALID_DEFINITION',
            `${cs.resource}.${cs.action}: generateId() makes UUIDs, but the primary key "${cs.primaryKey}" is ${codec.sqlType}; use a database identity instead`,
            { resource: cs.resource, action: cs.action },
          )
        }
        cs.setGenerated(cs.primaryKey as never, () => uuidv7() as never)
      },
    },
    { kind: 'generateId' },
  )
}

/** Sets a belongsTo foreign key from an argument holding the related record's id (or the record itself). */
export function relate<Args = any>(
  foreignKey: string,
  argument: keyof Args & string,
): ChangeObject<any, Args> {
  return {
    name: `relate:${foreignKey}`,
    readsRecord: false,
    run: (cs) => {
      if (!Changeset.internals(cs).codecs.has(foreignKey)) throw missingColumn(cs, foreignKey, 'relate')
      const value = (cs.args as Record<string, unknown>)[argument]
      if (value === undefined) return
      const id =
        value !== null && typeof value === 'object' && 'id' in value ? (value as { id: unknown }).id : value
      cs.set(foreignKey as never, id as never)
    },
  }
}

/**
 * After the record is written, runs an action of a related resource for each item of an argument (an
 * object or an array of objects), with the foreign key set to this record's primary key. Related records
 * record their own events, so replay skips this change and restores them from those events.
 */
export function manageRelated<Args = any>(options: {
  /** The related resource (a thunk, as in relationships). */
  readonly resource: () => import('./define-resource.js').AnyResource
  /** The related resource's column that holds this record's primary key. */
  readonly foreignKey: string
  /** The argument holding the related inputs. */
  readonly argument: keyof Args & string
  /** The related resource's action to run (default `create`). */
  readonly action?: string
}): ChangeObject<any, Args> {
  return {
    name: `manageRelated:${options.argument}`,
    skipInReplay: true,
    readsRecord: false,
    run: (cs) => {
      const value = (cs.args as Record<string, unknown>)[options.argument]
      if (value === undefined || value === null) return
      const items = Array.isArray(value) ? value : [value]
      cs.afterAction(async (record, ctx) => {
        const parentId = (record as Record<string, unknown>)[cs.primaryKey]
        for (const item of items) {
          await ctx.run(options.resource(), options.action ?? 'create', {
            ...(item as object),
            [options.foreignKey]: parentId,
          })
        }
      })
    },
  }
}

export { exact }
