import type { EventFilter, RewindEvent } from '../../src/index.js'

/** Anything that pages the log as `rewind.events()` does. */
interface PagesEvents {
  events(filter: EventFilter): Promise<{ events: RewindEvent[]; nextAfterPosition: number | undefined }>
}

/** The log, every event, in position order (paged through `rewind.events()`). */
export async function wholeLog(rewind: PagesEvents, pageSize = 10_000): Promise<RewindEvent[]> {
  const log: RewindEvent[] = []
  for (let after = 0; ; ) {
    const page = await rewind.events({ afterPosition: after, limit: pageSize })
    log.push(...page.events)
    if (page.nextAfterPosition === undefined) return log
    after = page.nextAfterPosition
  }
}
