import { type App, createApp } from '../../examples/accounts/app.js'
import { Org, User } from '../../examples/accounts/resources.js'
import { runScenario, type ScenarioResult } from '../../examples/accounts/scenario.js'
import { createStudio, type Studio, type StudioOptions } from '../../src/studio/app.js'
import type { Backend, TestDatabase } from '../support/backends.js'

/** Text an event of the log carries that would run as a script if it were not escaped. */
export const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`
export const TOKEN = 'studio-test-token-0123456789'

/** The accounts demo's data on one backend, plus an org named with markup and a user with a password. */
export interface StudioFixture {
  readonly tdb: TestDatabase
  readonly app: App
  readonly scenario: ScenarioResult
  /** The org whose name is {@link HOSTILE}. */
  readonly hostile: { readonly id: string }
  /** A user whose password and hash are sensitive. */
  readonly secret: { readonly id: string; readonly password: string }
  close(): Promise<void>
}

export async function openFixture(backend: Backend): Promise<StudioFixture> {
  const tdb = await backend.create()
  const app = await createApp(tdb.db)
  const scenario = await runScenario(app)
  const hostile = await app.run(
    Org,
    'create',
    { name: HOSTILE },
    { actor: { type: 'system', name: HOSTILE } },
  )
  const password = 'correct horse battery staple'
  const secret = await app.run(User, 'create', { email: 'sec@example.com', name: 'Sec', password })
  return {
    tdb,
    app,
    scenario,
    hostile,
    secret: { id: secret.id, password },
    async close() {
      await app.close()
      await tdb.close()
    },
  }
}

/** A studio over the fixture's instance, and requests through its fetch handler (as a browser sends them). */
export function studioOf(app: App, options: StudioOptions = {}) {
  const studio: Studio = createStudio(app, { token: TOKEN, onError: () => {}, ...options })
  const request = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token = TOKEN, headers, ...rest } = init
    const h = new Headers(headers)
    if (token !== null) h.set('authorization', `Bearer ${token}`)
    return studio.fetch(new Request(`http://127.0.0.1:7394${path}`, { ...rest, headers: h }))
  }
  const text = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const response = await request(path, init)
    return { status: response.status, body: await response.text(), headers: response.headers }
  }
  return { studio, request, text }
}

/** Every row of the demo's tables and the log, to show nothing changed. */
export async function everything(app: App): Promise<string> {
  const out: unknown[] = []
  for (const table of ['orgs', 'users', 'memberships', 'articles', 'events']) {
    out.push(await app.database.query(`SELECT * FROM ${table} ORDER BY 1`))
  }
  return JSON.stringify(out)
}

/** Reads server-sent events from a response body until `until` says stop. */
export async function readSse(
  response: Response,
  until: (messages: { event: string; data: string; id?: string }[]) => boolean,
): Promise<{ event: string; data: string; id?: string }[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const messages: { event: string; data: string; id?: string }[] = []
  let buffer = ''
  try {
    while (!until(messages)) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const message: { event: string; data: string; id?: string } = { event: 'message', data: '' }
        const data: string[] = []
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) message.event = line.slice(6).trim()
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
          else if (line.startsWith('id:')) message.id = line.slice(3).trim()
        }
        message.data = data.join('\n')
        if (!block.startsWith(':')) messages.push(message)
        end = buffer.indexOf('\n\n')
      }
    }
  } finally {
    await reader.cancel()
  }
  return messages
}
