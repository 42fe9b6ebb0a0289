import type { SqlClient } from '../data/database.js'
import type { RewindEvent } from '../events/event.js'
import type { AnyResource } from '../resource/define-resource.js'

/**
 * Code outside the pipeline that must see an action's event inside the action's transaction, as the log
 * stored it (inline projections). Asked per action: an action it wants records its event on its own, with
 * `RETURNING`, never in its row's statement (engine.needsRecordedEvent); an action it does not want records
 * its event as if there were no observer (no `RETURNING`, nothing decoded).
 */
export interface RecordedEventObserver {
  /** Whether `recorded` must see the events of this action (asked on every tracked action; keep it cheap). */
  wants(resource: AnyResource, action: string): boolean
  /**
   * Called by the `recordEvent` step right after the event is stored, on the transaction's client; a failure
   * fails the action. Never called in replay (no event is recorded there).
   */
  recorded(client: SqlClient, event: RewindEvent): Promise<void>
}

/** A commit that made events durable. */
export interface Committed {
  /** How many events it recorded (at least one). */
  readonly events: number
}

/** What the engine tells besides the caller: the seams through which other parts follow the actions it runs. */
export interface EngineObservers {
  /** Sees each wanted event inside its action's transaction. */
  readonly recorded?: RecordedEventObserver
  /**
   * Called once after each commit that recorded events (an action's own transaction, a bulk call's, the
   * transaction a nested action joined, the autocommit statement that wrote a row with its event), never after
   * a rollback nor for a transaction or statement that recorded none.
   * The commit is done and the action's outcome settled: it must not throw, and what it starts runs on its own.
   */
  readonly afterCommit?: (committed: Committed) => void
}
