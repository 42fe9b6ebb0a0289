import type { Database, SqlClient } from '../data/database.js'
import { RewindError } from '../errors/rewind-error.js'

/** How long one attempt waits for a table lock: shorter than PostgreSQL's deadlock_timeout (1 s by default). */
const ATTEMPT_WAIT = '200ms'
const ATTEMPTS = 50

/**
 * Runs `fn` in a transaction that first locks `tables` (qualified names) in `mode`, without JIT compilation.
 *
 * Writers in flight finish first; writers that come later wait until the transaction ends. An attempt waits
 * a short time for the locks and, if it does not get them all, gives them back and tries again: a writer that
 * holds one of the tables and waits for another (a deadlock, were we to keep waiting) is never the one that
 * fails.
 */
export async function inLockedTransaction<T>(
  db: Database,
  tables: readonly string[],
  mode: 'EXCLUSIVE' | 'ACCESS EXCLUSIVE',
  what: string,
  fn: (client: SqlClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let locked = false
    try {
      return await db.transaction(async (client) => {
        // Replays and verifications run many small statements over a handful of rows each, while writers
        // wait: with PostgreSQL's default jit = on, planning some of them (diffs, copies, bulk writes) over
        // estimated costs JIT-compiled them for 0.5-1.5 s per table. Never worth it here. (PGlite accepts it too.)
        await client.query('SET LOCAL jit = off')
        if (tables.length > 0) {
          await client.query(`SET LOCAL lock_timeout = '${ATTEMPT_WAIT}'`)
          await client.query(`LOCK TABLE ${tables.join(', ')} IN ${mode} MODE`)
          await client.query('SET LOCAL lock_timeout TO DEFAULT')
        }
        locked = true
        return fn(client)
      })
    } catch (error) {
      const lockTimeout = (error as { code?: unknown } | null)?.code === '55P03'
      if (locked || !lockTimeout) throw error
      if (attempt === ATTEMPTS) {
        throw new RewindError(
          'CONFLICT',
          `${what}: could not lock ${tables.join(', ')} after ${ATTEMPTS} attempts; writers kept them busy. Retry when the load is lower`,
          { cause: error, sqlState: '55P03' },
        )
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(20 * attempt, 500) * Math.random()))
    }
  }
}
