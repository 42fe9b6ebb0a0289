import { isRewindError } from '../errors/rewind-error.js'
import type { RewindEvent } from '../events/event.js'
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
  let event: RewindEvent | undefined
  try {
    event = await rewind.event(id)
  } catch (error) {
    if (isRewindError(error, 'VALIDATION'))
      throw new UsageError(`invalid ${option} "${id}": ${error.issues[0]?.message ?? error.message}`)
    throw error
  }
  if (event === undefined) {
    throw new Error(`${option} ${id}: no event with this id (see the ID column of \`rewind events\`)`)
  }
  return event
}
