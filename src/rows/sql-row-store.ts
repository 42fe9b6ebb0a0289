import type { Json } from '../columns/values.js'
import type { SqlClient } from '../data/database.js'
import type { AnyResource } from '../resource/define-resource.js'
import { canonicalRow, completedRow, type Row } from './records.js'
import {
  deletePlan,
  deleteRow,
  insertPlan,
  insertRow,
  type Statement,
  selectByIdentity,
  selectByKey,
  updatePlan,
  updateRow,
  withFollowing,
} from './row-statements.js'
import type { FollowingWrite, RowStore, UpsertSpec, Written } from './row-store.js'

/** The row store of a transaction: each call is one statement on its client. */
export class SqlRowStore implements RowStore {
  constructor(readonly client: SqlClient) {}

  async load(resource: AnyResource, id: Json, tenant: Json | undefined, lock: boolean) {
    const q = selectByKey(resource, id, tenant, lock)
    const rows = await this.client.queryText(q.text, q.params)
    return rows[0] ? canonicalRow(resource, rows[0]) : undefined
  }

  // insert, update and delete are not async functions: each promise is its statement's, with the answer decoded.
  insert(resource: AnyResource, values: Row, follow?: FollowingWrite): Promise<Row> {
    if (!follow) {
      const q = insertRow(resource, values, { overriding: overrides(resource, values) })
      return this.client.queryText(q.text, q.params).then((rows) => canonicalRow(resource, rows[0]!))
    }
    // With its event in the statement (only on a table without triggers of its own: nothing else changes the
    // row), the insert reads back only what it cannot know and completes the row from the values it set.
    const q = insertFollowed(resource, values, follow)
    return this.client.queryText(q.text, q.params).then((rows) => completedRow(resource, rows[0]!, values))
  }

  async upsert(resource: AnyResource, values: Row, spec: UpsertSpec) {
    // Read (and lock) the row the upsert may hit, so its event records what really changed.
    const lookup = selectByIdentity(resource, spec.identity, values, spec.tenant)
    const found = lookup ? await this.client.queryText(lookup.text, lookup.params) : []
    // A row of another tenant with the same identity is never updated (nor returned): no row comes back.
    const guard =
      resource.tenant !== undefined && spec.tenant !== undefined && !spec.identity.includes(resource.tenant)
        ? resource.tenant
        : undefined
    const q = insertRow(resource, values, {
      overriding: overrides(resource, values),
      onConflict: {
        target: spec.identity,
        update: spec.update,
        ...(guard ? { onlyWhereSame: guard } : {}),
      },
    })
    const rows = await this.client.queryText(q.text, q.params)
    if (rows.length === 0) return undefined
    const inserted = rows[0]!.__inserted === 't' || rows[0]!.__inserted === 'true'
    return {
      before: inserted || !found[0] ? undefined : canonicalRow(resource, found[0]),
      after: canonicalRow(resource, rows[0]!),
    }
  }

  update(
    resource: AnyResource,
    id: Json,
    tenant: Json | undefined,
    values: Row,
    expected?: { readonly key: string; readonly value: Json },
    follow?: FollowingWrite,
  ): Promise<Written | undefined> {
    // The event that follows in the statement reads the row as it was in SQL: nothing else needs it back.
    const q = follow
      ? updateFollowed(resource, id, tenant, values, expected, follow)
      : updateRow(resource, id, tenant, values, expected)
    // With its event in the statement (only on a table without triggers of its own: nothing else changes the
    // row), the update reads back only what it cannot know and completes the row from the values it set.
    return this.client
      .queryText(q.text, q.params)
      .then((rows) =>
        rows.length === 0
          ? undefined
          : follow
            ? { before: undefined, after: completedRow(resource, rows[0]!, values) }
            : { before: canonicalRow(resource, rows[0]!, 'old:'), after: canonicalRow(resource, rows[0]!) },
      )
  }

  delete(resource: AnyResource, id: Json, tenant: Json | undefined, follow?: FollowingWrite) {
    const q = follow
      ? withFollowing(resource, (params) => deletePlan(resource, id, tenant, params), follow, false)
      : deleteRow(resource, id, tenant)
    return this.client
      .queryText(q.text, q.params)
      .then((rows) => (rows[0] ? canonicalRow(resource, rows[0]) : undefined))
  }
}

/**
 * An insert with the write that follows it in the same statement (the action's event). Only on a table without
 * triggers of its own (nothing else changes the row): it reads back only what it cannot know, and the caller
 * completes the row from the values it set (records.ts completedRow).
 */
export function insertFollowed(resource: AnyResource, values: Row, follow: FollowingWrite): Statement {
  const options = { overriding: overrides(resource, values), returnUnknown: true }
  return withFollowing(resource, (params) => insertPlan(resource, values, options, params), follow, false)
}

/**
 * An update with the write that follows it in the same statement, as {@link insertFollowed}; with `guards`, it
 * writes only if each of those columns changes (see updatePlan), else nothing.
 */
export function updateFollowed(
  resource: AnyResource,
  id: Json,
  tenant: Json | undefined,
  values: Row,
  expected: { readonly key: string; readonly value: Json } | undefined,
  follow: FollowingWrite,
  guards?: readonly string[],
): Statement {
  return withFollowing(
    resource,
    (params) => updatePlan(resource, id, tenant, values, expected, params, follow.oldKeys, guards),
    follow,
    true,
  )
}

/** Whether the row sets an identity column declared GENERATED ALWAYS (written with OVERRIDING SYSTEM VALUE). */
function overrides(resource: AnyResource, values: Row): boolean {
  for (const key of resource.identityAlwaysColumns) if (values.has(key)) return true
  return false
}
