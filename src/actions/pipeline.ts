import { afterActionHooks, beforeActionHooks, recordEvent, writeRow } from './commit.js'
import {
  authorize,
  beforeTransactionHooks,
  guardPrimaryKey,
  loadRecord,
  openChangeset,
  parse,
  resolveTenant,
} from './prepare.js'
import { resolveValues } from './resolve-values.js'
import { validateAndChange } from './run-changes.js'
import type { Step } from './step.js'

/**
 * The action pipeline, as two lists of steps (each a function of the run, see step.ts). A create runs
 * {@link PREPARE} before its transaction opens, so slow work in its changes holds no database resources; an
 * update or destroy runs both inside its transaction, having read its record under a row lock. Replay runs
 * the same steps, in its own transaction, with a {@link ReplayMode}: recorded values forced, policies and
 * events off, hooks of allowed changes only.
 */
export const PREPARE: readonly Step[] = [
  resolveTenant,
  parse,
  loadRecord,
  authorize,
  openChangeset,
  validateAndChange,
  beforeTransactionHooks,
  resolveValues,
  guardPrimaryKey,
]

/**
 * PREPARE up to the changes: what an update or destroy that never reads its record runs before its
 * transaction opens (its before-transaction hooks, if its changes register any, run inside it).
 */
export const PREPARE_CHANGES: readonly Step[] = PREPARE.slice(0, PREPARE.indexOf(beforeTransactionHooks))

/** The rest of PREPARE. */
export const PREPARE_VALUES: readonly Step[] = PREPARE.slice(PREPARE.indexOf(beforeTransactionHooks))

/** Inside the transaction: the write and its event, with the hooks around them. */
export const COMMIT: readonly Step[] = [beforeActionHooks, writeRow, recordEvent, afterActionHooks]
