/** A row as the server printed it (database.ts's RawRow). */
type RawRow = Record<string, string | null>

/**
 * The part of a pg connection (`client.connection`) a submittable query writes to: pg's documented extension
 * point for queries that speak the protocol themselves (pg-cursor, pg-query-stream), and the prepared
 * statements pg keeps per connection, which pg's own named queries read too.
 */
export interface PgConnectionLike {
  parse(config: { text: string; name?: string }): void
  bind(config: { statement?: string; values?: readonly (string | null)[] }): void
  describe(config: { type: 'P'; name: string }): void
  execute(config?: undefined): void
  sync(): void
  sendCopyFail(message: string): void
  readonly stream: { cork?(): void; uncork?(): void }
  readonly parsedStatements: Record<string, string | undefined>
  readonly submittedNamedStatements?: Record<string, string | undefined>
}

/** A pooled pg client that takes submittable queries (pg's JavaScript client, not pg-native). */
export interface PgSubmittingClient {
  query(submittable: NamedStatement): unknown
  readonly connection: PgConnectionLike
}

/** Whether the client speaks the protocol in JavaScript, where a submittable can write to its connection. */
export function submits(client: unknown): client is PgSubmittingClient {
  const con = (client as { connection?: Partial<PgConnectionLike> } | null)?.connection
  return (
    typeof con?.bind === 'function' &&
    typeof con.parse === 'function' &&
    typeof con.parsedStatements === 'object' &&
    con.parsedStatements !== null
  )
}

/**
 * The result columns of each statement prepared on a connection. PostgreSQL refuses to run a prepared statement
 * whose result columns would change ("cached plan must not change result type"), so once a statement has been
 * described on a connection, its names hold for as long as it is prepared there.
 */
const describedOn = new WeakMap<PgConnectionLike, Map<string, readonly string[]>>()

/**
 * A named statement of Rewind's, sent as the extended protocol's messages in one write: Parse the first time on
 * a connection, then only Bind, Execute and Sync. Its result columns are described once per connection, and the
 * rows are built from the text the server sent, with no type parsing (every Rewind statement casts its results
 * to text, and every parameter is text). What pg's own query object does besides (copy the config, map each
 * value, describe the portal on every execution, set up a parser per column) is where a one-statement action
 * spent a third of its client time.
 */
export class NamedStatement {
  /** Read by pg's client: ParseComplete marks `name` as prepared with `text` on the connection. */
  readonly name: string
  readonly text: string
  /** Set by the caller, and wrapped by pg's client when a query timeout is configured. */
  callback: ((error: unknown, rows?: RawRow[]) => void) | undefined
  readonly values: readonly (string | null)[]
  readonly #rows: RawRow[] = []
  #keys: readonly string[] | undefined
  #described: Map<string, readonly string[]> | undefined
  /** Command completions still expected before this statement's own (a BEGIN sent ahead of it). */
  #ahead: number
  readonly #begin: boolean

  /**
   * With `begin`, the statement opens the transaction it runs in: BEGIN goes ahead of it in the same write and
   * under the same Sync, so the transaction costs no round trip of its own. Whatever fails, BEGIN has run when
   * any of it ran, and the transaction block stays open for the caller's ROLLBACK.
   */
  constructor(name: string, text: string, values: readonly (string | null)[], begin = false) {
    this.name = name
    this.text = text
    this.values = values
    this.#begin = begin
    this.#ahead = begin ? 1 : 0
  }

  submit(con: PgConnectionLike): null {
    let described = describedOn.get(con)
    if (!described) {
      described = new Map()
      describedOn.set(con, described)
    }
    this.#described = described
    const name = this.name
    const prepared =
      con.parsedStatements[name] !== undefined || con.submittedNamedStatements?.[name] !== undefined
    // Not yet prepared here: whatever was described under this name before (another connection's life) is stale.
    this.#keys = prepared ? described.get(name) : undefined
    con.stream.cork?.()
    try {
      // Parsed first: pg marks the statement prepared on any ParseComplete while it is the active query, so
      // BEGIN's (unnamed) ParseComplete must never come before a failure to parse this one.
      if (!prepared) {
        con.parse({ text: this.text, name })
        if (con.submittedNamedStatements) con.submittedNamedStatements[name] = this.text
      }
      if (this.#begin) {
        con.parse({ text: 'BEGIN' })
        con.bind({})
        con.execute()
      }
      con.bind({ statement: name, values: this.values })
      if (this.#keys === undefined) con.describe({ type: 'P', name: '' })
      con.execute()
      con.sync()
    } finally {
      con.stream.uncork?.()
    }
    return null
  }

  handleRowDescription(msg: { fields: readonly { name: string }[] }): void {
    const keys = msg.fields.map((f) => f.name)
    this.#keys = keys
    this.#described!.set(this.name, keys)
  }

  handleDataRow(msg: { fields: readonly (string | null)[] }): void {
    const keys = this.#keys!
    const fields = msg.fields
    const row: RawRow = {}
    for (let i = 0; i < keys.length; i++) row[keys[i]!] = fields[i] ?? null
    this.#rows.push(row)
  }

  handleCommandComplete(): void {
    if (this.#ahead > 0) {
      this.#ahead--
      return
    }
    // A statement without result columns was described with NoData: nothing to describe next time.
    if (this.#keys === undefined) {
      this.#keys = []
      this.#described!.set(this.name, this.#keys)
    }
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(con: PgConnectionLike): void {
    con.sendCopyFail('Rewind sends no COPY data')
  }

  handleCopyData(): void {}

  /** pg's client calls this once for a failed statement (and not handleReadyForQuery after it). */
  handleError(error: unknown): void {
    const done = this.callback
    this.callback = undefined
    done?.(error)
  }

  handleReadyForQuery(): void {
    const done = this.callback
    this.callback = undefined
    done?.(null, this.#rows)
  }
}

/** Runs a named statement on a pooled client (see {@link NamedStatement}); resolves to its rows. */
export function runNamed(
  client: PgSubmittingClient,
  name: string,
  text: string,
  values: readonly (string | null)[],
  begin = false,
): Promise<RawRow[]> {
  return new Promise((resolve, reject) => {
    const statement = new NamedStatement(name, text, values, begin)
    statement.callback = (error, rows) => (error ? reject(error) : resolve(rows!))
    client.query(statement)
  })
}
