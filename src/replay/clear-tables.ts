import type { Scope } from '../actions/scope.js'
import { Params } from '../data/params.js'
import { RewindError } from '../errors/rewind-error.js'
import type { EventLogConfig } from '../events/event-log-config.js'
import type { AnyResource } from '../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'

/**
 * Empties the tracked tables before a replay: the configured `clearRecords` hook, else every tracked table (one
 * tenant's rows when `tenant` is given). `truncate` (a replay) locks them against readers and writers until
 * the replay commits; `delete` (a verification, rolled back) leaves readers free.
 */
export async function clearTables(
  scope: Scope,
  /** In foreign-key order (parents first). */
  tracked: readonly AnyResource[],
  clearRecords: EventLogConfig['clearRecords'],
  tenant: unknown,
  how: 'truncate' | 'delete',
): Promise<void> {
  if (clearRecords) {
    await clearRecords({ sql: (text, params) => scope.client.query(text, params) })
    return
  }
  if (tracked.length === 0) return
  const everyTenant = tenant === undefined || tenant === null
  if (everyTenant && how === 'truncate') {
    await scope.client.query(`TRUNCATE ${tracked.map((r) => qualifiedName(r.table)).join(', ')}`)
    return
  }
  // Delete rows (of one tenant, or all of them), children before parents.
  for (const r of [...tracked].reverse()) {
    const table = r.table
    if (everyTenant) {
      await scope.client.query(`DELETE FROM ${qualifiedName(table)}`)
      continue
    }
    if (r.tenant === undefined) continue
    const codec = r.codecs.get(r.tenant)!
    const cast = codec.fromApp(tenant)
    if (!cast.ok)
      throw new RewindError('VALIDATION', `replay: tenant: ${cast.message}`, {
        issues: [{ path: ['tenant'], message: cast.message }],
      })
    const params = new Params()
    await scope.client.query(
      `DELETE FROM ${qualifiedName(table)} WHERE ${quoteIdent(codec.name)} = ${params.add(codec, cast.value)}`,
      params.values,
    )
  }
}

/** Replayed rows carry their recorded ids: move identity sequences past them (never backwards). */
export async function advanceSequences(scope: Scope, tracked: readonly AnyResource[]): Promise<void> {
  for (const r of tracked) {
    for (const codec of r.codecs.values()) {
      const col = codec.column as unknown as { generatedIdentity?: unknown; columnType: string }
      if (!col.generatedIdentity && !/Serial/.test(col.columnType)) continue
      const rows = await scope.client.query('SELECT pg_get_serial_sequence($1, $2) AS seq', [
        qualifiedName(r.table),
        codec.name,
      ])
      const seq = rows[0]?.seq
      if (!seq) continue
      await scope.client.query(
        `SELECT setval($1::regclass, GREATEST((SELECT last_value FROM ${seq}), (SELECT COALESCE(max(${quoteIdent(codec.name)}), 1) FROM ${qualifiedName(r.table)})))`,
        [seq],
      )
    }
  }
}
