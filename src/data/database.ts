import {
  classifyAtSeam,
  connectionFailure,
  databaseFailure,
  isConnectionFailure,
} from '../errors/database-failure.js'
import { RewindError } from '../errors/rewind-error.js'
import { optionalImport } from '../util/optional-import.js'
import { runNamed, submits } from './pg-statement.js'
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
  /**
   * Runs `fn` in a transaction on one connection: commit when it resolves, roll back when it throws. A lost
   * connection (in `fn`'s statements too) fails with a `DATABASE` {@link RewindError}; other database errors
   * are the driver's, for the caller to map.
   */
  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>
  /**
   * A query outside any transaction (its own implicit one), for raw SQL (`ctx.sql`, maintenance). A lost
   * connection or a missing table of Rewind's fails with a `DATABASE` {@link RewindError}; any other database
   * error is the driver's, SQLSTATE in `code`, for the caller to map.
   */
  query(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
  /**
   * Rewind's own reads (records, events, time travel), whose result columns are all text (see
   * {@link SqlClient.queryText}). Every failure is a {@link RewindError}.
   */
  queryText(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
  /**
   * One statement of Rewind's in a transaction of its own (autocommit): one round trip, no BEGIN or COMMIT.
   * Failures as in {@link transaction}: a lost connection is a `DATABASE` {@link RewindError}, other database
   * errors are the driver's, for the caller to map.
   */
  readonly autocommit: SqlClient
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
  /** PGlite's documented closed state: true once `close()` was called. */
  readonly closed?: boolean
  /** Writes a data directory's changes to its file system (PGlite does it after every statement outside a transaction). */
  syncToFs?(): Promise<void>
  /** Resolves once the instance can run statements (its public calls wait for it themselves). */
  readonly waitReady?: Promise<void>
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
  on(event: 'error', listener: (this: PgPoolClientLike, error: Error) => void): unknown
}
interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>
  query(config: PgQueryConfig): Promise<{ rows: RawRow[] }>
  totalCount?: number
  /** Callers waiting for a connection (pg-pool). */
  readonly waitingCount?: number
  /** pg-pool's state once `end()` was called: every later call fails with a bare Error. */
  readonly ending?: boolean
  readonly ended?: boolean
}

/** pg: every type is returned as the server's text, so nothing is lost to a JavaScript parser. */
const PG_RAW_TYPES = { getTypeParser: () => (value: string) => value }

/**
 * Rewind's statements are few and repeat (one per resource and column set): naming them lets each pg
 * connection parse and plan them once. A bounded number of names; past it, statements go unnamed.
 */
const statementNames = new Map<string, string>()
const MAX_NAMED_STATEMENTS = 1000

function statementName(text: string, params: readonly (string | null)[]): string | undefined {
  let name = statementNames.get(text)
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS && params.length > 0) {
    name = `rewind_${statementNames.size + 1}`
    statementNames.set(text, name)
  }
  return name
}

/**
 * One statement on a pooled connection, every value as text: a named one as Rewind's own submittable (see
 * pg-statement.ts) on pg's JavaScript client, else through pg's query call.
 */
function pgQuery(
  conn: PgPoolClientLike,
  text: string,
  params: readonly (string | null)[],
  begin = false,
): Promise<RawRow[]> {
  const name = statementName(text, params)
  // Not an async function: its promise is the statement's own, with no extra turns to settle it.
  if (name !== undefined && submits(conn)) return runNamed(conn, name, text, params, begin)
  return driverQuery(conn, text, params, name, begin)
}

/** A statement through pg's own query call (unnamed, or a client without submittables such as pg-native). */
async function driverQuery(
  conn: PgPoolClientLike,
  text: string,
  params: readonly (string | null)[],
  name: string | undefined,
  begin: boolean,
): Promise<RawRow[]> {
  if (begin) await conn.query('BEGIN')
  const config =
    name === undefined
      ? { text, values: params as unknown[], types: PG_RAW_TYPES }
      : { name, text, values: params as unknown[], types: PG_RAW_TYPES }
  return (await conn.query(config)).rows
}

/** A transaction's client on PostgreSQL: its connection, and BEGIN sent if no statement has sent it yet. */
interface PgTransactionClient extends SqlClient {
  readonly conn: PgPoolClientLike
  begin(): Promise<void>
}

/**
 * The pooled connections that emitted 'error' (a terminated backend, a broken socket): such a connection is
 * broken for good, and goes back to the pool with its error, which drops it. Every connection Rewind takes is
 * watched from then on by one listener shared by all (an 'error' nobody listens to would crash the process),
 * instead of a listener added and removed around every statement.
 */
const brokenConnections = new WeakMap<PgPoolClientLike, Error>()
const watchedConnections = new WeakSet<PgPoolClientLike>()
function markBroken(this: PgPoolClientLike, error: Error): void {
  brokenConnections.set(this, error)
}
function watch(conn: PgPoolClientLike): PgPoolClientLike {
  if (!watchedConnections.has(conn)) {
    watchedConnections.add(conn)
    conn.on('error', markBroken)
  }
  return conn
}
/**
 * A statement failed on `conn`: the connection is broken for good when the failure says so before any 'error'
 * event does (the server ended the session, 57P01, ahead of closing the socket; a ROLLBACK that could not be
 * sent). Whether it broke, as the seam's failures need to know.
 */
function noteFailure(conn: PgPoolClientLike, error: unknown, lost = isConnectionFailure(error)): boolean {
  if (lost && !brokenConnections.has(conn)) brokenConnections.set(conn, error as Error)
  return brokenConnections.has(conn)
}

class PgDatabase implements Database {
  readonly kind = 'postgres' as const
  constructor(
    readonly drizzle: unknown,
    private readonly pool: PgPoolLike,
    private readonly tables: ReadonlySet<string>,
  ) {}

  /**
   * A failed statement as the seam reports it. pg throws bare Errors ("Connection terminated unexpectedly",
   * "Cannot use a pool after calling end on the pool") once a connection broke or the pool ended: those are
   * recognised by state (the connection emitted 'error', the pool is ending), the rest by code.
   */
  #fail(error: unknown, broken: boolean): unknown {
    return classifyAtSeam(error, {
      closed: broken || this.pool.ending === true || this.pool.ended === true,
      tables: this.tables,
    })
  }

  /** A connection from the pool; failing to get one is a connection failure, whatever the cause. */
  async #connect(): Promise<PgPoolClientLike> {
    try {
      return watch(await this.pool.connect())
    } catch (error) {
      throw connectionFailure(error)
    }
  }

  /**
   * The connection the last statement or transaction ran on, kept until the event loop moves on (released by
   * `setImmediate`): the next statement started in the same turn (the next action of a loop, the action after
   * an awaited one) takes it without a checkout from the pool. A checkout is a promise, a timer set and cleared,
   * events and closures: on one-statement actions, a tenth of the client's work.
   */
  #kept: PgPoolClientLike | undefined
  #releasing = false
  readonly #releaseKept = () => {
    this.#releasing = false
    const kept = this.#kept
    this.#kept = undefined
    kept?.release(brokenConnections.get(kept) ?? false)
  }

  /** A connection: the kept one when there is one (not broken, the pool not ending), else one from the pool. */
  #take(): PgPoolClientLike | Promise<PgPoolClientLike> {
    const kept = this.#kept
    if (kept === undefined) return this.#connect()
    this.#kept = undefined
    const error = brokenConnections.get(kept)
    // Once the pool is ending, no statement starts on it: the connection goes back, and the pool says so.
    if (error === undefined && this.pool.ending !== true) return kept
    kept.release(error ?? false)
    return this.#connect()
  }

  /**
   * Done with a connection: kept for the rest of this turn of the event loop, unless its last statement failed,
   * another one is kept already, the pool is ending, or someone waits for a connection (then it goes back at
   * once). A broken connection (see noteFailure) goes back with its error, which makes the pool drop it.
   */
  #give(conn: PgPoolClientLike, failed: boolean): void {
    const broken = brokenConnections.get(conn)
    if (
      failed ||
      broken !== undefined ||
      this.#kept !== undefined ||
      this.pool.ending === true ||
      (this.pool.waitingCount ?? 0) > 0
    ) {
      conn.release(broken ?? false)
      return
    }
    this.#kept = conn
    if (!this.#releasing) {
      this.#releasing = true
      setImmediate(this.#releaseKept)
    }
  }

  query(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    // What pool.query does, with the connection's 'error' event in sight (see watch): a query that fails because
    // the connection broke is then told apart from one the server refused. Not an async function: the
    // connection goes back as the statement settles, with no async frame around it.
    const taken = this.#take()
    return taken instanceof Promise
      ? taken.then((conn) => this.#queryOn(conn, text, params))
      : this.#queryOn(taken, text, params)
  }

  #queryOn(conn: PgPoolClientLike, text: string, params: readonly (string | null)[]): Promise<RawRow[]> {
    // Named like the statements of a transaction: reads (records, events, time travel) are planned once per
    // connection. pgQuery never throws: a failure to send is its promise's rejection.
    return pgQuery(conn, text, params).then(
      (rows) => {
        this.#give(conn, false)
        return rows
      },
      (error: unknown) => {
        const failure = this.#fail(error, noteFailure(conn, error))
        this.#give(conn, true)
        throw failure
      },
    )
  }

  async queryText(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    try {
      return await this.query(text, params)
    } catch (error) {
      throw databaseFailure(error)
    }
  }

  /** A pooled connection's statement outside any transaction block is its own transaction. */
  readonly autocommit: SqlClient = {
    query: (text, params = []) => this.query(text, params),
    queryText: (text, params = []) => this.query(text, params),
  }

  async transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    const taken = this.#take()
    const conn = taken instanceof Promise ? await taken : taken
    const fail = (error: unknown) => this.#fail(error, noteFailure(conn, error))
    // BEGIN goes with the transaction's first statement (one round trip fewer); a transaction that sent nothing
    // has nothing to commit. Once anything was sent, the block may be open: it is committed or rolled back.
    let begun = false
    const client: PgTransactionClient = {
      conn,
      async begin() {
        if (begun) return
        begun = true
        try {
          await conn.query('BEGIN')
        } catch (error) {
          throw fail(error)
        }
      },
      async query(text, params = []) {
        const begin = !begun
        begun = true
        try {
          return await pgQuery(conn, text, params, begin)
        } catch (error) {
          throw fail(error)
        }
      },
      queryText(text, params = []) {
        return this.query(text, params)
      },
    }
    let failed = false
    try {
      const result = await fn(client)
      if (begun) await conn.query('COMMIT')
      return result
    } catch (error) {
      failed = true
      if (begun) {
        try {
          await conn.query('ROLLBACK')
        } catch (rollbackError) {
          // The connection is gone (terminated backend, network): never hand it back to the pool.
          noteFailure(conn, rollbackError, true)
        }
      }
      throw fail(error)
    } finally {
      this.#give(conn, failed)
    }
  }

  async drizzleFor(client: SqlClient): Promise<unknown> {
    const { drizzle } = await optionalImport<typeof import('drizzle-orm/node-postgres')>(
      'drizzle-orm/node-postgres',
      'ctx.db() in a hook',
    )
    // Drizzle sends its statements on the connection itself: the transaction must be open before them.
    const tx = client as PgTransactionClient
    await tx.begin()
    return drizzle({ client: tx.conn as never })
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
    private readonly tables: ReadonlySet<string>,
  ) {
    this.#wire = supportsWire(pg) ? pg : undefined
  }

  /** A failed statement as the seam reports it: a closed instance ("PGlite is closed") by its closed state. */
  #fail(error: unknown): unknown {
    return classifyAtSeam(error, { closed: this.pg.closed === true, tables: this.tables })
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
    try {
      const parsers = await this.#rawParsers()
      const res = await this.pg.query(text, params as unknown[], { parsers })
      return res.rows
    } catch (error) {
      throw this.#fail(error)
    }
  }

  async queryText(text: string, params: readonly (string | null)[] = []): Promise<RawRow[]> {
    try {
      // Rewind's own reads (records, events, time travel) take the prepared path too, in a transaction of their
      // own: PGlite's query() would parse and plan the text again and copy every field of the result.
      if (this.#wire) return await this.transaction((client) => client.queryText(text, params))
      const res = await this.pg.query(text, params as unknown[])
      return res.rows
    } catch (error) {
      throw databaseFailure(this.#fail(error))
    }
  }

  async transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    try {
      return await this.#transaction(fn)
    } catch (error) {
      throw this.#fail(error)
    }
  }

  /**
   * One statement in an implicit transaction: bind, execute and sync in one call. It takes PGlite's transaction
   * lock first (what `PGlite.query` does), so it never runs inside another caller's open transaction; without
   * that lock (or the wire protocol) it falls back to a transaction of its own.
   */
  readonly autocommit: SqlClient = {
    query: (text, params = []) => this.#autocommit(text, params),
    queryText: (text, params = []) => this.#autocommit(text, params),
  }

  async #autocommit(text: string, params: readonly (string | null)[]): Promise<RawRow[]> {
    const wire = this.#wire
    const exclusive = (
      this.pg as { _runExclusiveTransaction?: (fn: () => Promise<RawRow[]>) => Promise<RawRow[]> }
    )._runExclusiveTransaction
    if (!wire || typeof exclusive !== 'function')
      return this.transaction((client) => client.queryText(text, params))
    try {
      await this.pg.waitReady
      const rows = await exclusive.call(this.pg, () => wireQuery(wire, text, params))
      // What PGlite.query does after a statement outside a transaction: persist a data directory.
      await this.pg.syncToFs?.()
      return rows
    } catch (error) {
      throw this.#fail(error)
    }
  }

  async #transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    // PGlite is one connection: its transaction() holds a mutex, so concurrent callers queue up here.
    const wire = this.#wire
    const fail = (error: unknown) => {
      throw this.#fail(error)
    }
    if (!wire) {
      const parsers = await this.#rawParsers()
      return this.pg.transaction((tx) =>
        fn({
          tx,
          async query(text, params = []) {
            const res = await tx.query(text, params as unknown[], { parsers }).catch(fail)
            return res.rows
          },
          async queryText(text, params = []) {
            const res = await tx.query(text, params as unknown[]).catch(fail)
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
        return wireQuery(wire, text, params).catch(fail)
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

/**
 * Wraps the app's Drizzle database (over PGlite or a pg Pool) for Rewind's own queries. `tables` are the names
 * of Rewind's tables (plain and schema-qualified), so that a statement failing on one that does not exist says so.
 */
export function databaseFromDrizzle(db: unknown, tables: Iterable<string> = []): Database {
  const client = (db as { $client?: unknown } | null)?.$client
  const names = new Set(tables)
  if (client && typeof client === 'object') {
    const c = client as Record<string, unknown>
    if (typeof c.exec === 'function' && typeof c.transaction === 'function') {
      return new PgliteDatabase(db, client as PGliteLike, names)
    }
    if (typeof c.connect === 'function' && typeof c.query === 'function' && 'totalCount' in c) {
      return new PgDatabase(db, client as PgPoolLike, names)
    }
  }
  throw new RewindError(
    'INVALID_DEFINITION',
    'createRewind: expected `db` to be a Drizzle database over PGlite (drizzle-orm/pglite) or a pg Pool (drizzle-orm/node-postgres), got ' +
      (client === undefined ? 'a value without $client' : 'an unsupported client'),
  )
}
