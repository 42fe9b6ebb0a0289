import { getTableName } from 'drizzle-orm'
import type { ReplayOptions, ReplayResult } from '../../replay/replay-options.js'
import { JSON_OPTION, parseEventId, parseTime, parseWhole } from '../args.js'
import { defineCommand } from '../command.js'
import type { AnyRewind } from '../config.js'
import { EXIT, UsageError } from '../errors.js'
import { findEvent } from '../find-event.js'
import { showAction, showTime, toJson } from '../format.js'
import type { Output } from '../output.js'
import { progressReporter } from '../progress.js'
import { readsAsUsage } from '../reads.js'
import { usingRewind } from '../using-rewind.js'

/** `rewind replay`: asks (or takes `--yes`), then rebuilds the tracked tables with a progress bar. */
export const replayCommand = defineCommand({
  name: 'replay',
  summary: 'Clear the tracked tables and rebuild them from the log, in one transaction (all or nothing).',
  args: [],
  options: {
    'until-event': { type: 'string', value: 'ID', description: 'replay up to and including this event' },
    'until-time': {
      type: 'string',
      value: 'TIME',
      description: 'replay the events that occurred until this time',
    },
    tenant: { type: 'string', value: 'TENANT', description: "clear and replay this tenant's rows only" },
    'skip-missing': {
      type: 'boolean',
      description: 'skip (and list) updates and destroys of records that do not exist, instead of failing',
    },
    'batch-size': { type: 'string', value: 'N', description: 'events read per query (default 500)' },
    yes: {
      type: 'boolean',
      short: 'y',
      description: 'do not ask for confirmation (required without a terminal)',
    },
    ...JSON_OPTION,
  },
  examples: [
    'rewind replay',
    'rewind replay --until-time 2026-01-31T12:00:00Z --yes',
    'rewind replay --until-event 42 --yes --json',
  ],
  async run({ values }, ctx) {
    if (values['until-event'] !== undefined && values['until-time'] !== undefined) {
      throw new UsageError('pass --until-event or --until-time, not both')
    }
    const untilEventId = parseEventId('--until-event', values['until-event'])
    const untilTime = parseTime('--until-time', values['until-time'])
    const batchSize = parseWhole('--batch-size', values['batch-size'], { min: 1, max: 100_000 })
    const { out } = ctx
    if (!values.yes && !ctx.interactive) {
      throw new UsageError(
        'replay clears the tracked tables before rebuilding them; pass --yes to confirm (no terminal to ask on)',
      )
    }
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      if (
        values.tenant !== undefined &&
        ![...rewind.resources.values()].some((r) => r.tenant !== undefined)
      ) {
        throw new UsageError('--tenant: no resource of this app is multitenant')
      }
      let until = ''
      if (untilEventId !== undefined) {
        const event = await findEvent(rewind, '--until-event', untilEventId)
        until = ` up to event ${event.id} (#${event.position} ${showAction(event)}, ${showTime(event.occurredAt)} UTC)`
      } else if (untilTime !== undefined) {
        until = ` up to ${showTime(untilTime)}${untilTime.endsWith('Z') ? ' UTC' : ''}`
      }
      if (!values.yes) {
        const scope = values.tenant !== undefined ? ` (rows of tenant ${values.tenant})` : ''
        const answer = await ctx.ask(
          `Replay clears ${trackedTables(rewind).join(', ')}${scope} and rebuilds them from the event log${until}. Continue? [y/N] `,
        )
        if (!/^\s*y(es)?\s*$/i.test(answer ?? '')) {
          out.line('Replay cancelled; nothing was changed.')
          return EXIT.FAILURE
        }
      }
      const progress = progressReporter(out, 'replay')
      const options: ReplayOptions = {
        ...(untilEventId !== undefined ? { untilEventId } : {}),
        ...(untilTime !== undefined ? { untilTime } : {}),
        ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
        ...(values['skip-missing'] ? { missingRecords: 'skip' as const } : {}),
        ...(batchSize !== undefined ? { batchSize } : {}),
        onProgress: (p) => progress.update(p),
      }
      let result: ReplayResult
      try {
        result = await readsAsUsage(() => rewind.replay(options))
      } finally {
        progress.finish()
      }
      if (values.json) {
        out.line(toJson(result))
        return EXIT.OK
      }
      printResult(out, result, until)
      return EXIT.OK
    })
  },
})

/** The tables replay clears: those of resources with a tracked action or targeted by a replay override. */
function trackedTables(rewind: AnyRewind): string[] {
  const log = rewind.eventLog
  const targets = new Set(log?.config.replayOverrides.flatMap((o) => o.routeTo.map(([r]) => r)) ?? [])
  return [...rewind.resources.values()]
    .filter((r) => targets.has(r) || Object.keys(r.actions).some((a) => log?.tracks(r, a)))
    .map((r) => getTableName(r.table))
}

function printResult(out: Output, result: ReplayResult, until: string): void {
  const { color } = out
  const rate = result.durationMs > 0 ? Math.round((result.eventsApplied * 1000) / result.durationMs) : 0
  out.line(
    color.green(
      `Replayed ${result.eventsApplied.toLocaleString('en-US')} event${result.eventsApplied === 1 ? '' : 's'}${until} in ${Math.round(result.durationMs)} ms (${rate.toLocaleString('en-US')} events/s)`,
    ),
  )
  const counts = Object.entries(result.counts)
  if (counts.length) {
    out.line('')
    out.table(
      ['ACTION', 'RUN'],
      counts.map(([action, n]) => [action, String(n)]),
    )
  }
  if (result.skipped.length) {
    out.line('')
    out.line(color.yellow(`Skipped ${result.skipped.length} event${result.skipped.length === 1 ? '' : 's'}:`))
    out.table(
      ['ID', 'POS', 'EVENT', 'REASON'],
      result.skipped.map((s) => [
        String(s.eventId),
        String(s.position),
        `${s.resource}.${s.action}`,
        s.reason,
      ]),
    )
  }
}
