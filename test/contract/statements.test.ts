import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, databaseFromDrizzle } from '../../src/data/database.js'
import { isRewindError } from '../../src/errors/rewind-error.js'
import { backends, type TestDatabase } from '../support/backends.js'

/**
 * Rewind's statements at the database seam. On PostgreSQL a statement with parameters is prepared once per
 * connection and then sent as Bind, Execute and Sync alone, its result columns described once per connection
 * (src/data/pg-statement.ts); on PGlite through its wire protocol. Whatever the connection, the state of its
 * prepared statements, or a failure before, every call gives the rows the statement returns, keyed by column.
 */
/** A call that must fail: its error (undefined if it succeeded). */
const noError = () => undefined

describe.each(backends)('statements at the seam ($name)', (backend) => {
  let tdb: TestDatabase
  let db: Database

  beforeAll(async () => {
    tdb = await backend.create()
    db = databaseFromDrizzle(tdb.db)
    await db.query('CREATE TABLE seam_rows (id int PRIMARY KEY, label text, note text)')
  })
  afterAll(() => tdb.close())

  const insert =
    'INSERT INTO seam_rows (id, label, note) VALUES ($1::int, $2::text, $3::text) RETURNING id::text AS "id", label::text AS "label", note::text AS "note"'
  const read =
    'SELECT id::text AS "id", label::text AS "label", note::text AS "note" FROM seam_rows WHERE id >= $1::int ORDER BY id'

  it('gives every row keyed by column, nulls and any text as sent, however many times and connections', async () => {
    const labels = ['plain', 'ünïcødé ✓', 'quote \' and " and \\', '', '\u00a0 spaced \u2003']
    // Concurrent calls spread over the pool's connections: each prepares the statement on its own connection.
    const written = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        db.autocommit.queryText(insert, [
          String(i),
          labels[i % labels.length]!,
          i % 3 === 0 ? null : `n${i}`,
        ]),
      ),
    )
    for (const [i, rows] of written.entries())
      expect(rows).toEqual([
        { id: String(i), label: labels[i % labels.length], note: i % 3 === 0 ? null : `n${i}` },
      ])
    for (let round = 0; round < 3; round++) {
      const rows = await db.queryText(read, ['35'])
      expect(rows.map((r) => Object.keys(r))).toEqual(Array(5).fill(['id', 'label', 'note']))
      expect(rows.map((r) => r.id)).toEqual(['35', '36', '37', '38', '39'])
      expect(rows[1]).toEqual({ id: '36', label: labels[1], note: null })
    }
    // No rows: an empty list, then rows again on the same prepared statement.
    expect(await db.queryText(read, ['1000'])).toEqual([])
    expect(await db.queryText(read, ['39'])).toHaveLength(1)
  })

  it('reports a failed execution with its SQLSTATE and leaves the connection usable', async () => {
    const inTx = await db
      .transaction(async (client) => {
        await client.queryText(insert, ['100', 'first', null])
        await client.queryText(insert, ['100', 'again', null])
      })
      .then(noError, (error: unknown) => error)
    expect((inTx as { code?: string }).code).toBe('23505')
    // Rolled back as a whole.
    expect(await db.queryText(read, ['100'])).toEqual([])
    const auto = await db.autocommit
      .queryText(insert, ['1', 'duplicate', null])
      .then(noError, (error: unknown) => error)
    expect((auto as { code?: string }).code).toBe('23505')
    // A bad parameter fails at Bind, after the statement was prepared.
    const bad = await db.autocommit
      .queryText(insert, ['not a number', 'x', null])
      .then(noError, (error: unknown) => error)
    expect((bad as { code?: string }).code).toBe('22P02')
    for (let i = 0; i < 5; i++)
      expect(await db.autocommit.queryText(insert, [String(200 + i), 'after', 'ok'])).toEqual([
        { id: String(200 + i), label: 'after', note: 'ok' },
      ])
  })

  it('prepares a statement again once its table exists, and runs statements without result columns', async () => {
    const text = 'INSERT INTO seam_later (id) VALUES ($1::int)'
    const missing = await db.autocommit.queryText(text, ['1']).then(noError, (error: unknown) => error)
    expect((missing as { code?: string }).code).toBe('42P01')
    await db.query('CREATE TABLE seam_later (id int PRIMARY KEY)')
    for (let i = 1; i <= 4; i++) expect(await db.autocommit.queryText(text, [String(i)])).toEqual([])
    expect(
      await db.queryText('SELECT count(*)::text AS n FROM seam_later WHERE id > $1::int', ['0']),
    ).toEqual([{ n: '4' }])
  })

  it('opens a transaction with its first statement: atomic, isolated, rolled back whatever fails first', async () => {
    // The first statement fails: nothing stays open on the connection for the statements after it.
    const first = await db
      .transaction((client) => client.queryText(insert, ['1', 'clash', null]))
      .then(noError, (error: unknown) => error)
    expect((first as { code?: string }).code).toBe('23505')
    const after = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        db.transaction(async (client) => {
          const [row] = await client.queryText(insert, [String(300 + i), 'tx', null])
          return (await client.queryText(read, [String(300 + i)])).length + Number(row!.id) * 0
        }),
      ),
    )
    expect(after.every((n) => n >= 1)).toBe(true)
    // Uncommitted writes are the transaction's own until it commits.
    if (backend.name === 'postgres') {
      await db.transaction(async (client) => {
        await client.queryText(insert, ['400', 'pending', null])
        expect(await client.queryText(read, ['400'])).toHaveLength(1)
        expect(await db.queryText(read, ['400'])).toEqual([])
      })
      expect(await db.queryText(read, ['400'])).toHaveLength(1)
    }
    // Nothing sent, nothing to commit.
    expect(await db.transaction(async () => 'empty')).toBe('empty')
  })

  it('opens the transaction before statements sent through Drizzle on its connection', async () => {
    const viaDrizzle = async (client: Parameters<Parameters<Database['transaction']>[0]>[0], id: number) => {
      const d = (await db.drizzleFor(client)) as { execute(q: unknown): Promise<unknown> }
      const { sql } = await import('drizzle-orm')
      await d.execute(sql`INSERT INTO seam_rows (id, label) VALUES (${id}, 'drizzle')`)
    }
    const failed = await db
      .transaction(async (client) => {
        await viaDrizzle(client, 500)
        await client.queryText(insert, ['500', 'clash', null])
      })
      .then(noError, (error: unknown) => error)
    expect((failed as { code?: string }).code).toBe('23505')
    // Drizzle's insert ran inside the transaction, so it was rolled back with it.
    expect(await db.queryText(read, ['500'])).toEqual([])
    await db.transaction((client) => viaDrizzle(client, 501))
    expect(await db.queryText(read, ['501'])).toEqual([{ id: '501', label: 'drizzle', note: null }])
  })
})

/** The next turn of the event loop: what a connection kept by the seam waits for before it goes back. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

// Only a pg Pool has connections to check out: PGlite is one session in the process.
describe.each(backends.filter((b) => b.name === 'postgres'))(
  'the connection kept between statements on $name',
  (backend) => {
    let tdb: TestDatabase
    beforeAll(async () => {
      tdb = await backend.create()
    })
    afterAll(() => tdb.close())

    /** A pool of the test's own, with the seam over it and a count of its checkouts. */
    const open = (max: number) => {
      const pool = new pg.Pool({ connectionString: tdb.url, max })
      pool.on('error', () => {})
      const checkouts = { count: 0 }
      pool.on('acquire', () => checkouts.count++)
      return { pool, db: databaseFromDrizzle(drizzlePg({ client: pool })), checkouts }
    }
    const pid = 'SELECT pg_backend_pid()::text AS pid, $1::text AS v'

    it('runs statements started in the same turn on one checkout, and gives it back on the next turn', async () => {
      const { pool, db, checkouts } = open(3)
      try {
        const pids = new Set<string>()
        for (let i = 0; i < 20; i++) {
          const [row] = await db.autocommit.queryText(pid, [String(i)])
          expect(row!.v).toBe(String(i))
          pids.add(row!.pid!)
        }
        // A transaction takes the kept connection too, and leaves it as it found it.
        const inTx = await db.transaction(async (client) => {
          const [row] = await client.queryText(pid, ['tx'])
          return row!.pid!
        })
        pids.add(inTx)
        pids.add((await db.queryText(pid, ['read']))[0]!.pid!)
        expect(checkouts.count).toBe(1)
        expect(pids.size).toBe(1)
        expect(pool.idleCount).toBe(pool.totalCount - 1)
        await nextTurn()
        expect(pool.idleCount).toBe(pool.totalCount)
        // After a turn without statements, the next one checks a connection out again.
        await db.autocommit.queryText(pid, ['again'])
        expect(checkouts.count).toBe(2)
      } finally {
        await pool.end()
      }
    })

    it('lets others waiting on a full pool have the connection, in the same turn or the next', async () => {
      const { pool, db } = open(1)
      try {
        // Someone asks while the statement runs: the connection goes to them as soon as it is done.
        const running = db.autocommit.queryText(pid, ['first'])
        const waiting = pool.connect()
        await running
        const other = await waiting
        const [row] = (await other.query('SELECT 1::text AS one')).rows
        expect(row.one).toBe('1')
        // Rewind's next statement waits for it in turn.
        const next = db.autocommit.queryText(pid, ['second'])
        other.release()
        expect((await next)[0]!.v).toBe('second')
        // Someone asks right after a statement, in the same turn: served on the next turn.
        await db.autocommit.queryText(pid, ['third'])
        const later = await pool.connect()
        later.release()
        // Concurrent statements and transactions on one connection all complete.
        const all = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            i % 2 === 0
              ? db.autocommit.queryText(pid, [String(i)])
              : db.transaction((client) => client.queryText(pid, [String(i)])),
          ),
        )
        expect(all.map((rows) => rows[0]!.v)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)))
      } finally {
        await pool.end()
      }
    })

    it('never starts a statement on a connection that broke, nor on a pool that is ending', async () => {
      const { pool, db } = open(2)
      const [before] = await db.autocommit.queryText(pid, ['before'])
      // The backend of the kept connection ends: the statement fails as a lost connection.
      const lost = await db.autocommit
        .queryText('SELECT pg_terminate_backend(pg_backend_pid())::text AS done, $1::text AS v', ['x'])
        .then(noError, (error: unknown) => error)
      expect(isRewindError(lost, 'DATABASE')).toBe(true)
      // The next statement, in the same turn, runs on another connection.
      const [after] = await db.autocommit.queryText(pid, ['after'])
      expect(after!.pid).not.toBe(before!.pid)
      // A statement right after end() was called (its connection still kept) is refused like any other.
      const ending = pool.end()
      const refused = await db.autocommit.queryText(pid, ['late']).then(noError, (error: unknown) => error)
      expect(isRewindError(refused, 'DATABASE')).toBe(true)
      await ending
      expect(pool.totalCount).toBe(0)
    })
  },
)
