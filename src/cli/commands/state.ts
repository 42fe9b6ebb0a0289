import type { PointInTime } from '../../replay/time-travel.js'
import { maskState, sensitiveKeys } from '../../runtime/masking.js'
import {
  JSON_OPTION,
  parseEventId,
  parseTime,
  REVEAL_OPTION,
  resolveRecordId,
  resolveResource,
  timeMicros,
} from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT, UsageError } from '../errors.js'
import { findEvent } from '../find-event.js'
import { showAction, showTime, showValue, toJson } from '../format.js'
import { readsAsUsage } from '../reads.js'
import { usingRewind } from '../using-rewind.js'

/** `rewind state <resource> <id>`: a record rebuilt from the log at a time, after an event, or now. */
export const stateCommand = defineCommand({
  name: 'state',
  summary: 'A record as it was at a time or just after an event, rebuilt from the log (default: now).',
  args: [
    { name: 'resource', description: 'the resource name, for example User' },
    { name: 'id', description: 'the record id' },
  ],
  options: {
    at: {
      type: 'string',
      value: 'TIME',
      description: 'as it was at this time (ISO 8601, UTC unless an offset)',
    },
    event: { type: 'string', value: 'ID', description: 'as it was just after this event' },
    ...JSON_OPTION,
    ...REVEAL_OPTION,
  },
  examples: [
    'rewind state User 0190a6d4-… --at 2026-01-31T12:00:00Z',
    'rewind state User 0190a6d4-… --event 42 --json',
  ],
  async run({ values, args }, ctx) {
    const [name, idText] = args as [string, string]
    if (values.at !== undefined && values.event !== undefined) {
      throw new UsageError('pass --at or --event, not both')
    }
    const at = parseTime('--at', values.at)
    const eventId = parseEventId('--event', values.event)
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const resource = resolveResource(rewind, name)
      const id = resolveRecordId(resource, idText)
      const history = await readsAsUsage(() => rewind.history(resource, id as never))
      // The id is well formed but the log holds nothing for it: the command's answer, so a failure (exit 1).
      if (history.length === 0) throw new Error(`no ${resource.name} with id ${idText} in the event log`)
      let point: PointInTime
      let when: string
      let applied: typeof history
      if (eventId !== undefined) {
        const event = await findEvent(rewind, '--event', eventId)
        point = { eventId: event.id }
        when = `just after event ${event.id} (#${event.position} ${showAction(event)}, ${showTime(event.occurredAt)} UTC)`
        applied = history.filter((h) => h.position <= event.position)
      } else if (at !== undefined) {
        point = { at }
        when = `at ${showTime(at)}${at.endsWith('Z') ? ' UTC' : ''}`
        applied = history.filter((h) => timeMicros(h.occurredAt) <= timeMicros(at))
      } else {
        const last = history[history.length - 1]!
        point = { eventId: last.id }
        when = `now (after event ${last.id}, #${last.position} ${showAction(last)})`
        applied = history
      }
      // The canonical values, not stateAt's app values: a timestamp column in Date mode would lose its
      // microseconds, and `rewind history` prints the same record's values as the log holds them.
      const state = await readsAsUsage(() => rewind.timeTravel.canonicalStateAt(resource, id, point))
      const record = state
        ? maskState(resource, state, sensitiveKeys(rewind, values.reveal === true))
        : undefined
      if (values.json) {
        out.line(toJson(record ?? null))
        return EXIT.OK
      }
      if (!record) {
        const why = applied.length === 0 ? 'did not exist yet' : 'had been destroyed'
        out.line(`${resource.name} ${idText} ${why} ${when}`)
        return EXIT.OK
      }
      out.line(out.color.bold(`${resource.name} ${idText} ${when}`))
      out.pairs(
        Object.entries(record).map(([k, v]) => [k, showValue(v)]),
        '  ',
      )
      return EXIT.OK
    })
  },
})
