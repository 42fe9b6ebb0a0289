import type { ConsumerStatus } from '../../consumers/consumers.js'
import { isRelay, type Relay } from '../../relay/relay.js'
import { JSON_OPTION, parseWhole } from '../args.js'
import { defineCommand } from '../command.js'
import { EXIT, UsageError } from '../errors.js'
import { toJson } from '../format.js'
import type { Output } from '../output.js'
import { unknownNameMessage } from '../suggest.js'
import { usingRewind } from '../using-rewind.js'

/** One report of a relay: where it is, how far behind, how fast, and its last failure. */
function report(relay: Relay, status: ConsumerStatus | undefined) {
  const stats = relay.stats()
  return {
    name: relay.name,
    position: status?.position ?? 0,
    lagEvents: status?.lagEvents ?? 0,
    lagSeconds: status?.lagSeconds ?? 0,
    state: status?.state ?? 'new',
    owner: status?.owner ?? null,
    published: stats.published,
    eventsPerSecond: stats.eventsPerSecond,
    connected: stats.connected,
    lastError: stats.lastError ?? null,
  }
}

function print(out: Output, json: boolean, r: ReturnType<typeof report>) {
  if (json) {
    out.line(toJson({ at: new Date().toISOString(), ...r }))
    return
  }
  const lag =
    r.lagEvents === 0 ? 'lag 0' : `lag ${r.lagEvents.toLocaleString('en-US')} (${r.lagSeconds.toFixed(1)} s)`
  const who =
    r.state === 'running' && r.owner !== null ? '' : ` (${r.state}: another process holds the lease)`
  const line = `${r.name}: position ${r.position}, ${lag}, ${r.eventsPerSecond.toLocaleString('en-US')} events/s, ${r.published.toLocaleString('en-US')} published${who}`
  out.line(r.lastError ? `${line}; ${out.color.red(`retrying: ${r.lastError}`)}` : line)
}

/**
 * `rewind relay`: runs the relays of the configuration (natsRelay(...) among its consumers) until SIGTERM or
 * SIGINT, printing where each is and its lag; on the signal it finishes the batch in flight and lets the lease go.
 */
export const relayCommand = defineCommand({
  name: 'relay',
  summary: 'Publish the log to NATS (the natsRelay consumers of the app) until stopped; prints lag.',
  args: [],
  options: {
    only: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      description: 'run only this relay (repeat for several; default every relay of the configuration)',
    },
    interval: {
      type: 'string',
      value: 'SECONDS',
      description: 'how often to print position, lag and throughput (default 10)',
    },
    ...JSON_OPTION,
  },
  examples: ['rewind relay', 'rewind relay --interval 2 --json'],
  async run({ values }, ctx) {
    const interval = parseWhole('--interval', values.interval, { min: 1, max: 86_400 }) ?? 10
    const json = values.json === true
    const { out } = ctx
    return usingRewind(await ctx.loadConfig(), async (rewind) => {
      const all = [...rewind.consumers.definitions.values()].filter(isRelay)
      if (all.length === 0) {
        throw new UsageError(
          'the app registers no relay: add natsRelay({ servers }) from rewind-es/relay to createRewind({ consumers: [...] })',
        )
      }
      for (const name of values.only ?? []) {
        if (!all.some((r) => r.name === name))
          throw new UsageError(
            unknownNameMessage(
              'relay',
              name,
              all.map((r) => r.name),
            ),
          )
      }
      const relays = values.only ? all.filter((r) => values.only!.includes(r.name)) : all
      await rewind.consumers.start({ only: relays.map((r) => r.name) })
      if (!json) {
        out.line(
          `relaying ${relays.map((r) => r.name).join(', ')} (Ctrl-C or SIGTERM stops after the batch in flight)`,
        )
      }
      const tick = async () => {
        const status = await rewind.consumers.status()
        for (const r of relays)
          print(
            out,
            json,
            report(
              r,
              status.find((s) => s.name === r.name),
            ),
          )
      }
      let ticking = Promise.resolve()
      const timer = setInterval(() => {
        ticking = ticking.then(tick).catch((error) => out.note(`status: ${String(error)}`))
      }, interval * 1000)
      await ctx.stopped()
      clearInterval(timer)
      await ticking
      await rewind.consumers.stop()
      await tick()
      if (!json) out.line('relay stopped')
      return EXIT.OK
    })
  },
})
