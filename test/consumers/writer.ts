/**
 * A writer process for the consumer tests: random item actions (a create named "poison" now and then) until
 * SIGTERM, or COUNT actions. env: DATABASE_URL, SEED, COUNT (0: until SIGTERM), PAUSE_MS between actions.
 */
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { createRewind } from '../../src/index.js'
import { events, Item, resources } from '../support/consumer-domain.js'
import { rng } from '../support/rng.js'

async function main() {
  const random = rng(Number(process.env.SEED ?? 1))
  const count = Number(process.env.COUNT ?? 0)
  const pause = Number(process.env.PAUSE_MS ?? 0)
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 })
  pool.on('error', () => {})
  const rewind = await createRewind({
    db: drizzle({ client: pool }),
    resources,
    eventLog: { table: events, actors: { systemActor: () => 'writer' } },
    // Only writes: the consumers run in other processes, woken by its commits.
    notifyCommits: true,
  })
  let stop = false
  process.on('SIGTERM', () => {
    stop = true
  })
  const mine: string[] = []
  let done = 0
  while (!stop && (count === 0 || done < count)) {
    const r = random()
    const id = mine[Math.floor(random() * mine.length)]
    try {
      if (r < 0.3 || id === undefined) {
        const name = random() < 0.03 ? 'poison' : `item ${done}`
        mine.push((await rewind.run(Item, 'create', { name, qty: Math.floor(random() * 100) })).id)
      } else if (r < 0.6) await rewind.run(Item, 'rename', { name: `renamed ${done}` }, { id })
      else if (r < 0.9) await rewind.run(Item, 'add', { qty: Math.floor(random() * 1000) }, { id })
      else {
        await rewind.run(Item, 'destroy', {}, { id })
        mine.splice(mine.indexOf(id), 1)
      }
      done++
      if (pause > 0) await new Promise((r) => setTimeout(r, pause))
    } catch (error) {
      console.error(error)
      process.exitCode = 1
      break
    }
  }
  console.log(JSON.stringify({ done }))
  await pool.end()
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
