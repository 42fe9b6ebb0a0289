import type { ConsumerStatus } from '../../consumers/consumers.js'
import { JSON_OPTION, parseEventId } from '../args.js'
import { defineCommand } from '../command.js'
import type { AnyRewind } from '../config.js'
import { EXIT, UsageError } from '../errors.js'
import { toJson } from '../format.js'
import type { Output } from '../output.js'
import { unknownNameMessage } from '../suggest.js'
import { usingRewind } from '../using-rewind.js'

const ACTIONS = ['list', 'retry', 'skip', 'rebuild', 'dead-letters'] as const
type Action = (typeof ACTIONS)[number]

/**
 * `rewind consumers [list | dead-letters <name> | retry <name> [event] | skip <name> <event> | rebuild <name>]`:
 * the projections and subscriptions of the app, where each one is, and what to do about a failing event.
 */
export const consumersCommand = defineCommand({
  name: 'consumers',
  summary:
    'List projections and subscriptions (position, lag, state, errors); retry, skip or rebuild by name.',
  args: [
    { name: 'action', description: `${ACTIONS.join(', ')} (default list)`, optional: true },
    { name: 'name', description: 'the consumer', optional: true },
    { name: 'event', description: 'an event id (the ID column of `rewind events`)', optional: true },
  ],
  options: { ...JSON_OPTION },
  examples: [
    'rewind consumers',
    'rewind consumers dead-letters mailer',
    'rewind consumers retry mailer          # every parked event of mailer',
    'rewind consumers retry mailer 1042     # that event, and the events of its record parked behind it',
    'rewind consumers skip userNames 1042',
    'rewind consumers rebuild userNames',
  ],
  async run({ values, args }, ctx) {
    const action = (args[0] ?? 'list') as Action
    if (!ACTIONS.includes(action)) {
      throw new UsageError(unknownNameMessage('action', action, ACTIONS))
    }
    const name = args[1]
    const eventText = args[2]
    if (action !== 'list' && action !== 'dead-letters' && name === undefined) {
      throw new UsageError(`rewind consumers ${action} needs the consumer's name`)
    }
    if (action === 'skip' && eventText === undefined) {
      throw new UsageError('rewind consumers skip needs the event id: rewind consumers skip <name> <event>')
    }
    if ((action === 'list' || action === 'rebuild') && eventText !== undefined) {
      throw new UsageError(`unexpected argument "${eventText}"`)
    }
    if (action === 'list' && name !== undefined) throw new UsageError(`unexpected argument "${name}"`)
    const eventId = parseEventId('event', eventText)
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const consumers = rewind.consumers
      if (name !== undefined && !consumers.definitions.has(name)) {
        throw new UsageError(unknownNameMessage('consumer', name, [...consumers.definitions.keys()]))
      }
      switch (action) {
        case 'list':
          return list(rewind, out, values.json === true)
        case 'dead-letters': {
          const letters = await consumers.deadLetters(name)
          if (values.json) {
            for (const l of letters) out.line(toJson(l))
            return EXIT.OK
          }
          if (letters.length === 0) {
            out.line(out.color.green('✓ no dead letters'))
            return EXIT.OK
          }
          out.table(
            ['CONSUMER', 'POSITION', 'EVENT', 'RECORD', 'STATUS', 'ATTEMPTS', 'ERROR'],
            letters.map((l) => [
              l.consumer,
              String(l.position),
              l.eventId,
              l.recordKey,
              l.status,
              String(l.attempts),
              l.error ?? '',
            ]),
          )
          return EXIT.OK
        }
        case 'retry': {
          const n = await consumers.retry(name!, eventId)
          if (values.json) out.line(toJson({ consumer: name, retried: n }))
          else
            out.line(
              `${n} event${n === 1 ? '' : 's'} of ${name} put up for retry; a running consumer picks them up`,
            )
          return EXIT.OK
        }
        case 'skip': {
          await consumers.skip(name!, eventId)
          if (values.json) out.line(toJson({ consumer: name, skipped: eventId }))
          else out.line(`event ${eventId} skipped by ${name}: it will not be delivered`)
          return EXIT.OK
        }
        case 'rebuild': {
          const result = await consumers.rebuild(name!)
          if (values.json) out.line(toJson(result))
          else
            out.line(
              out.color.green(
                `✓ ${name} rebuilt from ${result.events.toLocaleString('en-US')} event${result.events === 1 ? '' : 's'} (up to position ${result.position})`,
              ),
            )
          return EXIT.OK
        }
      }
    })
  },
})

function lagText(s: ConsumerStatus): string {
  if (s.lifecycle === 'inline') return '-'
  const seconds = s.lagSeconds < 10 ? s.lagSeconds.toFixed(2) : s.lagSeconds.toFixed(0)
  return s.lagEvents === 0 ? '0' : `${s.lagEvents.toLocaleString('en-US')} (${seconds} s)`
}

async function list(rewind: AnyRewind, out: Output, json: boolean): Promise<number> {
  const status = await rewind.consumers.status()
  if (json) {
    for (const s of status) out.line(toJson(s))
    return EXIT.OK
  }
  if (status.length === 0) {
    out.line('no consumers: register projections and subscriptions with createRewind({ consumers: [...] })')
    return EXIT.OK
  }
  const state = (s: ConsumerStatus) =>
    s.state === 'stopped'
      ? out.color.red(s.state)
      : s.state === 'running' || s.state === 'inline'
        ? out.color.green(s.state)
        : out.color.yellow(s.state)
  out.table(
    ['NAME', 'KIND', 'PART', 'POSITION', 'LAG', 'STATE', 'DEAD', 'LAST ERROR'],
    status.map((s) => [
      s.registered ? s.name : `${s.name} (not registered)`,
      `${s.kind}${s.kind === 'projection' ? ` (${s.lifecycle})` : ''}`,
      String(s.partition),
      String(s.position),
      lagText(s),
      state(s),
      String(s.deadLetters),
      s.lastError ? `${s.lastErrorAt ?? ''} ${s.lastError}`.trim() : '',
    ]),
  )
  return EXIT.OK
}
