import type { Json } from '../columns/values.js'
import { isRewindError } from '../errors/rewind-error.js'
import { appendOnlyProblems } from '../events/append-only.js'
import { listNames } from '../util/list-names.js'
import type { Replayer } from './replay.js'
import { verifyReplay } from './verify.js'

/** One thing the consistency check found wrong. */
export interface ConsistencyFinding {
  readonly kind:
    | 'state-differs' // the live row differs from the state the log gives
    | 'row-without-create-event' // a live row the log does not produce (written outside Rewind, or its events lost)
    | 'event-without-row' // the log says the record exists, the table does not have it
    | 'event-for-missing-record' // an update or destroy event whose record the log never created
    | 'unknown-resource' // events of a resource this Rewind instance does not know (and no override routes)
    | 'append-only-trigger' // the event log's append-only trigger is missing or disabled
    | 'malformed-position'
    | 'malformed-transaction-id'
    | 'replay-failed'
  readonly resource?: string
  readonly id?: Json
  /** For `state-differs`: each differing column with the live value and the value from the log. */
  readonly columns?: Readonly<Record<string, { readonly live: Json; readonly fromLog: Json }>>
  readonly message: string
}

export interface ConsistencyReport {
  readonly ok: boolean
  readonly findings: readonly ConsistencyFinding[]
  /** Events examined. */
  readonly events: number
}

/**
 * Checks that the tables and the log agree: every tracked record's state from the log equals its live row,
 * every live row has its create event, every event belongs to a known resource, positions and transaction
 * ids are well formed, and the log's append-only triggers are in place and enabled. Reads only (the reconstruction runs in a transaction that is rolled back).
 */
export async function checkConsistency(
  replayer: Replayer,
  options: { readonly maxFindings?: number } = {},
): Promise<ConsistencyReport> {
  const max = options.maxFindings ?? 1000
  const findings: ConsistencyFinding[] = []
  const log = replayer.log
  const reader = replayer.db

  const known = new Set([...replayer.resources.keys()])
  for (const o of log.config.replayOverrides)
    known.add(typeof o.resource === 'string' ? o.resource : o.resource.name)
  let events = 0
  for (const [resource, n] of await log.store.countByResource(reader)) {
    events += n
    if (!known.has(resource)) {
      findings.push({
        kind: 'unknown-resource',
        resource,
        message: `${n} event(s) of resource "${resource}", which this Rewind instance does not know and no override routes`,
      })
    }
  }

  for (const message of await appendOnlyProblems(
    (text, params) => replayer.db.query(text, params),
    log.config.table,
  )) {
    findings.push({ kind: 'append-only-trigger', message })
  }

  const malformed = await log.store.malformedCounts(reader)
  if (malformed.badPositions > 0 || malformed.duplicatePositions > 0) {
    findings.push({
      kind: 'malformed-position',
      message: `${malformed.badPositions} event(s) with a missing or non-positive position, ${malformed.duplicatePositions} duplicate position(s)`,
    })
  }
  if (malformed.badTransactionIds > 0) {
    findings.push({
      kind: 'malformed-transaction-id',
      message: `${malformed.badTransactionIds} event(s) with a missing transaction id or one from the future`,
    })
  }

  if (!findings.some((f) => f.kind === 'unknown-resource')) {
    try {
      const verify = await verifyReplay(replayer, { maxRowsPerTable: max, missingRecords: 'skip' })
      for (const s of verify.replay.skipped) {
        findings.push({
          kind: 'event-for-missing-record',
          resource: s.resource,
          message: `event ${s.eventId} (position ${s.position}, ${s.resource}.${s.action}): ${s.reason}`,
        })
      }
      for (const table of verify.differences) {
        for (const row of table.rows) {
          if (row.kind === 'changed') {
            const columns: Record<string, { live: Json; fromLog: Json }> = {}
            for (const [k, v] of Object.entries(row.columns))
              columns[k] = { live: v.live, fromLog: v.replayed }
            findings.push({
              kind: 'state-differs',
              resource: table.resource,
              id: row.id,
              columns,
              message: `${table.resource} ${JSON.stringify(row.id)}: ${differ(Object.keys(columns))} from the log`,
            })
          } else if (row.kind === 'missing') {
            findings.push({
              kind: 'row-without-create-event',
              resource: table.resource,
              id: row.id,
              message: `${table.resource} ${JSON.stringify(row.id)} exists but the log does not create it`,
            })
          } else {
            findings.push({
              kind: 'event-without-row',
              resource: table.resource,
              id: row.id,
              message: `${table.resource} ${JSON.stringify(row.id)} exists according to the log but not in the table`,
            })
          }
        }
      }
    } catch (error) {
      findings.push({
        kind: 'replay-failed',
        message: isRewindError(error)
          ? error.message
          : `the reconstruction failed: ${(error as Error)?.message}`,
      })
    }
  }
  return { ok: findings.length === 0, findings: findings.slice(0, max), events }
}

/** `title differs`, `title and name differ`: the verb agrees with the number of columns. */
function differ(columns: readonly string[]): string {
  return `${listNames(columns)} ${columns.length === 1 ? 'differs' : 'differ'}`
}
