import type { RowDifference } from '../../replay/verify.js'
import { maskDifferences, sensitiveKeys } from '../../runtime/masking.js'
import { JSON_OPTION, parseWhole, REVEAL_OPTION } from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT } from '../errors.js'
import { showValue, toJson } from '../format.js'
import { usingRewind } from '../using-rewind.js'

const KIND_NOTE: Record<RowDifference['kind'], string> = {
  missing: 'live row the replay does not produce',
  extra: 'row the replay produces that is not live',
  changed: '',
}

/** `rewind verify`: the replay verification; exit 1 and the differing rows when tables and log disagree. */
export const verifyCommand = defineCommand({
  name: 'verify',
  summary: 'Replay in a rolled-back transaction and compare with the live tables (exit 1 on differences).',
  args: [],
  options: {
    'max-rows': {
      type: 'string',
      value: 'N',
      description: 'list at most this many differing rows per table (default 100)',
    },
    ...JSON_OPTION,
    ...REVEAL_OPTION,
  },
  examples: ['rewind verify', 'rewind verify --json | jq .differences'],
  async run({ values }, ctx) {
    const maxRowsPerTable = parseWhole('--max-rows', values['max-rows'], { min: 1 })
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const result = await rewind.verifyReplay(maxRowsPerTable !== undefined ? { maxRowsPerTable } : {})
      const differences = maskDifferences(result.differences, sensitiveKeys(rewind, values.reveal === true))
      if (values.json) {
        out.line(toJson({ ok: result.ok, eventsApplied: result.replay.eventsApplied, differences }))
        return result.ok ? EXIT.OK : EXIT.FAILURE
      }
      const { color } = out
      const events = `${result.replay.eventsApplied.toLocaleString('en-US')} event${result.replay.eventsApplied === 1 ? '' : 's'}`
      if (result.ok) {
        out.line(color.green(`✓ Replaying ${events} reproduces every tracked table exactly`))
        return EXIT.OK
      }
      const count = differences.reduce((n, t) => n + t.rows.length, 0)
      out.line(
        color.red(
          `✗ ${count === 1 ? '1 row differs' : `${count} rows differ`} between the live tables and a replay of ${events}:`,
        ),
      )
      for (const t of differences) {
        out.line('')
        out.line(color.bold(t.resource))
        out.table(
          ['KIND', 'ID', 'DIFFERENCE'],
          t.rows.map((row) => [
            row.kind,
            typeof row.id === 'string' ? row.id : toJson(row.id),
            row.kind === 'changed'
              ? Object.entries(row.columns)
                  .map(([k, c]) => `${k}: live ${showValue(c.live)}, replayed ${showValue(c.replayed)}`)
                  .join('; ')
              : KIND_NOTE[row.kind],
          ]),
        )
        if (t.truncated) out.line(color.dim(`  … more rows differ (raise --max-rows to list them)`))
      }
      out.line('')
      out.line(color.dim('Nothing was changed: the replay ran in a transaction that was rolled back.'))
      return EXIT.FAILURE
    })
  },
})
