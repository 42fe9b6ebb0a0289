import type { EventSink, WriteEvent } from '../actions/pipeline.js'
import type { Database, SqlClient } from '../data/database.js'

/**
 * Announces commits that recorded events: after such a transaction commits, one `NOTIFY` on the log's channel
 * (sent on its own, outside the writers' transactions), so consumers in every process wake at once.
 *
 * Why not a trigger on the log: PostgreSQL serializes the commits of transactions that sent a NOTIFY (a lock
 * held through the commit record's flush), which took 8 concurrent writers to less than half their rate
 * (docs/performance.md). Sent after the commit, a NOTIFY costs one short statement, and notifications are
 * coalesced: while one is on its way, the commits after it make one more, not one each.
 */
export class CommitNotifier {
  #inFlight = false
  #again = false

  constructor(
    readonly db: Database,
    readonly channel: string,
  ) {}

  /** A transaction that recorded events committed. */
  kick(): void {
    if (this.#inFlight) {
      this.#again = true
      return
    }
    this.#inFlight = true
    void this.#send()
  }

  async #send(): Promise<void> {
    try {
      do {
        this.#again = false
        await this.db.query(`SELECT pg_notify($1, '')`, [this.channel])
      } while (this.#again)
    } catch {
      // Consumers also look at the log every pollMs: a lost notification only delays them.
    } finally {
      this.#inFlight = false
    }
  }
}

/**
 * The action engine's database and event sink, wrapped so that a transaction in which the sink recorded an
 * event kicks the notifier once it has committed (and never when it rolled back).
 */
export function notifyOnCommit(
  db: Database,
  sink: EventSink,
  notifier: CommitNotifier,
): { readonly db: Database; readonly sink: EventSink } {
  const recorded = new WeakSet<SqlClient>()
  return {
    sink: {
      tracks: (resource, action) => sink.tracks(resource, action),
      async record(client: SqlClient, event: WriteEvent) {
        await sink.record(client, event)
        recorded.add(client)
      },
    },
    db: {
      kind: db.kind,
      drizzle: db.drizzle,
      query: (text, params) => db.query(text, params),
      queryText: (text, params) => db.queryText(text, params),
      drizzleFor: (client) => db.drizzleFor(client),
      async transaction(fn) {
        let used: SqlClient | undefined
        const result = await db.transaction((client) => {
          used = client
          return fn(client)
        })
        if (used && recorded.has(used)) notifier.kick()
        return result
      },
    },
  }
}
