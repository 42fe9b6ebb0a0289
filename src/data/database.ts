import { RewindError } from '../errors/rewind-error.js'
import { optionalImport } from '../util/optional-import.js'
import { type PgliteWireLike, supportsWire, wireQuery } from './pglite-wire.js'

/** A row as the database printed it: every value is PostgreSQL's text output, or null. */
export type RawRow = Record<string, string | null>

/** One connection, or one transaction on it. Parameters are always text (cast in SQL). */
export interface SqlClient {
  query(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
  /**
   * For Rewind's own statements, whose result columns are all text (`::text` casts): skips the driver's
   * per-query parser setup, which on PGlite copies its whole parser table for every query.
   */
  queryText(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
}

/** The database Rewind runs on: PGlite or a pg Pool, behind the few calls Rewind needs. */
export interface Database {
  readonly kind: 'pglite' | 'postgres'
  /** The Drizzle database the app passed (or the one Rewind made for its embedded PGlite). */
  readonly drizzle: unknown
  /** Runs `fn` in a transaction on one connection: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>
  /** A query outside any transaction (its own implicit one). */
  query(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
  /** The same for statements whose result columns are all text (see {@link SqlClient.queryText}). */
  queryText(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
  /** A Drizzle database bound to the given transaction client, for hooks that want Drizzle. */
  drizzleFor(client: SqlClient): Promise<unknown>
}

// Structural types: only what Rewind calls, so pg and PGlite stay optional peer dependencies.
interface PGliteLike {
  query(
    text: string,
    params?: unknown[],
    options?: { parsers?: Record<number, (v: string) => unknown> },
  ): Promise<{ rows: RawRow[] }>
  transaction<T>(fn: (tx: PGliteLike) => Promise<T>): Promise<T>
  exec(sql: string): Promise<unknown>
  dumpDataDir?: unknown
}
interface PgQueryConfig {
  name?: string
  text: string
  values?: unknown[]
  types?: unknown
}
interface PgPoolClientLike {
  /** A plain string for BEGIN and COMMIT: pg copies every config object it is given. */
  query(text: string): Promise<unknown>
  query(config: PgQueryConfig): Promise<{ rows: RawRow[] }>
  release(err?: boolean | Error): void
  on(event: 'error', listener: (error: Error) => void): unknown
  off(event: 'error', listener: (error: Error) => void): unknown
}
interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>
  query(config: PgQueryConfig): Promise<{ rows: RawRow[] }>
  totalCount?: number
}

/** pg: every type is returned as the server's text, so nothing is lost to a JavaScript parser. */
const PG_RAW_TYPES = { getTypeParser: () => (value: string) => value }

/**
 * Rewind's statements are few and repeat (one per resource and column set): naming them lets each pg
 * connection parse and plan them once. A bounded number of names; past it, statements go unnamed.
 */
const statementNames = new Map<string, string>()
const MAX_NAMED_STATEMENTS = 1000

function pgQuery(text: string, params: readonly (string | null)[]) {
  let name = statementNames.get(text)
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS && params.length > 0) {
    name = `rewind_${statementNames.size + 1}`
    statementNames.set(text, name)
  }
  return name === undefined
    ? { text, values: params as unknown[], types: PG_RAW_TYPES }
    : { name, text, values: params as unknown[], types: PG_RAW_TYPES }
}

class PgDatabase implements Database {
  readonly kind = 'postgres' as const
  constructor(
    readonly drizzle: unknown,
    private readonly pool: PgPoolLike,
  ) {}

  async query(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    // Named like the statements of a transaction: reads (records, events, time travel) are planned once per connection.
    const res = await this.pool.query(pgQuery(text, params))
    return res.rows
  }

  queryText(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    return this.query(text, params)
  }

  async transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    const conn = await this.pool.connect()
    const client: SqlClient & { conn: PgPoolClientLike } = {
      conn,
      async query(text, params = []) {
        const res = await conn.query(pgQuery(text, params))
        return res.rows
      },
      queryText(text, params = []) {
        return this.query(text, params)
      },
    }
    let broken: Error | undefined
    // A terminated backend makes the client emit 'error'; without a listener that would crash the process.
    const onError = (error: Error) => {
      broken = error
    }
    conn.on('error', onError)
    try {
      await conn.query('BEGIN')
      const result = await fn(client)
      await conn.query('COMMIT')
      return result
    } catch (error) {
      try {
        await conn.query('ROLLBACK')
      } catch (rollbackError) {
        // The connection is gone (terminated backend, network): never hand it back to the pool.
        broken = rollbackError as Error
      }
      throw error
    } finally {
      conn.off('error', onError)
      conn.release(broken ?? false)
    }
  }

  async drizzleFor(client: SqlClient): Promise<unknown> {
    const { drizzle } = await optionalImport<typeof import('drizzle-orm/node-postgres')>(
      'drizzle-orm/node-postgres',
      'ctx.db() in a hook',
    )
    return drizzle({ client: (client as SqlClient & { conn: never }).conn })
  }
}

class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const
  #parsers: Record<number, (v: string) => string> | undefined
  /** The instance, when it offers the wire protocol (see pglite-wire.ts); decided once. */
  readonly #wire: (PGliteLike & PgliteWireLike) | undefined
  constructor(
    readonly drizzle: unknown,
    private readonly pg: PGliteLike,
  ) {
    this.#wire = supportsWire(pg) ? pg : undefined
  }

  /** PGlite parses known types unless told otherwise: map every type it knows to the identity. */
  async #rawParsers(): Promise<Record<number, (v: string) => string>> {
    if (!this.#parsers) {
      const res = await this.pg.query('SELECT oid::int4 AS oid FROM pg_type', [], { parsers: {} })
      const identity = (v: string) => v
      const parsers: Record<number, (v: string) => string> = {}
      for (const row of res.rows) parsers[Number(row.oid)] = identity
      this.#parsers = parsers
    }
    return this.#parsers
  }

  async query(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    const parsers = await this.#rawParsers()
    const res = await this.pg.query(text, params as unknown[], { parsers })
    return res.rows
  }

  async queryText(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    // Rewind's own reads (records, events, time travel) take the prepared path too, in a transaction of their
    // own: PGlite's query() would parse and plan the text again and copy every field of the result.
    if (this.#wire) return this.transaction((client) => client.queryText(text, params))
    const res = await this.pg.query(text, params as unknown[])
    return res.rows
  }

  async transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    // PGlite is one connection: its transaction() holds a mutex, so concurrent callers queue up here.
    const wire = this.#wire
    if (!wire) {
      const parsers = await this.#rawParsers()
      return this.pg.transaction((tx) =>
        fn({
          tx,
          async query(text, params = []) {
            const res = await tx.query(text, params as unknown[], { parsers })
            return res.rows
          },
          async queryText(text, params = []) {
            const res = await tx.query(text, params as unknown[])
            return res.rows
          },
        } as SqlClient & { tx: PGliteLike }),
      )
    }
    let ended = false
    return wire.transaction(async (tx) => {
      // Statements are prepared once and then bound and executed in one call into PGlite; every value comes
      // back as PostgreSQL's text.
      const run = (text: string, params: readonly (string | null)[] = []) => {
        if (ended)
          return Promise.reject(
            new RewindError('INTERNAL', 'this transaction has ended; run the query in a new one'),
          )
        return wireQuery(wire, text, params)
      }
      const client: SqlClient & { tx: PGliteLike } = { tx, query: run, queryText: run }
      try {
        return await fn(client)
      } finally {
        ended = true
      }
    })
  }

  async drizzleFor(client: SqlClient): Promise<unknown> {
    const { drizzle } = await optionalImport<typeof import('drizzle-orm/pglite')>(
      'drizzle-orm/pglite',
      'ctx.db() in a hook',
    )
    return drizzle({ client: (client as SqlClient & { tx: never }).tx })
  }
}

/** Wraps the app's Drizzle database (over PGlite or a pg Pool) for Rewind's own queries. */
export function databaseFromDrizzle(db: unknown): Database {
  const client = (db as { $client?: unknown } | null)?.$client
  if (client && typeof client === 'object') {
    const c = client as Record<string, unknown>
    if (typeof c.exec === 'function' && typeof c.transaction === 'function') {
      return new PgliteDatabase(db, client as PGliteLike)
    }
    if (typeof c.connect === 'function' && typeof c.query === 'function' && 'totalCount' in c) {
      return new PgDatabase(db, client as PgPoolLike)
    }
  }
  throw new RewindError(
    'INVALID_DEFINITION',
    'createRewind: expected `db` to be a Drizzle database over PGlite (drizzle-orm/pglite) or a pg Pool (drizzle-orm/node-postgres), got ' +
      (client === undefined ? 'a value without $client' : 'an unsupported client'),
  )
}
