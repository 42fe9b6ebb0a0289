import { Item } from '../domain.js'
import { type BackendName, type BenchDb, type Metric, median, openDb, openRewind } from '../lib.js'

/** Resolves once another session holds verifyReplay's EXCLUSIVE lock on items (PostgreSQL). */
async function lockTaken(b: BenchDb): Promise<void> {
  for (;;) {
    const { rows } = await b.pool!.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'items'::regclass AND mode = 'ExclusiveLock' AND granted`,
    )
    if (rows[0].n > 0) return
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/**
 * How long a writer waits while a verification runs. verifyReplay locks the tracked tables (EXCLUSIVE) for its
 * whole transaction, so a write that arrives just after the lock is taken waits for the copies, the replay and
 * the diffs. A small log (150 items, 100 renames, 250 events), PostgreSQL's settings at their defaults (jit on).
 * PGlite is one session: its writer waits in PGlite's queue the same way.
 */
export async function verifyHold(backend: BackendName, quick: boolean): Promise<Metric[]> {
  const b = await openDb(backend, 4)
  const rewind = await openRewind(b.db)
  try {
    const items = await rewind.bulkCreate(
      Item,
      'create',
      Array.from({ length: 150 }, (_, i) => ({ name: `v-${i}` })),
    )
    for (const item of items.slice(0, 100))
      await rewind.run(Item, 'rename', { name: `${item.name}-r` }, { id: item.id })
    const runs = quick ? 5 : 9
    const holds: number[] = []
    const verifies: number[] = []
    // Unmeasured: the code compiled and the statements planned, as on a running server.
    await rewind.verifyReplay()
    for (let r = 0; r < runs; r++) {
      const started = performance.now()
      const verifying = rewind.verifyReplay()
      if (b.pool) await lockTaken(b)
      const arrived = performance.now()
      await rewind.run(Item, 'rename', { name: `w-${r}` }, { id: items[0]!.id })
      holds.push(performance.now() - arrived)
      const result = await verifying
      verifies.push(performance.now() - started)
      if (!result.ok) throw new Error('verify.writer_hold_ms: the log does not reproduce the tables')
    }
    return [
      {
        name: 'verify.writer_hold_ms',
        backend,
        value: median(holds),
        unit: 'ms',
        target: null,
      },
      { name: 'verify.ms_p50', backend, value: median(verifies), unit: 'ms', target: null },
    ]
  } finally {
    await rewind.close()
    await b.close()
  }
}
