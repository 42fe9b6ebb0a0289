import { appendOnlyStatements } from '../../events/append-only.js'
import { defineCommand } from '../command.js'
import { EXIT, UsageError } from '../errors.js'
import { usingRewind } from '../using-rewind.js'

/** `rewind schema`: the DDL of the tables and the event log; `--apply` runs it. */
export const schemaCommand = defineCommand({
  name: 'schema',
  summary:
    'Print the SQL of the tables and of the event log; --apply creates what is missing; --trigger prints the append-only trigger for a migration.',
  args: [],
  options: {
    apply: {
      type: 'boolean',
      description:
        'create what is missing, in one transaction (for production, prefer drizzle-kit migrations)',
    },
    trigger: {
      type: 'boolean',
      description:
        "only the event log's append-only trigger, as a drizzle-kit migration (statements split by --> statement-breakpoint)",
    },
  },
  examples: [
    'rewind schema > schema.sql',
    'DATABASE_URL=postgres://… rewind schema --apply',
    'npx drizzle-kit generate --custom --name rewind-append-only   # then paste:',
    'rewind schema --trigger > drizzle/0001_rewind-append-only.sql',
  ],
  async run({ values }, ctx) {
    const { out } = ctx
    if (values.apply && values.trigger) throw new UsageError('pass --apply or --trigger, not both')
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      if (values.trigger) {
        const table = rewind.eventLog?.config.table
        if (!table) throw new UsageError('--trigger: this app has no event log (createRewind({ eventLog }))')
        // drizzle-kit's migrator runs a file's statements one at a time, split at these markers.
        out.line(`${appendOnlyStatements(table).join(';\n--> statement-breakpoint\n')};`)
        return EXIT.OK
      }
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
