import type { SqlClient } from '../data/database.js'
import { isRewindError, RewindError } from '../errors/rewind-error.js'
import type { AfterTransactionHook, Registered } from '../resource/changeset.js'
import { SqlRowStore } from '../rows/sql-row-store.js'

/** How one action in a transaction ended: its record, or its own error. */
type Outcome =
  | { readonly ok: true; readonly record: unknown }
  | { readonly ok: false; readonly error: unknown }

/** The after-transaction hooks of one action, and how that action ended (unset while it runs). */
export interface PendingHooks {
  /** The changeset's hooks (the list changes add to while they run). */
  readonly hooks: readonly Registered<AfterTransactionHook<any>>[]
  /** Which of them run (in replay, those of allowed changes only). */
  readonly keep: (hook: Registered<unknown>) => boolean
  outcome: Outcome | undefined
}

/** One transaction's shared state: the client, and the after-transaction hooks of every action in it. */
export interface Scope {
  readonly client: SqlClient
  /** The row store of the transaction: actions read and write their rows through it. */
  readonly rows: SqlRowStore
  readonly afterTransaction: PendingHooks[]
  /** Savepoints of nested actions opened so far (their names are numbered). */
  savepoints: number
  /** Events recorded in the transaction so far (those of a nested action rolled back to its savepoint are not). */
  events: number
}

export function newScope(client: SqlClient): Scope {
  return { client, rows: new SqlRowStore(client), afterTransaction: [], savepoints: 0, events: 0 }
}

/**
 * Runs the after-transaction hooks of a scope once its transaction has ended. On commit, each hook hears how
 * its own action ended (a nested action that failed and was caught failed, though the transaction
 * committed); on rollback, every hook hears of a failure: its action's own error, else the transaction's.
 * Hooks after a rollback cannot change the outcome, so their errors are dropped; after a commit, the first
 * error is thrown, saying the action did commit.
 */
export function settleAfterTransaction(
  pendings: readonly PendingHooks[],
  rollback?: { error: unknown },
): Promise<void> | undefined {
  // No hook to run (most actions): nothing to wait for.
  for (const pending of pendings) if (pending.hooks.length > 0) return settle(pendings, rollback)
  return undefined
}

async function settle(pendings: readonly PendingHooks[], rollback?: { error: unknown }): Promise<void> {
  let failure: unknown
  for (const pending of pendings) {
    const outcome: Outcome =
      rollback === undefined
        ? (pending.outcome ?? { ok: false, error: new RewindError('INTERNAL', 'the action did not finish') })
        : { ok: false, error: pending.outcome?.ok === false ? pending.outcome.error : rollback.error }
    for (const h of pending.hooks) {
      if (!pending.keep(h)) continue
      try {
        await h.fn(outcome.ok ? { ok: true, record: outcome.record as never } : outcome)
      } catch (error) {
        failure ??= error
      }
    }
  }
  if (rollback === undefined && failure !== undefined) {
    throw new RewindError(
      'INTERNAL',
      `the transaction committed, but an after-transaction hook failed: ${isRewindError(failure) ? failure.message : (failure as Error)?.message}`,
      { cause: failure, details: { committed: true } },
    )
  }
}
