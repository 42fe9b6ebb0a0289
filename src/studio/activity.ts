import type { EventStore } from '../events/store/event-store.js'
import type { Reader } from '../events/store/event-table.js'
import type { LogSnapshot } from '../events/store/read-since.js'

/** One resource's activity: events per action, the latest time. */
export interface ResourceActivity {
  readonly resource: string
  readonly events: number
  readonly actions: ReadonlyMap<string, number>
  readonly lastAt: string
}

/** Events per resource in one bucket of time. */
export interface Bucket {
  /** Hours since the epoch (UTC) where the bucket starts. */
  readonly hour: number
  readonly hours: number
  readonly counts: ReadonlyMap<string, number>
}

export const RANGES = ['24h', '7d', '30d', 'all'] as const
export type Range = (typeof RANGES)[number]

/**
 * Exact event counts per resource, action and hour, for the overview. Counting a large log on every request
 * cannot be fast (a million rows take a second), so the studio counts the whole log once, on the first
 * overview, and from then on adds only the events committed since the last count (`EventStore.activity` with a
 * snapshot, through the transaction-id index): each event is counted once, whatever order transactions commit
 * in. Held in memory: one number per resource, action and hour that has events.
 */
export class Activity {
  readonly #counts = new Map<string, Map<string, Map<number, number>>>()
  readonly #lastAt = new Map<string, string>()
  #snapshot: LogSnapshot | undefined
  #chain: Promise<void> = Promise.resolve()

  constructor(
    readonly store: EventStore,
    readonly reader: Reader,
  ) {}

  /** Brings the counts up to now (the whole log the first time). Calls run one after another. */
  refresh(): Promise<void> {
    const step = this.#chain.then(() => this.#step())
    // A failed step fails its caller; the next call starts again from the last good snapshot.
    this.#chain = step.catch(() => {})
    return step
  }

  async #step(): Promise<void> {
    const { counts, snapshot } = await this.store.activity(this.reader, this.#snapshot)
    for (const c of counts) {
      const byAction = this.#counts.get(c.resource) ?? new Map<string, Map<number, number>>()
      this.#counts.set(c.resource, byAction)
      const byHour = byAction.get(c.action) ?? new Map<number, number>()
      byAction.set(c.action, byHour)
      byHour.set(c.hour, (byHour.get(c.hour) ?? 0) + c.count)
      const last = this.#lastAt.get(c.resource)
      if (last === undefined || last < c.lastAt) this.#lastAt.set(c.resource, c.lastAt)
    }
    this.#snapshot = snapshot
  }

  /** Per resource, by name. */
  resources(): ResourceActivity[] {
    return [...this.#counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([resource, byAction]) => {
        const actions = new Map<string, number>()
        let events = 0
        for (const [action, byHour] of byAction) {
          let n = 0
          for (const c of byHour.values()) n += c
          actions.set(action, n)
          events += n
        }
        return { resource, events, actions, lastAt: this.#lastAt.get(resource)! }
      })
  }

  /** The hours (since the epoch) of the first and the last events, or undefined for an empty log. */
  span(): { readonly first: number; readonly last: number } | undefined {
    let first = Number.POSITIVE_INFINITY
    let last = Number.NEGATIVE_INFINITY
    for (const byAction of this.#counts.values()) {
      for (const byHour of byAction.values()) {
        for (const hour of byHour.keys()) {
          if (hour < first) first = hour
          if (hour > last) last = hour
        }
      }
    }
    return first === Number.POSITIVE_INFINITY ? undefined : { first, last }
  }

  /** Counts per resource in `count` buckets of `hours` hours from `start` (hours since the epoch). */
  buckets(start: number, hours: number, count: number): Bucket[] {
    const out = Array.from({ length: count }, (_, i) => ({
      hour: start + i * hours,
      hours,
      counts: new Map<string, number>(),
    }))
    for (const [resource, byAction] of this.#counts) {
      for (const byHour of byAction.values()) {
        for (const [hour, n] of byHour) {
          const i = Math.floor((hour - start) / hours)
          if (i < 0 || i >= count) continue
          const counts = out[i]!.counts
          counts.set(resource, (counts.get(resource) ?? 0) + n)
        }
      }
    }
    return out
  }
}

/** The buckets a range shows, ending with the hour of `nowHour` (or the log's last event for 'all'). */
export function rangeBuckets(
  range: Range,
  nowHour: number,
  span: { readonly first: number; readonly last: number } | undefined,
): { readonly start: number; readonly hours: number; readonly count: number } {
  switch (range) {
    case '24h':
      return { start: nowHour - 23, hours: 1, count: 24 }
    case '7d':
      return { start: Math.floor(nowHour / 6) * 6 - 27 * 6, hours: 6, count: 28 }
    case '30d':
      return { start: Math.floor(nowHour / 24) * 24 - 29 * 24, hours: 24, count: 30 }
    case 'all': {
      if (!span) return { start: nowHour - 23, hours: 1, count: 24 }
      const width = span.last - span.first + 1
      // At most 60 bars, each a whole number of hours, days or weeks.
      const hours = [1, 6, 24, 24 * 7, 24 * 30, 24 * 365].find((h) => width / h <= 60) ?? 24 * 365
      const start = Math.floor(span.first / hours) * hours
      return { start, hours, count: Math.floor(span.last / hours) - Math.floor(span.first / hours) + 1 }
    }
  }
}
