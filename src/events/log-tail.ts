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

  constructor(
    readonly store: EventStore,
    readonly reader: Reader,
    afterPosition = 0,
  ) {
    this.#cursor = afterPosition
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
        if (this.#gapBound === undefined) {
          // Positions before this one may still commit: wait for every transaction that could hold them.
          this.#gapBound = await this.store.currentTransactionId(this.reader)
          break
        }
        if (snapshotXmin(row.__snapshot ?? '0:0:') <= this.#gapBound) break
        // Everything that could have held the missing positions has finished: they were rolled back.
      }
      this.#gapBound = undefined
      out.push(event)
      this.#cursor = event.position
    }
    return out
  }
}
