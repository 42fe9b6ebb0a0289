import type { PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig } from 'drizzle-orm/pg-core'
import { qualifiedName, quoteIdent } from '../schema/names.js'

/**
 * The statements that make an event table append-only: a trigger rejects UPDATE, DELETE and TRUNCATE for
 * every role, the table owner included. (Erasure goes through encryption keys, never through edits.)
 */
export function appendOnlyStatements(table: PgTable): string[] {
  const { name, schema } = getTableConfig(table)
  const fn = schema
    ? `${quoteIdent(schema)}.${quoteIdent(`${name}_append_only`)}`
    : quoteIdent(`${name}_append_only`)
  const target = qualifiedName(table)
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the event log % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$`,
    `DROP TRIGGER IF EXISTS ${quoteIdent(`${name}_no_update_delete`)} ON ${target}`,
    `CREATE TRIGGER ${quoteIdent(`${name}_no_update_delete`)} BEFORE UPDATE OR DELETE ON ${target} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
    `DROP TRIGGER IF EXISTS ${quoteIdent(`${name}_no_truncate`)} ON ${target}`,
    `CREATE TRIGGER ${quoteIdent(`${name}_no_truncate`)} BEFORE TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
  ]
}
