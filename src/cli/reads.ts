import { isRewindError } from '../errors/rewind-error.js'
import { UsageError } from './errors.js'

/**
 * Runs a read of the API with arguments from the command line: a VALIDATION error there means the arguments
 * were wrong (an actor column that does not exist, an id of the wrong shape), so it becomes a usage error
 * (exit 2). Other errors pass through, NOT_FOUND included: an event or record the log does not hold is a
 * failure (exit 1), not a mistake in the call.
 */
export async function readsAsUsage<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (isRewindError(error, 'VALIDATION')) {
      throw new UsageError(error.message, { cause: error })
    }
    throw error
  }
}
