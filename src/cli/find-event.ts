import { isRewindError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event-log.js'
import type { AnyRewind } from './config.js'
import { UsageError } from './errors.js'

/**
 * The event with this id. The CLI checks `--event` and `--until-event` before it asks for a confirmation or
 * starts work. An id of the wrong shape is a usage error (exit 2); a well-formed id the log does not hold is
 * a failure (exit 1), as a record that does not exist is.
 */
export async function findEvent(
  rewind: AnyRewind,
  option: string,
  id: number | string,
): Promise<RewindEvent> {
  const log = rewind.eventLog
  // Without a log, the public API's own error is the clearest.
  if (!log) return (await rewind.events({ limit: 1 })).events[0]!
  let at: number | undefined
  try {
    at = await log.positionOf((text, params) => rewind.database.query(text, params), id, option)
  } catch (error) {
    if (isRewindError(error, 'VALIDATION'))
      throw new UsageError(`invalid ${option} "${id}": ${error.issues[0]?.message ?? error.message}`)
    throw error
  }
  if (at === undefined) {
    throw new Error(`${option} ${id}: no event with this id (see the ID column of \`rewind events\`)`)
  }
  const page = await rewind.events({ afterPosition: at - 1, limit: 1 })
  return page.events[0]!
}
