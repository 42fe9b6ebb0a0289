import { parseWhole, REVEAL_OPTION } from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT } from '../errors.js'
import { usingRewind } from '../using-rewind.js'

/** The packages the studio serves with: optional peers of rewind-es, installed by apps that run it. */
const STUDIO_PACKAGES = ['hono', '@hono/node-server'] as const

/**
 * The studio module, once its packages are known to be installed: an app that never runs the studio need not
 * install them, and one that does is told exactly what to install.
 */
async function loadStudio(): Promise<typeof import('../../studio/start-studio.js')> {
  const missing: string[] = []
  for (const pkg of STUDIO_PACKAGES) {
    try {
      await import(/* @vite-ignore */ pkg)
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code
      if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error
      missing.push(pkg)
    }
  }
  if (missing.length) {
    throw new Error(
      `rewind studio needs ${missing.join(' and ')}, optional peer dependencies of rewind-es that are not installed: npm install ${missing.join(' ')}`,
    )
  }
  return import('../../studio/start-studio.js')
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/** `rewind studio`: the event log in the browser, read-only, on 127.0.0.1, behind a random token. */
export const studioCommand = defineCommand({
  name: 'studio',
  summary: "Browse the log in the browser: filters, records' timelines and states, an overview, health.",
  args: [],
  options: {
    port: { type: 'string', value: 'N', description: 'the port (default 7394; 0 for any free port)' },
    host: {
      type: 'string',
      value: 'ADDRESS',
      description: 'the address to listen on (default 127.0.0.1: this machine only)',
    },
    ...REVEAL_OPTION,
  },
  examples: ['rewind studio', 'rewind studio --port 0 --reveal'],
  async run({ values }, ctx) {
    const port = parseWhole('--port', values.port, { max: 65_535 })
    const host = values.host ?? '127.0.0.1'
    const reveal = values.reveal === true
    const { out } = ctx
    const { startStudio, DEFAULT_PORT } = await loadStudio()
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      let studio: Awaited<ReturnType<typeof startStudio>>
      try {
        studio = await startStudio(rewind, { port: port ?? DEFAULT_PORT, host, reveal })
      } catch (error) {
        if ((error as { code?: unknown }).code === 'EADDRINUSE') {
          throw new Error(
            `port ${port ?? DEFAULT_PORT} is in use on ${host}: pass --port N (or --port 0 for any free port)`,
          )
        }
        throw error
      }
      out.line(`Rewind Studio on ${studio.origin}${reveal ? ' (sensitive values revealed)' : ''}`)
      out.line(`Open ${studio.url}`)
      out.note(
        'Every request needs the token in that address. Read-only: nothing here writes. Ctrl-C stops it.',
      )
      if (!LOOPBACK.test(host)) {
        out.note(
          `warning: listening on ${host}, not on this machine only: the log is reachable by anyone with the token`,
        )
      }
      await ctx.stopped()
      await studio.close()
      return EXIT.OK
    })
  },
})
