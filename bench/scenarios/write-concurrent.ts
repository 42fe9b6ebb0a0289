import { randomUUID } from 'node:crypto'
import { Item } from '../domain.js'
import { type Metric, openDb, openRewind, rawSql } from '../lib.js'

/**
 * N concurrent writers on PostgreSQL (one pool of N connections), mixed creates and updates on a shared set
 * of records: Rewind's default mode (no global lock), its advisory-lock mode (AshEvents' design), raw SQL.
 * Modes alternate round by round, after an unmeasured round of each.
 */
export async function writeConcurrent(quick: boolean): Promise<Metric[]> {
  const metrics: Metric[] = []
  for (const writers of [4, 8, 16]) {
    const b = await openDb('postgres', writers)
    const tracked = await openRewind(b.db)
    const advisory = await openRewind(b.db, { advisoryLock: 'global' })
    const raw = rawSql(b)
    const shared = await tracked.bulkCreate(
      Item,
      'create',
      Array.from({ length: 64 }, (_, i) => ({ name: `shared-${i}` })),
    )
    const perWriter = quick ? 40 : 150
    const rounds = quick ? 3 : 5
    const totals = { tracked: 0, advisory: 0, raw: 0 }
    let serial = 0
    const runMode = async (mode: keyof typeof totals, measured = true) => {
      const t = performance.now()
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const target = shared[(w * 13 + i * 7 + serial) % shared.length]!
            const create = i % 4 === 0
            const name = `${mode}-${w}-${serial++}-${i}`
            if (mode === 'raw') {
              const at = new Date().toISOString()
              await raw.transaction(async (q) => {
                const id = create ? randomUUID() : target.id
                if (create)
                  await q('INSERT INTO items (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)', [
                    id,
                    name,
                    at,
                  ])
                else await q('UPDATE items SET name = $2, updated_at = $3 WHERE id = $1', [id, name, at])
                await q(
                  `INSERT INTO events (record_id, resource, action, action_type, data, changed_attributes, occurred_at)
                   VALUES ($1, 'Item', $2, $3, $4, $5, $6)`,
                  [
                    id,
                    create ? 'create' : 'rename',
                    create ? 'create' : 'update',
                    JSON.stringify({ name }),
                    JSON.stringify({ updatedAt: at }),
                    at,
                  ],
                )
              })
            } else {
              const rewind = mode === 'tracked' ? tracked : advisory
              if (create) await rewind.run(Item, 'create', { name })
              else await rewind.run(Item, 'rename', { name }, { id: target.id })
            }
          }
        }),
      )
      if (measured) totals[mode] += performance.now() - t
    }
    // Unmeasured: every mode's code is compiled by the JIT and its statements planned before timing starts.
    for (const mode of ['tracked', 'advisory', 'raw'] as const) await runMode(mode, false)
    for (let r = 0; r < rounds; r++) {
      await runMode('tracked')
      await runMode('advisory')
      await runMode('raw')
    }
    const ops = writers * perWriter * rounds
    metrics.push(
      {
        name: `write.${writers}.tracked_per_s`,
        backend: 'postgres',
        value: (ops * 1000) / totals.tracked,
        unit: 'actions/s',
        target: null,
      },
      {
        name: `write.${writers}.advisory_per_s`,
        backend: 'postgres',
        value: (ops * 1000) / totals.advisory,
        unit: 'actions/s',
        target: null,
      },
      {
        name: `write.${writers}.raw_per_s`,
        backend: 'postgres',
        value: (ops * 1000) / totals.raw,
        unit: 'writes/s',
        target: null,
      },
      {
        name: `write.${writers}.tracked_vs_raw`,
        backend: 'postgres',
        value: totals.raw / totals.tracked,
        unit: 'ratio',
        target: writers === 8 ? 0.85 : null,
        direction: 'min',
      },
      {
        name: `write.${writers}.tracked_vs_advisory`,
        backend: 'postgres',
        value: totals.advisory / totals.tracked,
        unit: 'ratio',
        target: writers === 8 ? 3 : null,
        direction: 'min',
      },
      {
        // Raw SQL does strictly less than a tracked action, so this bounds tracked_vs_advisory on this machine.
        name: `write.${writers}.raw_vs_advisory`,
        backend: 'postgres',
        value: totals.advisory / totals.raw,
        unit: 'ratio',
        target: null,
      },
    )
    await tracked.close()
    await advisory.close()
    await b.close()
  }
  return metrics
}
