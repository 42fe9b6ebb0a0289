import { newScope, type Scope } from '../actions/scope.js'
import { type Json, sameJson } from '../columns/values.js'
import { failureIn } from '../errors/database-failure.js'
import type { AnyResource } from '../resource/define-resource.js'
import { canonicalRow } from '../rows/records.js'
import { selectList } from '../rows/row-statements.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
import { inLockedTransaction } from './lock-tables.js'
import type { Replayer } from './replay.js'
import type { ReplayOptions, ReplayResult } from './replay-options.js'

/** How one row differs between the live table and the replayed one. */
export interface RowDifference {
  readonly id: Json
  /** `missing`: live, not replayed; `extra`: replayed, not live; `changed`: both, with different columns. */
  readonly kind: 'missing' | 'extra' | 'changed'
  /** For `changed`: each differing column with its live and replayed values (canonical). */
  readonly columns: Readonly<Record<string, { readonly live: Json; readonly replayed: Json }>>
}

export interface TableDifferences {
  readonly resource: string
  readonly rows: readonly RowDifference[]
  /** True when more differences exist than were listed. */
  readonly truncated: boolean
}

export interface VerifyResult {
  /** True when every tracked table equals its replay. */
  readonly ok: boolean
  readonly differences: readonly TableDifferences[]
  readonly replay: ReplayResult
}

export interface VerifyOptions extends ReplayOptions {
  /** At most this many differing rows are listed per table (default 100). */
  readonly maxRowsPerTable?: number
}

class Rollback {
  constructor(readonly result: VerifyResult) {}
}

/**
 * Replays inside a transaction that is rolled back and compares every tracked table with its live copy.
 * The live data is never modified (the replay's writes vanish with the rollback). While it runs, writes to
 * the tracked tables wait (an EXCLUSIVE lock); plain reads do not.
 */
export async function verifyReplay(replayer: Replayer, options: VerifyOptions = {}): Promise<VerifyResult> {
  const limit = options.maxRowsPerTable ?? 100
  try {
    const tracked = replayer.trackedResources()
    // One consistent picture of the tables and the log: writers in flight finish, new ones wait until the
    // verification ends (readers go on), so that the copies and the events agree.
    const tables = tracked.map((r) => qualifiedName(r.table))
    await inLockedTransaction(replayer.db, tables, 'EXCLUSIVE', 'verifyReplay', async (client) => {
      // Rolled back, so nothing commits: after-transaction hooks of allowed changes do not run.
      const scope = newScope(client)
      const copies = new Map<AnyResource, string>()
      let i = 0
      for (const r of tracked) {
        const name = `rewind_verify_live_${i++}`
        await client.query(
          `CREATE TEMP TABLE ${name} ON COMMIT DROP AS SELECT * FROM ${qualifiedName(r.table)}`,
        )
        copies.set(r, name)
      }
      const replay = await replayer.replayInScope(scope, options, {
        advanceSequences: false,
        clear: 'delete',
      })
      const differences: TableDifferences[] = []
      for (const r of tracked) {
        const diff = await diffTable(scope, r, copies.get(r)!, limit)
        if (diff.rows.length > 0) differences.push(diff)
      }
      throw new Rollback({ ok: differences.length === 0, differences, replay })
    })
  } catch (error) {
    if (error instanceof Rollback) return error.result
    throw failureIn(error, 'verifyReplay')
  }
  throw new Error('unreachable: verification always rolls back')
}

async function diffTable(
  scope: Scope,
  resource: AnyResource,
  liveCopy: string,
  limit: number,
): Promise<TableDifferences> {
  const pk = quoteIdent(resource.codecs.get(resource.primaryKey)!.name)
  const differs = [...resource.codecs.values()]
    .map((c) => `l.${quoteIdent(c.name)}::text IS DISTINCT FROM r.${quoteIdent(c.name)}::text`)
    .join(' OR ')
  const rows = await scope.client.query(
    `SELECT ${selectList(resource, 'l', 'l:')}, ${selectList(resource, 'r', 'r:')}, (l.${pk} IS NULL)::text AS "__extra", (r.${pk} IS NULL)::text AS "__missing"
     FROM ${liveCopy} AS l FULL OUTER JOIN ${qualifiedName(resource.table)} AS r ON l.${pk} = r.${pk}
     WHERE l.${pk} IS NULL OR r.${pk} IS NULL OR ${differs}
     ORDER BY COALESCE(l.${pk}, r.${pk}) LIMIT ${limit + 1}`,
  )
  const out: RowDifference[] = []
  for (const row of rows.slice(0, limit)) {
    const live = canonicalRow(resource, row, 'l:')
    const replayed = canonicalRow(resource, row, 'r:')
    if (row.__extra === 't' || row.__extra === 'true') {
      out.push({ id: replayed.get(resource.primaryKey)!, kind: 'extra', columns: {} })
    } else if (row.__missing === 't' || row.__missing === 'true') {
      out.push({ id: live.get(resource.primaryKey)!, kind: 'missing', columns: {} })
    } else {
      const columns: Record<string, { live: Json; replayed: Json }> = {}
      for (const key of resource.codecs.keys()) {
        const a = live.get(key) ?? null
        const b = replayed.get(key) ?? null
        if (!sameJson(a, b)) columns[key] = { live: a, replayed: b }
      }
      if (Object.keys(columns).length > 0)
        out.push({ id: live.get(resource.primaryKey)!, kind: 'changed', columns })
    }
  }
  return { resource: resource.name, rows: out, truncated: rows.length > limit }
}
