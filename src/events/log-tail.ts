import type { RewindEvent } from './event.js'
import type { EventStore } from './store/event-store.js'
import type { Reader } from './store/event-table.js'

/** The xmin of `xmin:xmax:xip,...` (pg_current_snapshot()). */
function snapshotXmin(text: string): bigint {
  return BigInt(text.split(':')[0] ?? '0')
}

/**
 * Follows the log in position order and never skips an event, whatever order transactions commit in.
 *
 * Positions are drawn when an event is inserted, so a transaction can commit a position lower than one
 * already visible. The tail hands out only a gap-free run of positions. At a gap it takes a fresh transaction
 * id as a bound (`pg_current_xact_id()`: every transaction that could hold a missing position had its id
 * before the gap was seen, so its id is lower) and waits until `pg_snapshot_xmin` passes that bound: by then
 * every such transaction has finished, and a still-missing position belonged to one that rolled back.
 * (A snapshot's own `xmax` is no such bound: it is one past the highest *completed* id, and a transaction
 * still running can hold a higher one.)
 */
export class LogTail {
  #cursor: number
  #gapBound: bigint | undefined
  #gapSeen: { position: number; at: number } | undefined

  /**
   * `gapGraceMs`: how long a gap may stay open before the tail takes a transaction id as its bound. Most gaps
   * are a concurrent transaction committing a moment later; a reader woken by its commit then never needs the
   * bound, whose `pg_current_xact_id()` costs a commit record (and its flush). 0 (the default): at once.
   */
  constructor(
    readonly store: EventStore,
    readonly reader: Reader,
    afterPosition = 0,
    readonly gapGraceMs = 0,
  ) {
    this.#cursor = afterPosition
  }

  /** True while the tail waits at a gap for the transactions that could still fill it. */
  get atGap(): boolean {
    return this.#gapBound !== undefined || this.#gapSeen !== undefined
  }

  /** The position of the last event handed out. */
  get position(): number {
    return this.#cursor
  }

  /** The next events in position order (possibly none); call again to continue. */
  async poll(limit = 1000): Promise<RewindEvent[]> {
    const rows = await this.store.tailRows(this.reader, this.#cursor, limit)
    const out: RewindEvent[] = []
    for (const row of rows) {
      const event = this.store.rows.decode(row)
      if (event.position !== this.#cursor + 1) {
        if (this.#gapBound === undefined && this.gapGraceMs > 0) {
          const now = Date.now()
          if (this.#gapSeen?.position !== this.#cursor + 1)
            this.#gapSeen = { position: this.#cursor + 1, at: now }
          if (now - this.#gapSeen.at < this.gapGraceMs) break
        }
        if (this.#gapBound === undefined) {
          // Positions before this one may still commit: wait for every transaction that could hold them.
          this.#gapBound = await this.store.currentTransactionId(this.reader)
          break
        }
        if (snapshotXmin(row.__snapshot ?? '0:0:') <= this.#gapBound) break
        // Everything that could have held the missing positions has finished: they were rolled back.
      }
      this.#gapBound = undefined
      this.#gapSeen = undefined
      out.push(event)
      this.#cursor = event.position
    }
    return out
  }
}
