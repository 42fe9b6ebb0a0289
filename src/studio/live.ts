import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { StudioContext } from './context.js'
import { eventRow, logQuery } from './pages/log.js'
import { BadRequest, optional, snapshotText } from './params.js'

/** More new events than this in one poll: the page is told to reload instead of receiving them all. */
const LIVE_LIMIT = 200
/** A comment now and then keeps proxies and the browser from closing an idle stream. */
const HEARTBEAT_MS = 15_000

/** The live streams of one studio, so that closing the studio ends them. */
export class LiveStreams {
  readonly #open = new Set<() => void>()
  #closed = false

  /** Ends every stream; later requests for one get 503. */
  close(): void {
    this.#closed = true
    for (const end of this.#open) end()
    this.#open.clear()
  }

  /**
   * `GET /log/stream?<the log page's filters>&snapshot=...`: server-sent events with the rows of events that
   * match the filters and commit after the page was read, newest first, as the log page renders them (escaped
   * on the server, like the page). Each message's id is the moment it reaches, so a reconnecting browser
   * (`Last-Event-ID`) resumes exactly there: no event skipped, none sent twice (see `EventStore.since`).
   */
  handle(ctx: StudioContext, c: Context): Response {
    if (this.#closed) return c.text('the studio is closing', 503)
    const query = new URL(c.req.url).searchParams
    const { filter } = logQuery(ctx, query)
    const resume = c.req.header('last-event-id')
    const given = resume || optional(query, 'snapshot')
    if (given === undefined) throw new BadRequest('snapshot', 'is required: the moment the page was read at')
    let since = snapshotText(resume ? 'Last-Event-ID' : 'snapshot', given)
    return streamSSE(
      c,
      async (stream) => {
        let wake: (() => void) | undefined
        let open = true
        const end = () => {
          open = false
          wake?.()
        }
        this.#open.add(end)
        stream.onAbort(end)
        try {
          let quiet = 0
          while (open) {
            const batch = await ctx.log.store.since(ctx.reader, filter, since, LIVE_LIMIT)
            if (!open) break
            if (batch.events.length || batch.overflow) {
              const rows = batch.events
                .reverse()
                .map((e) => eventRow(ctx, e).text)
                .join('')
              await stream.writeSSE({
                event: batch.overflow ? 'overflow' : 'events',
                id: batch.snapshot,
                data: rows,
              })
              quiet = 0
            } else {
              quiet += ctx.liveIntervalMs
              if (quiet >= HEARTBEAT_MS) {
                await stream.write(': still here\n\n')
                quiet = 0
              }
            }
            since = batch.snapshot
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, ctx.liveIntervalMs)
              wake = () => {
                clearTimeout(timer)
                resolve()
              }
            })
          }
        } finally {
          this.#open.delete(end)
        }
      },
      async (error, stream) => {
        // The browser reconnects by itself (with the last id); the page says the stream broke meanwhile.
        await stream.writeSSE({ event: 'problem', data: error.message.split('\n', 1)[0]! })
      },
    )
  }
}
