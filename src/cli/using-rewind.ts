import type { AnyRewind, LoadedConfig } from './config.js'

/**
 * Opens the app's Rewind instance as the configuration says, runs `fn` with it, and closes it (and the
 * database client under it) in `finally`, whatever `fn` does. Every command that reads or writes goes
 * through here.
 */
export async function usingRewind<T>(
  loaded: LoadedConfig,
  fn: (rewind: AnyRewind) => Promise<T>,
): Promise<T> {
  const rewind = await open(loaded)
  try {
    return await fn(rewind)
  } finally {
    await (loaded.config.close ?? closeWithClient)(rewind)
  }
}

async function open(loaded: LoadedConfig): Promise<AnyRewind> {
  const { rewind } = loaded.config
  const where = loaded.file ? `the rewind of ${loaded.file}` : 'the configured rewind'
  const value = await (typeof rewind === 'function' ? rewind(loaded.context) : rewind)
  const looksLikeRewind =
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AnyRewind).events === 'function' &&
    (value as AnyRewind).resources instanceof Map
  if (!looksLikeRewind) {
    throw new Error(
      `${where} gave ${describe(value)}; expected the app's Rewind instance (createRewind(...))`,
    )
  }
  // A pg Pool re-emits the error of a connection it holds idle (the server restarted or ended it) on itself, and
  // with nobody listening that error would end the command's process, a studio that ran for hours included. The
  // pool drops that connection and opens another when one is needed: the command goes on, and a statement that
  // fails says so itself. The same holds while the pool ends.
  const client = (value.db as { $client?: ClosableClient } | undefined)?.$client
  if (typeof client?.end === 'function') client.on?.('error', () => {})
  return value
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`
  return `a ${typeof value}`
}

interface ClosableClient {
  end?: () => Promise<void>
  /**
   * pg's Pool: an event per client it removes (on end, it removes them before their sockets have closed), and
   * the error of an idle client (which it re-emits on itself).
   */
  on?: {
    (
      event: 'remove',
      listener: (client: { on(event: 'error', listener: () => void): unknown }) => void,
    ): unknown
    (event: 'error', listener: () => void): unknown
  }
  close?: () => Promise<void>
  closed?: boolean
  ended?: boolean
}

/** The default: Rewind closes what it opened; the CLI then closes the client the configuration opened. */
async function closeWithClient(rewind: AnyRewind): Promise<void> {
  await rewind.close()
  const client = (rewind.db as { $client?: ClosableClient } | undefined)?.$client
  if (!client) return
  if (typeof client.end === 'function') {
    // A pg Pool resolves end() once it has let go of its clients, before their connections have closed: one the
    // server ends in that moment (a restart, a dropped database) then emits 'error' with nobody listening, which
    // would crash the process (the pool's own 'error' event has a listener since the command began: see open).
    // The command is over: such an error is of no interest.
    client.on?.('remove', (removed) => removed.on('error', () => {}))
    if (!client.ended) await client.end()
  } else if (typeof client.close === 'function' && client.closed !== true) {
    await client.close()
  }
}
