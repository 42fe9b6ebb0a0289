import type { EngineObservers } from '../actions/observers.js'
import type { Database } from '../data/database.js'
import type { EventLog } from '../events/event-log.js'
import { CommitNotifier } from './commit-notify.js'
import type { Consumer, Projection } from './definitions.js'
import { InlineProjections } from './inline.js'
import { eventsChannel } from './wake-ups.js'

/**
 * What the consumers ask of the action engine: inline projections see each event they handle inside its
 * action's transaction (the observer of recorded events), and each commit that recorded events wakes the
 * consumers of every process (`notifyCommits`: a NOTIFY after the commit). Nothing without consumers' needs:
 * an instance without inline projections records its events exactly as one without consumers.
 */
export function consumerObservers(
  db: Database,
  log: EventLog,
  consumers: readonly Consumer[],
  notifyCommits: boolean,
): EngineObservers {
  const inline = consumers.filter((c): c is Projection => c.kind === 'projection' && c.lifecycle === 'inline')
  const notifier = notifyCommits ? new CommitNotifier(db, eventsChannel(log.config.table)) : undefined
  return {
    ...(inline.length > 0 ? { recorded: new InlineProjections(db, inline) } : {}),
    ...(notifier ? { afterCommit: () => notifier.kick() } : {}),
  }
}
