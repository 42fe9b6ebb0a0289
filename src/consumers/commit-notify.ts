import type { Database } from '../data/database.js'
import { announce } from './wake-ups.js'

/**
 * Announces commits that recorded events: the action engine's after-commit observer kicks it, and it sends one
 * `NOTIFY` on the log's channel (on its own, outside the writers' transactions; on PGlite it wakes the listeners
 * of the process directly, see {@link announce}), so consumers in every process wake at once.
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
        await announce(this.db, this.channel)
      } while (this.#again)
    } catch {
      // Consumers also look at the log every pollMs: a lost notification only delays them.
    } finally {
      this.#inFlight = false
    }
  }
}
