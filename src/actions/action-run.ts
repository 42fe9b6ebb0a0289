import type { Json } from '../columns/values.js'
import type { ActionInput } from '../events/capture.js'
import type { ActionDefinition } from '../resource/action.js'
import type { CallOptions, Changeset, ChangesetInternals, Registered } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { Row } from '../rows/records.js'
import type { FollowingWrite } from '../rows/row-store.js'
import type { ParsedInput } from './input.js'
import type { ReplayMode } from './replay-mode.js'
import type { PendingHooks } from './scope.js'

/** Options of one action call, internal form. */
export interface ExecOptions extends CallOptions {
  readonly id?: unknown
  readonly record?: Record<string, unknown>
  /** Set when replay runs the action (see {@link ReplayMode}). */
  readonly replay?: ReplayMode
}

/** How the row is written. */
export type WriteKind = 'insert' | 'upsert' | 'update' | 'delete'

/**
 * One action on its way through the pipeline: what it was asked (set when it starts), and what each step
 * adds for the steps after it (set by the step named beside each field).
 */
export interface ActionRun {
  readonly resource: AnyResource
  readonly action: string
  readonly def: ActionDefinition
  readonly actionType: 'create' | 'update' | 'destroy'
  readonly input: unknown
  readonly options: ExecOptions
  readonly replay: ReplayMode | undefined
  /** resolveTenant: the tenant as its column stores it. */
  tenant: Json | undefined
  /** parse */
  parsed: ParsedInput
  /** loadRecord: how the row will be written (an upsert replay finds is written as an update). */
  write: WriteKind
  /** loadRecord: the record's id (updates and destroys) and the record as read (when it was). */
  id: Json | undefined
  loaded: Row | undefined
  /** loadRecord: the app's view of the loaded record, built when first read (a policy, a change, a validation). */
  record: () => Record<string, unknown> | undefined
  /** openChangeset */
  cs: Changeset<any, any>
  internals: ChangesetInternals
  /** Whether a hook runs (in replay, those of allowed changes only). */
  keep: (hook: Registered<unknown>) => boolean
  /** The action's after-transaction hooks, and how it ended. */
  pending: PendingHooks | undefined
  /** resolveValues: the canonical values to write. */
  values: Map<string, Json>
  /**
   * resolveValues: a change set a value with `exact()` (not in replay, and not Rewind's own canonical ones): what
   * the database stores of it only the written row can say.
   */
  givenExact: boolean
  /** writeRow: the row as it was and is; whether its event went in the same statement. */
  before: Row | undefined
  after: Row | undefined
  recorded: boolean
  /** eventWithRow: the event's insert to follow the row write (null: none; undefined: not planned yet). */
  following: FollowingWrite | null | undefined
  /** afterActionHooks: what the caller gets. */
  result: unknown
}

/** A run as it starts: only what the call says. */
export function startRun(
  resource: AnyResource,
  action: string,
  def: ActionDefinition,
  input: unknown,
  options: ExecOptions,
): ActionRun {
  const actionType = def.kind as 'create' | 'update' | 'destroy'
  return {
    resource,
    action,
    def,
    actionType,
    input,
    options,
    replay: options.replay,
    tenant: undefined,
    parsed: undefined as never,
    write:
      actionType === 'create'
        ? def.upsert
          ? 'upsert'
          : 'insert'
        : actionType === 'update' || def.soft
          ? 'update'
          : 'delete',
    id: undefined,
    loaded: undefined,
    record: noRecord,
    cs: undefined as never,
    internals: undefined as never,
    keep: alwaysKeep,
    pending: undefined,
    values: undefined as never,
    givenExact: false,
    before: undefined,
    after: undefined,
    recorded: false,
    following: undefined,
    result: undefined,
  }
}

const alwaysKeep = () => true
const noRecord = () => undefined

/** What capture needs of a run: the action, its input, who ran it, in which tenant, with what metadata. */
export function captureInput<E extends object>(run: ActionRun, extra: E): ActionInput & E {
  // Object.assign, not `{ ...captureInput(run), ...}` at the callers: V8 copies such a spread on a slow path
  // (~3 µs per action against ~0.1 µs, measured), once per tracked action.
  const input: ActionInput = {
    resource: run.resource,
    action: run.action,
    actionType: run.actionType,
    castAttributes: run.parsed.castAttributes,
    argInputs: run.parsed.argInputs,
    args: run.parsed.args,
    actor: run.options.actor,
    tenant: run.tenant,
    metadata: run.options.metadata ?? {},
  }
  return Object.assign(input, extra)
}
