/** `rewind studio`: starts on the configured app's log, prints the address with its token, stops on a signal. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AccountsFixture, cliRunner, openAccounts } from '../cli/support.js'
import { backends } from '../support/backends.js'

describe.each(backends)('rewind studio on $name', (backend) => {
  let fx: AccountsFixture
  beforeAll(async () => {
    fx = await openAccounts(backend)
  })
  afterAll(async () => fx?.close())

  it('serves the log on 127.0.0.1 behind the printed token until stopped, then exits 0', async () => {
    const stop = new AbortController()
    let stdout = ''
    let stderr = ''
    let printed: () => void = () => {}
    const started = new Promise<void>((resolve) => {
      printed = resolve
    })
    const { buildCli } = await import('../../src/cli/index.js')
    const done = buildCli({
      config: fx.config,
      env: fx.env,
      isTTY: false,
      signal: stop.signal,
      stdout: {
        write: (text: string) => {
          stdout += text
          if (/Open http/.test(stdout)) printed()
        },
      },
      stderr: { write: (text: string) => (stderr += text) },
    }).run(['studio', '--port', '0'])
    await Promise.race([started, done])
    const url = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stdout)?.[1]
    expect(url, `${stdout}\n${stderr}`).toBeDefined()
    expect(stderr).toContain('Every request needs the token')
    const origin = new URL(url!).origin
    expect((await fetch(`${origin}/log`)).status).toBe(401)
    const opened = await fetch(url!, { redirect: 'manual' })
    expect(opened.status).toBe(303)
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!
    const log = await fetch(`${origin}/log`, { headers: { cookie } })
    expect(log.status).toBe(200)
    expect(await log.text()).toContain(fx.scenario.article.id)
    stop.abort()
    expect(await done).toBe(0)
    // Stopped: nothing listens there any more.
    await expect(fetch(`${origin}/log`)).rejects.toThrow()
  })

  it('refuses a malformed port as a usage error, and says when the port is taken', async () => {
    const cli = cliRunner({ config: fx.config, env: fx.env })
    const bad = await cli(['studio', '--port', 'eighty'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('invalid --port "eighty"')
    const { createServer } = await import('node:net')
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const busy = await cli(['studio', '--port', String(port)])
      expect(busy.code).toBe(1)
      expect(busy.stderr).toContain(`port ${port} is in use on 127.0.0.1: pass --port N`)
    } finally {
      taken.close()
    }
  })
})
