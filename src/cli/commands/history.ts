import { JSON_OPTION, REVEAL_OPTION, resolveRecordId, resolveResource } from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT, UsageError } from '../errors.js'
import {
  MASK,
  maskEvent,
  sensitiveKeys,
  showAction,
  showActor,
  showMetadata,
  showTime,
  showValue,
  toJson,
} from '../format.js'
import { readsAsUsage } from '../reads.js'
import { usingRewind } from '../using-rewind.js'

/** `rewind history <resource> <id>`: a record's events with the field changes each made. */
export const historyCommand = defineCommand({
  name: 'history',
  summary: "A record's events, oldest first: who acted, with what metadata, what changed.",
  args: [
    { name: 'resource', description: 'the resource name, for example User' },
    { name: 'id', description: 'the record id' },
  ],
  options: { ...JSON_OPTION, ...REVEAL_OPTION },
  examples: ['rewind history User 0190a6d4-0000-7000-8000-000000000001'],
  async run({ values, args }, ctx) {
    const [name, idText] = args as [string, string]
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const resource = resolveResource(rewind, name)
      const id = resolveRecordId(resource, idText)
      const history = await readsAsUsage(() => rewind.history(resource, id as never))
      if (history.length === 0) throw new UsageError(`no ${resource.name} with id ${idText} in the event log`)
      const sensitive = sensitiveKeys(rewind, values.reveal === true)
      const keys = sensitive(resource.name)
      if (values.json) {
        for (const entry of history) {
          const changes = Object.fromEntries(
            Object.entries(entry.changes).map(([k, c]) => [
              k,
              keys.has(k) ? { from: c.from === null ? null : MASK, to: c.to === null ? null : MASK } : c,
            ]),
          )
          out.line(toJson({ ...maskEvent(entry, sensitive), changes }))
        }
        return EXIT.OK
      }
      const { color } = out
      out.line(
        color.bold(`${resource.name} ${idText}: ${history.length} event${history.length === 1 ? '' : 's'}`),
      )
      for (const entry of history) {
        const facts = [
          `#${entry.position}`,
          `${showTime(entry.occurredAt)} UTC`,
          color.cyan(showAction(entry)),
          `by ${showActor(entry)}`,
          ...(Object.keys(entry.metadata).length ? [showMetadata(entry.metadata)] : []),
          `event ${entry.id}`,
        ]
        out.line('')
        out.line(`${facts.join('  ')}${entry.destroyed ? `  ${color.red('(destroyed)')}` : ''}`)
        const changes = Object.entries(entry.changes).map(
          ([k, c]) =>
            [
              k,
              keys.has(k)
                ? `${c.from === null ? 'null' : MASK} → ${c.to === null ? 'null' : MASK}`
                : `${showValue(c.from)} → ${showValue(c.to)}`,
            ] as const,
        )
        if (changes.length) out.pairs(changes, '    ')
        else out.line(color.dim('    (no field changed)'))
      }
      return EXIT.OK
    })
  },
})
