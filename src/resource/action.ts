import type {
  AnyTable,
  ArgSchemas,
  ColumnKey,
  CreateInput,
  InferArgsInput,
  InferArgsOutput,
  RecordOf,
  UpdateInput,
} from '../resource/types.js'
import type { Changeset, HookContext } from './changeset.js'

/** A change: a function over the changeset, optionally named and conditional. */
export interface ChangeObject<T extends AnyTable = any, Args = any> {
  /** Names the change (for `allowHooksInReplay` and error messages). */
  readonly name?: string
  /** Runs the change only when this returns true. */
  readonly where?: (cs: Changeset<T, Args>) => boolean
  /** Never runs during replay (for changes that write related records, which replay from their own events). */
  readonly skipInReplay?: boolean
  /**
   * Set false when the change never reads the current record (`cs.record`, or `cs.get` of a column it did
   * not set): an update or destroy whose changes all say so, with no validation, policy or lock, writes
   * without reading the record first (the write itself still locks the row and returns its before-image).
   */
  readonly readsRecord?: boolean
  readonly run: (cs: Changeset<T, Args>) => unknown
}
export type Change<T extends AnyTable = AnyTable, Args = any> =
  | ChangeObject<T, Args>
  | ((cs: Changeset<T, Args>) => unknown)

/** A validation: returns an error message (or messages with fields), or nothing when valid. */
export interface ValidationObject<T extends AnyTable = any, Args = any> {
  readonly name?: string
  readonly where?: (cs: Changeset<T, Args>) => boolean
  /**
   * The attribute whose value this validation checks (length, presence, format). Validations run before the
   * changes; when a change then sets this attribute, the validation runs again, on the value as it will be
   * written, so a value a change computes meets the same rule as the caller's. Leave it out for a guard on the
   * current state (`equals('status', 'draft')` before a change moves the status on). Not run again in replay.
   */
  readonly field?: string
  readonly validate: (
    cs: Changeset<T, Args>,
  ) =>
    | undefined
    | string
    | { field?: string; message: string }
    | Promise<undefined | string | { field?: string; message: string }>
}
export type Validation<T extends AnyTable = AnyTable, Args = any> =
  | ValidationObject<T, Args>
  | ((cs: Changeset<T, Args>) => undefined | string | Promise<undefined | string>)

/** What a policy sees. Return true to allow. */
export interface PolicyContext<T extends AnyTable, Input> {
  readonly actor: unknown
  readonly tenant: unknown
  readonly input: Input
  readonly record: RecordOf<T> | undefined
  readonly action: string
}
export type Policy<T extends AnyTable, Input> = (ctx: PolicyContext<T, Input>) => boolean | Promise<boolean>

interface CommonConfig<T extends AnyTable, Acc extends string, A extends ArgSchemas, Input> {
  /** The columns the caller may set. */
  readonly accept?: readonly Acc[]
  /** Named Standard Schema arguments. */
  readonly arguments?: A
  readonly changes?: readonly Change<T, InferArgsOutput<A>>[]
  readonly validations?: readonly Validation<T, InferArgsOutput<A>>[]
  /** Who may run the action; a forbidden call writes nothing and fails with `FORBIDDEN`. */
  readonly policy?: Policy<T, Input>
  /** Ignore input keys that are neither accepted columns nor arguments, instead of failing. */
  readonly ignoreUnknownInputs?: boolean
  readonly description?: string
}

export interface UpsertConfig<Columns extends string = string> {
  /** The identity (named unique column set) whose conflict turns the create into an update. */
  readonly identity: string
  /** The columns to update when the row exists (columns with `$onUpdateFn` are added). */
  readonly update: readonly Columns[]
}

export interface CreateConfig<T extends AnyTable, Acc extends string, A extends ArgSchemas>
  extends CommonConfig<T, Acc, A, CreateInput<T, Acc, A>> {
  /** Insert or, on a conflict on the identity, update the listed columns. */
  readonly upsert?: UpsertConfig<ColumnKey<T>>
}

export interface UpdateConfig<T extends AnyTable, Acc extends string, A extends ArgSchemas>
  extends CommonConfig<T, Acc, A, UpdateInput<T, Acc, A>> {
  /** An integer column used for optimistic locking: incremented by each update; a stale copy fails with `STALE`. */
  readonly optimisticLock?: ColumnKey<T>
}

export interface DestroyConfig<T extends AnyTable, A extends ArgSchemas>
  extends Omit<CommonConfig<T, never, A, InferArgsInput<A>>, 'accept'> {
  /** A soft destroy updates the row (with the values its changes set) instead of deleting it. */
  readonly soft?: boolean
}

/** What a generic action's `run` receives. */
export interface GenericActionContext<Args> extends HookContext {
  readonly args: Args
}

export interface GenericConfig<A extends ArgSchemas, R> {
  readonly arguments?: A
  readonly policy?: Policy<AnyTable, InferArgsInput<A>>
  readonly ignoreUnknownInputs?: boolean
  readonly description?: string
  readonly run: (ctx: GenericActionContext<InferArgsOutput<A>>) => Promise<R> | R
}

/**
 * An action, as the builders of {@link ActionBuilders} make it: its kind, what it accepts, its changes,
 * validations and policy. `$input` and `$result` carry the types callers pass and get back (phantoms: they
 * exist only for the compiler).
 */
export interface ActionDefinition<
  K extends 'create' | 'update' | 'destroy' | 'action' = 'create' | 'update' | 'destroy' | 'action',
  Input = unknown,
  Result = unknown,
> {
  readonly kind: K
  readonly accept: readonly string[]
  readonly arguments: ArgSchemas
  readonly changes: readonly Change<any, any>[]
  readonly validations: readonly Validation<any, any>[]
  readonly policy: Policy<any, any> | undefined
  readonly ignoreUnknownInputs: boolean
  readonly upsert: UpsertConfig<string> | undefined
  readonly optimisticLock: string | undefined
  readonly soft: boolean
  readonly run: ((ctx: GenericActionContext<any>) => unknown) | undefined
  readonly description: string | undefined
  /** Phantom: the input type callers pass. */
  readonly $input: Input
  /** Phantom: what the action returns. */
  readonly $result: Result
}

function definition<K extends 'create' | 'update' | 'destroy' | 'action', I, R>(
  kind: K,
  config: Partial<CommonConfig<any, string, ArgSchemas, unknown>> & {
    upsert?: UpsertConfig<string>
    optimisticLock?: string
    soft?: boolean
    run?: (ctx: GenericActionContext<any>) => unknown
  },
): ActionDefinition<K, I, R> {
  return Object.freeze({
    kind,
    accept: Object.freeze([...(config.accept ?? [])]),
    arguments: config.arguments ?? {},
    changes: Object.freeze([...(config.changes ?? [])]),
    validations: Object.freeze([...(config.validations ?? [])]),
    policy: config.policy,
    ignoreUnknownInputs: config.ignoreUnknownInputs ?? false,
    upsert: config.upsert,
    optimisticLock: config.optimisticLock,
    soft: config.soft ?? false,
    run: config.run,
    description: config.description,
  }) as unknown as ActionDefinition<K, I, R>
}

/** The action builders of one table, handed to `defineResource`'s `actions` callback. */
export interface ActionBuilders<T extends AnyTable> {
  /** Inserts one row (or upserts on an identity). */
  create<const Acc extends ColumnKey<T> = never, A extends ArgSchemas = {}>(
    config?: CreateConfig<T, Acc, A>,
  ): ActionDefinition<'create', CreateInput<T, Acc, A>, RecordOf<T>>
  /** Updates one row. */
  update<const Acc extends ColumnKey<T> = never, A extends ArgSchemas = {}>(
    config?: UpdateConfig<T, Acc, A>,
  ): ActionDefinition<'update', UpdateInput<T, Acc, A>, RecordOf<T>>
  /** Deletes one row, or with `soft: true` updates it instead. */
  destroy<A extends ArgSchemas = {}>(
    config?: DestroyConfig<T, A>,
  ): ActionDefinition<'destroy', InferArgsInput<A>, RecordOf<T>>
  /** A generic action: a typed function with arguments and a result, run in a transaction. */
  action<R, A extends ArgSchemas = {}>(
    config: GenericConfig<A, R>,
  ): ActionDefinition<'action', InferArgsInput<A>, R>
}

/** @internal */
export function actionBuilders<T extends AnyTable>(): ActionBuilders<T> {
  return {
    create: (config = {}) => definition('create', config as never),
    update: (config = {}) => definition('update', config as never),
    destroy: (config = {}) => definition('destroy', config as never),
    action: (config) => definition('action', config as never),
  }
}
