import { Params } from '../data/statements.js'
import type { RewindEvent } from '../events/event-log.js'
import { qualifiedName, quoteIdent } from '../schema/names.js'
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
  const idCodec = log.codecs.get('id')!
  const cast = idCodec.fromApp(id)
  if (!cast.ok) throw new UsageError(`invalid ${option} "${id}": ${cast.message}`)
  const params = new Params()
  const position = quoteIdent(log.codecs.get('position')!.name)
  const rows = await rewind.database.query(
    `SELECT ${position} AS position FROM ${qualifiedName(log.config.table)} WHERE ${quoteIdent(idCodec.name)} = ${params.add(idCodec, cast.value)}`,
    params.values,
  )
  const at = rows[0]?.position
  if (at === undefined || at === null) {
    throw new Error(`${option} ${id}: no event with this id (see the ID column of \`rewind events\`)`)
  }
  const page = await rewind.events({ afterPosition: Number(at) - 1, limit: 1 })
  return page.events[0]!
}
