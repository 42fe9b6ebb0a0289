import { defineCommand } from '../command.js'
import { EXIT } from '../errors.js'
import { usingRewind } from '../using-rewind.js'

/** `rewind schema`: the DDL of the tables and the event log; `--apply` runs it. */
export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'Print the SQL of the tables and of the event log; --apply creates what is missing.',
  args: [],
  options: {
    apply: {
      type: 'boolean',
      description:
        'create what is missing, in one transaction (for production, prefer drizzle-kit migrations)',
    },
  },
  examples: ['rewind schema > schema.sql', 'DATABASE_URL=postgres://… rewind schema --apply'],
  async run({ values }, ctx) {
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const statements = rewind.schemaSql()
      if (values.apply) {
        await rewind.createTables()
        out.line(
          out.color.green(
            `✓ Applied ${statements.length} statements: every table exists (those already there were left as they were)`,
          ),
        )
        return EXIT.OK
      }
      out.line(statements.map((s) => `${s.trim().replace(/;$/, '')};`).join('\n\n'))
      return EXIT.OK
    })
  },
})
