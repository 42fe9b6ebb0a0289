import type { PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig } from 'drizzle-orm/pg-core'
import { qualifiedName, quoteIdent } from '../schema/names.js'

/** The names of the append-only function and triggers of an event table. */
export function appendOnlyNames(table: PgTable): {
  readonly fn: string
  readonly rowTrigger: string
  readonly truncateTrigger: string
} {
  const { name } = getTableConfig(table)
  return {
    fn: `${name}_append_only`,
    rowTrigger: `${name}_no_update_delete`,
    truncateTrigger: `${name}_no_truncate`,
  }
}

/**
 * The statements that make an event table append-only: a trigger rejects UPDATE, DELETE and TRUNCATE for
 * every role, the table owner included. (Erasure goes through encryption keys, never through edits.) They are
 * idempotent. `createTables()` runs them; with drizzle-kit, put them in a custom migration
 * (`drizzle-kit generate --custom`, then `rewind schema --trigger` prints them ready to paste).
 *
 * ```ts
 * appendOnlyStatements(events) // ['CREATE OR REPLACE FUNCTION "events_append_only"() ...', ...]
 * ```
 */
export function appendOnlyStatements(table: PgTable): string[] {
  const { schema } = getTableConfig(table)
  const names = appendOnlyNames(table)
  const fn = schema ? `${quoteIdent(schema)}.${quoteIdent(names.fn)}` : quoteIdent(names.fn)
  const target = qualifiedName(table)
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the event log % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$`,
    `DROP TRIGGER IF EXISTS ${quoteIdent(names.rowTrigger)} ON ${target}`,
    `CREATE TRIGGER ${quoteIdent(names.rowTrigger)} BEFORE UPDATE OR DELETE ON ${target} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    `DROP TRIGGER IF EXISTS ${quoteIdent(names.truncateTrigger)} ON ${target}`,
    `CREATE TRIGGER ${quoteIdent(names.truncateTrigger)} BEFORE TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    // Fire in every session, also one with session_replication_role = replica (which skips ordinary triggers).
    `ALTER TABLE ${target} ENABLE ALWAYS TRIGGER ${quoteIdent(names.rowTrigger)}`,
    `ALTER TABLE ${target} ENABLE ALWAYS TRIGGER ${quoteIdent(names.truncateTrigger)}`,
  ]
}

/** What is wrong with an event table's append-only triggers: one sentence per problem (none when all is well). */
export async function appendOnlyProblems(
  query: (text: string, params: (string | null)[]) => Promise<Record<string, string | null>[]>,
  table: PgTable,
): Promise<string[]> {
  const names = appendOnlyNames(table)
  const target = qualifiedName(table)
  const rows = await query(
    `SELECT t.tgname AS name, t.tgenabled AS enabled FROM pg_trigger t
     WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal AND t.tgname = ANY($2::text[])`,
    [target, `{${names.rowTrigger},${names.truncateTrigger}}`],
  )
  const fix = '`rewind schema --trigger` prints the statements for a migration (or run createTables())'
  const problems: string[] = []
  for (const [trigger, what] of [
    [names.rowTrigger, 'UPDATE and DELETE'],
    [names.truncateTrigger, 'TRUNCATE'],
  ] as const) {
    const row = rows.find((r) => r.name === trigger)
    if (!row) {
      problems.push(
        `the event log ${target} has no append-only trigger "${trigger}", so ${what} of events are not refused; ${fix}`,
      )
    } else if (row.enabled === 'D' || row.enabled === 'R') {
      problems.push(
        `the append-only trigger "${trigger}" of the event log ${target} is disabled, so ${what} of events are not refused; enable it: ALTER TABLE ${target} ENABLE ALWAYS TRIGGER ${quoteIdent(trigger)}`,
      )
    } else if (row.enabled === 'O') {
      // Plain ENABLE (what re-enabling with ENABLE TRIGGER USER gives): a replica session skips the trigger.
      problems.push(
        `the append-only trigger "${trigger}" of the event log ${target} is enabled but not ALWAYS, so a session with session_replication_role = replica gets past it (${what}); enable it always: ALTER TABLE ${target} ENABLE ALWAYS TRIGGER ${quoteIdent(trigger)}`,
      )
    }
  }
  return problems
}
