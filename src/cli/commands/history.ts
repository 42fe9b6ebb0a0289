import { maskHistoryEntry, sensitiveKeys } from '../../runtime/masking.js'
import { JSON_OPTION, REVEAL_OPTION, resolveRecordId, resolveResource } from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT } from '../errors.js'
import { showAction, showActor, showMetadata, showTime, showValue, toJson } from '../format.js'
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
      // The id is well formed but the log holds nothing for it: the command's answer, so a failure (exit 1).
      if (history.length === 0) throw new Error(`no ${resource.name} with id ${idText} in the event log`)
      const sensitive = sensitiveKeys(rewind, values.reveal === true)
      const entries = history.map((entry) => maskHistoryEntry(entry, sensitive))
      if (values.json) {
        for (const entry of entries) out.line(toJson(entry))
        return EXIT.OK
      }
      const { color } = out
      out.line(
        color.bold(`${resource.name} ${idText}: ${history.length} event${history.length === 1 ? '' : 's'}`),
      )
      for (const entry of entries) {
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
          ([k, c]) => [k, `${showValue(c.from)} → ${showValue(c.to)}`] as const,
        )
        if (changes.length) out.pairs(changes, '    ')
        else out.line(color.dim('    (no field changed)'))
      }
      return EXIT.OK
    })
  },
})
