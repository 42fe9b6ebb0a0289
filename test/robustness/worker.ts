/**
 * A separate application process for the robustness tests: runs random tracked actions against the shared
 * tables until it has done COUNT of them (or forever with COUNT=0), printing one JSON line per committed
 * action ("ok") so the parent knows exactly what committed. Killed with SIGKILL by some tests.
 *
 * env: DATABASE_URL (PostgreSQL) or PGLITE_DIR (PGlite data directory), COUNT, SEED, WORKER.
 */
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { createRewind, isRewindError } from '../../src/index.js'
import { Account, events, loggedResources, Note } from '../support/logged-domain.js'

import { rng } from '../support/rng.js'
import { WORKER_KEY } from './shared.js'

async function main() {
  const count = Number(process.env.COUNT ?? 100)
  const worker = process.env.WORKER ?? '0'
  const random = rng(Number(process.env.SEED ?? 1))
  let close: () => Promise<void>
  let db: unknown
  if (process.env.PGLITE_DIR) {
    const client = new PGlite(process.env.PGLITE_DIR)
    db = drizzlePglite({ client })
    close = () => client.close()
  } else {
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 })
    db = drizzlePg({ client: pool })
    close = () => pool.end()
  }
  const rewind = await createRewind({
    db,
    resources: loggedResources,
    eventLog: {
      table: events,
      actors: { userId: () => undefined, systemActor: () => `worker-${worker}` },
      encryption: { current: 'k', keys: { k: WORKER_KEY } },
    },
  })
  let done = 0
  let n = 0
  while (count === 0 || done < count) {
    n++
    const accounts = await rewind.list(Account, { limit: 50 })
    const pick = () => accounts[Math.floor(random() * accounts.length)]
    const r = random()
    try {
      let label: string
      if (r < 0.15 || accounts.length === 0) {
        await rewind.run(Account, 'register', {
          email: `w${worker}-${n}-${Math.floor(random() * 1e9)}@example.com`,
          password: 'pw-secret',
          notes: random() < 0.3 ? [{ body: `from ${worker}` }] : [],
        })
        label = 'register'
      } else if (r < 0.55) {
        await rewind.run(Account, 'bump', {}, { id: pick()!.id })
        label = 'bump'
      } else if (r < 0.75) {
        await rewind.run(Account, 'rename', { name: `name-${worker}-${n}` }, { id: pick()!.id })
        label = 'rename'
      } else if (r < 0.9) {
        await rewind.run(Note, 'create', { accountId: pick()!.id, body: `note ${worker}-${n}` })
        label = 'note'
      } else {
        const notes = await rewind.list(Note, { limit: 20 })
        const note = notes[Math.floor(random() * notes.length)]
        if (!note) continue
        await rewind.run(Note, 'destroy', {}, { id: note.id })
        label = 'destroyNote'
      }
      done++
      process.stdout.write(`${JSON.stringify({ ok: label })}\n`)
    } catch (error) {
      // Concurrent workers collide (a record destroyed or changed by another): a coded error, nothing written.
      if (!isRewindError(error)) throw error
    }
  }
  await close()
  process.stdout.write(`${JSON.stringify({ done })}\n`)
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`)
  process.exit(3)
})
