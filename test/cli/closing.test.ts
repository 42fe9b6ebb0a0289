/**
 * The CLI ends the pool the configuration opened once a command is over. A connection the server ends while the
 * pool holds it idle or is ending it (a restart, an idle timeout, a database dropped) must not crash the command's
 * process.
 */
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../examples/accounts/app.js'
import type { LoadedConfig } from '../../src/cli/config.js'
import { defineConfig } from '../../src/cli/index.js'
import { usingRewind } from '../../src/cli/using-rewind.js'
import { backends } from '../support/backends.js'

const postgres = backends.filter((b) => b.name === 'postgres')

describe('the CLI closing its client on pglite', () => {
  it('closes the PGlite instance the configuration opened, once the command is over', async () => {
    let client: PGlite | undefined
    const config = defineConfig({
      rewind: () => {
        client = new PGlite()
        return createApp(drizzlePglite({ client }), { createTables: true })
      },
    })
    const loaded: LoadedConfig = {
      config,
      file: undefined,
      context: { cwd: process.cwd(), env: {}, databaseUrl: undefined },
    }
    const events = await usingRewind(loaded, async (rewind) => {
      expect(client!.closed).toBe(false)
      return (await rewind.events()).events
    })
    expect(events).toEqual([])
    expect(client!.closed).toBe(true)
  })
})

/** A configuration whose Rewind runs on a pool of its own, as a real rewind.config.ts makes it; the pool once made. */
function pooledConfig(url: string): { loaded: LoadedConfig; pool: () => pg.Pool } {
  let pool: pg.Pool | undefined
  const config = defineConfig({
    rewind: () => {
      pool = new pg.Pool({ connectionString: url, max: 2 })
      return createApp(drizzle({ client: pool }), { createTables: true })
    },
  })
  const loaded: LoadedConfig = {
    config,
    file: undefined,
    context: { cwd: process.cwd(), env: {}, databaseUrl: url },
  }
  return {
    loaded,
    pool: () => {
      if (!pool) throw new Error('the configuration has not made its pool yet')
      return pool
    },
  }
}

describe.each(postgres)('the CLI and its pool on $name', (backend) => {
  it('goes on when the server ends a connection the pool holds idle during a command', async () => {
    const tdb = await backend.create()
    const admin = new pg.Client({ connectionString: tdb.url! })
    try {
      await admin.connect()
      const { loaded, pool: opened } = pooledConfig(tdb.url!)
      const seen = await usingRewind(loaded, async (rewind) => {
        await rewind.events()
        // The connection goes back to the pool once this turn of the event loop is over.
        await new Promise((done) => setImmediate(done))
        expect(opened().idleCount).toBe(1)
        const removed = new Promise((done) => opened().once('remove', done))
        // The server ends it (a restart, an idle timeout): pg-pool re-emits its error on the pool.
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        )
        await removed
        expect(opened().totalCount).toBe(0)
        // The command goes on, on a new connection.
        return (await rewind.events()).events.length
      })
      expect(seen).toBe(0)
      expect(opened().ended).toBe(true)
    } finally {
      await admin.end()
      await tdb.close()
    }
  })

  it("ends the configuration's pool; an idle connection that errs while it ends reaches a listener", async () => {
    const tdb = await backend.create()
    try {
      const { loaded, pool: opened } = pooledConfig(tdb.url!)
      let thrown: unknown
      let emitted = 0
      await usingRewind(loaded, async (rewind) => {
        await rewind.events()
        // As the pool ends each connection, the server ends it too (a restart, a dropped database): emulated with
        // the error pg reports for it, emitted on the real connection once its end has begun.
        const pooled = (opened() as unknown as { _clients: pg.Client[] })._clients
        expect(pooled.length).toBeGreaterThan(0)
        for (const client of pooled) {
          const end = client.end.bind(client) as (cb?: () => void) => unknown
          ;(client as unknown as { end: (cb?: () => void) => unknown }).end = (cb) => {
            const ending = end(cb)
            try {
              client.emit(
                'error',
                Object.assign(new Error('terminating connection due to administrator command'), {
                  code: '57P01',
                }),
              )
              emitted++
            } catch (error) {
              thrown = error
            }
            return ending
          }
        }
      })
      expect(thrown).toBeUndefined()
      expect(emitted).toBeGreaterThan(0)
      expect(opened().ended).toBe(true)
    } finally {
      await tdb.close()
    }
  })
})
