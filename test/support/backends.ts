import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'

/** A fresh, empty database on one backend, and how to throw it away. */
export interface TestDatabase {
  readonly backend: 'pglite' | 'postgres'
  /** A Drizzle database over the fresh database (PGlite instance or pg Pool as `$client`). */
  readonly db: ReturnType<typeof drizzlePglite> | ReturnType<typeof drizzlePg>
  /** For PostgreSQL: the connection string of the fresh database. */
  readonly url?: string
  close(): Promise<void>
}

export interface Backend {
  readonly name: 'pglite' | 'postgres'
  create(): Promise<TestDatabase>
}

const pgliteBackend: Backend = {
  name: 'pglite',
  async create() {
    const client = new PGlite()
    const db = drizzlePglite({ client })
    return { backend: 'pglite', db, close: () => client.close() }
  },
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

function postgresBackend(adminUrl: string): Backend {
  return {
    name: 'postgres',
    async create() {
      // Creating a database costs milliseconds; it gives every test file a clean, isolated server state.
      const name = `rewind_test_${randomBytes(6).toString('hex')}`
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      await admin.query(`CREATE DATABASE ${name}`)
      await admin.end()
      const url = withDatabase(adminUrl, name)
      const pool = new pg.Pool({ connectionString: url, max: 10 })
      // Robustness tests terminate backends; an idle client's error must not crash the test process.
      pool.on('error', () => {})
      const db = drizzlePg({ client: pool })
      return {
        backend: 'postgres',
        db,
        url,
        async close() {
          await pool.end()
          const admin2 = new pg.Client({ connectionString: adminUrl })
          await admin2.connect()
          await admin2.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
          await admin2.end()
        },
      }
    },
  }
}

/** PGlite always; PostgreSQL too when DATABASE_URL is set (CI sets it). */
export const backends: Backend[] = [
  pgliteBackend,
  ...(process.env.DATABASE_URL ? [postgresBackend(process.env.DATABASE_URL)] : []),
]
