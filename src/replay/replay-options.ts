/** What {@link Replayer.replay} takes. */
export interface ReplayOptions {
  /** Replay up to and including this event (wins over `untilTime`). */
  readonly untilEventId?: number | string
  /** Replay events that occurred at or before this time. */
  readonly untilTime?: Date | string
  /** Replay one tenant only: its rows are cleared and its events replayed. */
  readonly tenant?: unknown
  /** Called after every batch with the progress so far. */
  readonly onProgress?: (progress: ReplayProgress) => void
  /** Events read per query (default 500): memory stays bounded whatever the log size. */
  readonly batchSize?: number
  /** Update and destroy events whose record is missing: fail (default) or skip and report them. */
  readonly missingRecords?: 'fail' | 'skip'
  /**
   * `'batched'` (default) folds each batch of events in memory and writes rows in bulk, falling back to one
   * event at a time for a batch whose bulk write the database refuses; `'naive'` runs one action per event
   * (the baseline the benchmark measures against). Both give the same tables.
   */
  readonly mode?: 'batched' | 'naive'
}

export interface ReplayProgress {
  readonly done: number
  readonly total: number
  readonly eventsPerSecond: number
  readonly elapsedMs: number
}

/** An event replay skipped (only with `missingRecords: 'skip'`). */
export interface SkippedEvent {
  readonly eventId: number | string
  readonly position: number
  readonly resource: string
  readonly action: string
  readonly reason: string
}

export interface ReplayResult {
  /** Events read and applied (an event routed to several targets counts once). */
  readonly eventsApplied: number
  /** Actions run per `Resource.action`. */
  readonly counts: Readonly<Record<string, number>>
  readonly skipped: readonly SkippedEvent[]
  readonly durationMs: number
  /** Batches written in bulk, and batches applied one event at a time (naive mode, or a bulk write refused). */
  readonly batches: { readonly bulk: number; readonly oneByOne: number }
}
