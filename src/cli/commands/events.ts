import type { EventFilter } from '../../events/event.js'
import { maskEvent, sensitiveKeys } from '../../runtime/masking.js'
import {
  EVENT_FILTER_OPTIONS,
  JSON_OPTION,
  parseActors,
  parseTime,
  parseWhole,
  REVEAL_OPTION,
  resourceNames,
} from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT, UsageError } from '../errors.js'
import { showAction, showActor, showPayload, showTime, toJson } from '../format.js'
import { readsAsUsage } from '../reads.js'
import { unknownNameMessage } from '../suggest.js'
import { usingRewind } from '../using-rewind.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 10_000

/** `rewind events`: the log, filtered and paged (keyset, by position), as a table or JSON lines. */
export const eventsCommand = defineCommand({
  name: 'events',
  summary: 'List the event log in position order, filtered, a page at a time.',
  args: [],
  options: {
    ...EVENT_FILTER_OPTIONS,
    limit: {
      type: 'string',
      value: 'N',
      description: `events per page (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`,
    },
    all: { type: 'boolean', description: 'every page, not only the first' },
    ...JSON_OPTION,
    ...REVEAL_OPTION,
  },
  examples: [
    'rewind events --resource User --action create',
    'rewind events --actor userId=0190a6d4-… --from 2026-01-01 --to 2026-01-31T12:00:00Z',
    'rewind events --after-position 50          # the next page',
    'rewind events --all --json > events.jsonl',
  ],
  async run({ values }, ctx) {
    const actor = parseActors(values.actor)
    const from = parseTime('--from', values.from)
    const to = parseTime('--to', values.to)
    const afterPosition = parseWhole('--after-position', values['after-position'])
    const untilPosition = parseWhole('--until-position', values['until-position'])
    const limit = parseWhole('--limit', values.limit, { min: 1, max: MAX_LIMIT }) ?? DEFAULT_LIMIT
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const names = resourceNames(rewind)
      if (values.resource !== undefined && !names.includes(values.resource)) {
        throw new UsageError(unknownNameMessage('resource', values.resource, names))
      }
      const filter: EventFilter = {
        ...(values.resource !== undefined ? { resource: values.resource } : {}),
        ...(values.record !== undefined ? { recordId: values.record } : {}),
        ...(values.action !== undefined ? { action: values.action } : {}),
        ...(actor ? { actor } : {}),
        ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(untilPosition !== undefined ? { untilPosition } : {}),
        limit,
      }
      const sensitive = sensitiveKeys(rewind, values.reveal === true)
      const rows: string[][] = []
      let cursor = afterPosition
      let shown = 0
      for (;;) {
        const page = await readsAsUsage(() =>
          rewind.events({ ...filter, ...(cursor !== undefined ? { afterPosition: cursor } : {}) }),
        )
        for (const raw of page.events) {
          const e = maskEvent(raw, sensitive)
          if (values.json) out.line(toJson(e))
          else {
            rows.push([
              String(e.position),
              String(e.id),
              showTime(e.occurredAt),
              showAction(e),
              e.recordId,
              showActor(e),
              showPayload(e, rewind.resources.get(e.resource)?.primaryKey),
            ])
          }
        }
        shown += page.events.length
        cursor = page.nextAfterPosition
        if (cursor === undefined || !values.all) break
      }
      if (values.json) {
        // stdout stays pure JSON lines; the cursor goes where people and scripts can still find it.
        if (cursor !== undefined) out.note(`next page: --after-position ${cursor}`)
        return EXIT.OK
      }
      if (rows.length) {
        out.table(['POS', 'ID', 'OCCURRED AT (UTC)', 'EVENT', 'RECORD', 'ACTOR', 'CHANGES'], rows)
      }
      const count = `${shown} event${shown === 1 ? '' : 's'}`
      out.line(
        out.color.dim(
          cursor !== undefined
            ? `${count}; next page: rewind events --after-position ${cursor}${sameFilters(values)}`
            : shown === 0
              ? 'no events match'
              : count,
        ),
      )
      return EXIT.OK
    })
  },
})

/** The filters of this call, repeated so the next-page command can be pasted as is. */
function sameFilters(values: Readonly<Record<string, unknown>>): string {
  const parts: string[] = []
  for (const name of [...Object.keys(EVENT_FILTER_OPTIONS), 'limit', 'config']) {
    if (name === 'after-position') continue
    const v = values[name]
    const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
    if (typeof v === 'string') parts.push(`--${name} ${quote(v)}`)
    else if (Array.isArray(v)) for (const item of v) parts.push(`--${name} ${quote(String(item))}`)
  }
  for (const flag of ['json', 'reveal']) if (values[flag]) parts.push(`--${flag}`)
  return parts.length ? ` ${parts.join(' ')}` : ''
}
