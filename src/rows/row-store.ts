import type { Json } from '../columns/values.js'
import type { Params, PlannedSql } from '../data/params.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { Row } from './records.js'

/** How an upsert finds and updates the row it may hit. */
export interface UpsertSpec {
  /** The identity's columns: a row with the same values is updated instead of inserted. */
  readonly identity: readonly string[]
  /** The columns the update path writes (from the proposed row). */
  readonly update: readonly string[]
  /** The caller's tenant: a row of another tenant with the same identity is never updated (nor returned). */
  readonly tenant: Json | undefined
}

/**
 * A write that follows a row write in the same statement (the action's event, so the row and its event take
 * one round trip). It reads the written row from the CTE named `row`: every column as text under its key
 * (`(row."key")::type` gives the value back), and for an update the row as it was under `"old:key"`. It adds
 * its parameters to `params` at once, and builds its text only when asked (see {@link PlannedSql}).
 */
export interface FollowingWrite {
  plan(row: string, params: Params): PlannedSql
  /**
   * The columns of an update's row as it was that it reads (`"old:key"`): the update locks and reads only those
   * (and the key), not the whole row; they go from its CTE to the event's insert, not back to the caller.
   */
  readonly oldKeys: readonly string[]
}

/**
 * An update's row as it was and as it is. `before` is undefined when a {@link FollowingWrite} recorded the
 * event in the same statement: it read the row as it was in SQL, and nothing else reads it.
 */
export interface Written {
  readonly before: Row | undefined
  readonly after: Row
}

/**
 * The seam the action pipeline writes through: every read of the record an action acts on and every write
 * of its row. Each write returns the images the event is captured from. `SqlRowStore` runs the statements in
 * the action's transaction (live actions, replay one event at a time), and runs a {@link FollowingWrite} in
 * the same statement; `BatchRowStore` folds a batch of replayed events in memory and writes it in bulk (replay
 * records no event: it never gets one).
 */
export interface RowStore {
  /** The row with this primary key (in the tenant), or undefined; with `lock`, held for the transaction. */
  load(resource: AnyResource, id: Json, tenant: Json | undefined, lock: boolean): Promise<Row | undefined>
  /** Inserts a row and returns it as stored (database defaults included); `follow` runs in the same statement. */
  insert(resource: AnyResource, values: Row, follow?: FollowingWrite): Promise<Row>
  /**
   * Inserts a row, or updates the row with the same identity; undefined when that row is another tenant's
   * (nothing was written).
   */
  upsert(
    resource: AnyResource,
    values: Row,
    spec: UpsertSpec,
  ): Promise<{ readonly before: Row | undefined; readonly after: Row } | undefined>
  /**
   * Updates the row with this primary key (in the tenant); with `expected`, only while that column still
   * holds that value. Undefined when no row was updated.
   */
  update(
    resource: AnyResource,
    id: Json,
    tenant: Json | undefined,
    values: Row,
    expected?: { readonly key: string; readonly value: Json },
    follow?: FollowingWrite,
  ): Promise<Written | undefined>
  /** Deletes the row with this primary key (in the tenant) and returns it; undefined when there was none. */
  delete(
    resource: AnyResource,
    id: Json,
    tenant: Json | undefined,
    follow?: FollowingWrite,
  ): Promise<Row | undefined>
}
