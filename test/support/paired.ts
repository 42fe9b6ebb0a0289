import { expect } from 'vitest'
import type { Backend, TestDatabase } from './backends.js'

/** What the paired tests use of a Rewind instance. */
interface Instance {
  readonly database: { query(text: string): Promise<unknown> }
  events(filter: { limit: number }): Promise<{ events: readonly unknown[] }>
  createTables(): Promise<unknown>
  close(): Promise<void>
}

/** How an action ended: its error's code, or `ok` and the record it returned. */
export interface Outcome {
  readonly code: string
  readonly record?: unknown
}

/**
 * Two databases for the same actions: `fast` as Rewind writes by default, `slow` with a no-op trigger of its own on
 * each of `tables`, which keeps Rewind on the pipeline's two statements (a trigger could change the row past what
 * the action wrote).
 */
export async function pairedDatabases<R extends Instance>(
  backend: Backend,
  open: (tdb: TestDatabase) => Promise<R>,
  tables: readonly string[],
): Promise<{ fast: R; slow: R; close(): Promise<void> }> {
  const one = await backend.create()
  const two = await backend.create()
  const fast = await open(one)
  const slow = await open(two)
  await slow.database.query(
    'CREATE FUNCTION keep_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
  )
  for (const table of tables)
    await slow.database.query(
      `CREATE TRIGGER keep_row BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION keep_row()`,
    )
  return {
    fast,
    slow,
    async close() {
      await fast.close()
      await slow.close()
      await one.close()
      await two.close()
    },
  }
}

/** Both databases emptied: the event table made again, the tables truncated (`truncate` is the statement). */
export async function resetBoth(instances: readonly Instance[], truncate: string): Promise<void> {
  for (const r of instances) {
    await r.database.query('DROP TABLE events CASCADE')
    await r.database.query(truncate)
    await r.createTables()
  }
}

/**
 * Runs `op` on both databases: the same outcome on each, and on `fast` one event more when it succeeded, none
 * when it failed (a failure writes nothing).
 */
export async function applyBoth<R extends Instance, Op>(
  fast: R,
  slow: R,
  op: Op,
  apply: (rewind: R, op: Op) => Promise<Outcome>,
): Promise<Outcome> {
  const before = (await fast.events({ limit: 10_000 })).events.length
  const [a, b] = [await apply(fast, op), await apply(slow, op)]
  expect(a, JSON.stringify(op)).toEqual(b)
  const after = (await fast.events({ limit: 10_000 })).events.length
  expect(after).toBe(before + (a.code === 'ok' ? 1 : 0))
  return a
}
