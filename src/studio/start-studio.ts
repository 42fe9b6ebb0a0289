import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Rewind } from '../runtime/rewind.js'
import { createStudio, type StudioOptions } from './app.js'

/** Where and how a studio serves. */
export interface StartStudioOptions extends StudioOptions {
  /** The port; 0 picks a free one. Default 7394. */
  readonly port?: number
  /**
   * The address to listen on. Default `127.0.0.1`: only this machine can connect. Another address exposes the
   * log (behind the token) to the network.
   */
  readonly host?: string
}

/** A studio that is serving. */
export interface RunningStudio {
  /** The address to open, with the token: `http://127.0.0.1:7394/?token=…`. */
  readonly url: string
  /** The address without the token. */
  readonly origin: string
  readonly port: number
  readonly token: string
  /** Ends the live streams and stops serving. The Rewind instance stays open: it is the caller's. */
  close(): Promise<void>
}

/** The default port of `rewind studio` ("rewi" on a phone keypad). */
export const DEFAULT_PORT = 7394

/**
 * Serves the studio of a Rewind instance with `@hono/node-server`: the log, records' timelines and states,
 * an overview and health, read-only, behind a random token, on 127.0.0.1 unless told otherwise.
 *
 * ```ts
 * import { startStudio } from 'rewind-es/studio'
 * const studio = await startStudio(rewind, { port: 0 })
 * console.log(`open ${studio.url}`)
 * // ...
 * await studio.close()
 * ```
 */
export async function startStudio(
  rewind: Rewind<any>,
  options: StartStudioOptions = {},
): Promise<RunningStudio> {
  const studio = createStudio(rewind, options)
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? DEFAULT_PORT
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: studio.fetch, port, hostname: host }, () => resolve(s))
    s.once('error', reject)
  })
  const address = server.address() as AddressInfo
  const shownHost = host.includes(':') ? `[${host}]` : host
  const origin = `http://${shownHost}:${address.port}`
  return {
    url: `${origin}/?token=${studio.token}`,
    origin,
    port: address.port,
    token: studio.token,
    async close() {
      await studio.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Idle keep-alive connections would hold close() open.
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      })
    },
  }
}
