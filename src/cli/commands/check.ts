import { maskFindings, sensitiveKeys } from '../../runtime/masking.js'
import { JSON_OPTION, parseWhole, REVEAL_OPTION } from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT } from '../errors.js'
import { toJson } from '../format.js'
import { usingRewind } from '../using-rewind.js'

/** `rewind check`: the record-by-record consistency check; exit 1 on findings. */
export const checkCommand = defineCommand({
  name: 'check',
  summary: 'Check, record by record, that the tables and the log agree (exit 1 on findings).',
  args: [],
  options: {
    'max-findings': {
      type: 'string',
      value: 'N',
      description: 'stop after this many findings (default 1000)',
    },
    ...JSON_OPTION,
    ...REVEAL_OPTION,
  },
  async run({ values }, ctx) {
    const maxFindings = parseWhole('--max-findings', values['max-findings'], { min: 1 })
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const report = await rewind.checkConsistency(maxFindings !== undefined ? { maxFindings } : {})
      if (values.json) {
        // A state-differs finding carries the differing values, the live one and the log's.
        const findings = maskFindings(report.findings, sensitiveKeys(rewind, values.reveal === true))
        out.line(toJson({ ...report, findings }))
        return report.ok ? EXIT.OK : EXIT.FAILURE
      }
      const events = `${report.events.toLocaleString('en-US')} event${report.events === 1 ? '' : 's'}`
      if (report.ok) {
        out.line(out.color.green(`✓ ${events} and the tables agree`))
        return EXIT.OK
      }
      out.line(
        out.color.red(
          `✗ ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'} (${events}):`,
        ),
      )
      out.table(
        ['KIND', 'FINDING'],
        report.findings.map((f) => [f.kind, f.message]),
      )
      return EXIT.FAILURE
    })
  },
})
