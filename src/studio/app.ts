import { randomBytes } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { databaseFailure } from '../errors/database-failure.js'
import { isRewindError, type RewindError } from '../errors/rewind-error.js'
import type { Reader } from '../events/store/event-table.js'
import { sensitiveKeys } from '../runtime/masking.js'
import { resourceNames } from '../runtime/resource-names.js'
import type { Rewind } from '../runtime/rewind.js'
import { Activity } from './activity.js'
import { loadAsset } from './assets.js'
import { requireToken } from './auth.js'
import type { StudioContext } from './context.js'
import type { Html } from './html.js'
import { problemPage } from './layout.js'
import { LiveStreams } from './live.js'
import { eventPage } from './pages/event.js'
import { healthPage } from './pages/health.js'
import { logPage } from './pages/log.js'
import { overviewPage } from './pages/overview.js'
import { recordPage } from './pages/record.js'
import { BadRequest } from './params.js'

/** How a studio reads and shows the log. */
export interface StudioOptions {
  /** Show sensitive values (decrypted when the key is configured) instead of •••. Default false. */
  readonly reveal?: boolean
  /** The access token every request must carry. Default: 24 random bytes, base64url. */
  readonly token?: string
  /** How often a live log page asks for new events, in milliseconds. Default 1000. */
  readonly liveIntervalMs?: number
  /** Told of every failure that became a 500 (with its stack). Default: `console.error`. */
  readonly onError?: (error: unknown) => void
}

/** A studio as a fetch handler: serve it with any server, at the root of its own host and port. */
export interface Studio {
  /** Answers one request (Hono's `app.fetch`). */
  readonly fetch: (request: Request) => Promise<Response>
  /** The access token: `?token=` once (a cookie follows), or `Authorization: Bearer <token>`. */
  readonly token: string
  /** Ends the live streams. The Rewind instance stays open: it is the caller's. */
  close(): Promise<void>
}

/** Validation errors of the library's reads name the filter field in `issues[0].path`; the URL names it so. */
const FIELD_PARAMETERS: Readonly<Record<string, string>> = {
  actor: 'actor',
  from: 'from',
  to: 'to',
  limit: 'limit',
}

/**
 * The studio of a Rewind instance as a Hono app: pages for the log, a record's timeline and states, one event,
 * the overview and health, a live stream, and the browser's files. Read-only: every route is GET (others get
 * 405); nothing writes, replays or erases. Every request needs the token (401 without it).
 */
export function createStudio(rewind: Rewind<any>, options: StudioOptions = {}): Studio {
  const log = rewind.eventLog
  if (!log) {
    throw new Error(
      'the studio browses the event log, and this Rewind instance has none: pass createRewind({ eventLog: { table: eventLogTable(...) } })',
    )
  }
  const token = options.token ?? randomBytes(24).toString('base64url')
  if (token.length < 16 || !/^[\w-]+$/.test(token)) {
    throw new Error('the studio token must be at least 16 characters of A-Z, a-z, 0-9, _ and -')
  }
  const reveal = options.reveal === true
  // Each read is planned for its own filter values: a prepared statement's generic plan for "newest first,
  // WHERE resource = $1 AND action = $2" may walk the whole position index for a pair that has no events.
  const reader: Reader = {
    async queryText(text, params = []) {
      try {
        return await rewind.database.transaction(async (client) => {
          await client.query('SET LOCAL plan_cache_mode = force_custom_plan')
          return client.queryText(text, params)
        })
      } catch (error) {
        throw databaseFailure(error)
      }
    },
  }
  const ctx: StudioContext = {
    rewind,
    log,
    reader,
    reveal,
    sensitive: sensitiveKeys(rewind, reveal),
    resourceNames: resourceNames(rewind),
    activity: new Activity(log.store, reader),
    liveIntervalMs: options.liveIntervalMs ?? 1000,
  }
  const live = new LiveStreams()
  const report = options.onError ?? ((error: unknown) => console.error('rewind studio:', error))
  const app = new Hono()
  const send = (c: Context, body: Html | undefined, missing: string) =>
    body ? c.html(body.text) : c.html(problemPage(404, 'Not found', missing, reveal).text, 404)

  app.use('*', async (c, next) => {
    await next()
    // Pages hold the log's values: never cached, never framed, nothing loaded from elsewhere, no inline script.
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'no-referrer')
    c.header('X-Frame-Options', 'DENY')
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store')
  })
  app.use('*', requireToken(token))
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      c.header('Allow', 'GET, HEAD')
      return c.text('the studio is read-only: GET and HEAD only', 405)
    }
    return next()
  })

  const params = (url: string) => new URL(url).searchParams
  app.get('/', (c) => c.redirect('/log', 302))
  app.get('/log', async (c) => c.html((await logPage(ctx, params(c.req.url))).text))
  app.get('/log/stream', (c) => live.handle(ctx, c))
  app.get('/records/:resource/:id', async (c) =>
    send(
      c,
      await recordPage(ctx, c.req.param('resource'), c.req.param('id'), params(c.req.url)),
      `No event of ${c.req.param('resource')} ${c.req.param('id')} in the log.`,
    ),
  )
  app.get('/events/:id', async (c) =>
    send(c, await eventPage(ctx, c.req.param('id')), `No event with id ${c.req.param('id')} in the log.`),
  )
  app.get('/overview', async (c) => c.html((await overviewPage(ctx, params(c.req.url))).text))
  app.get('/health', async (c) => c.html((await healthPage(ctx, params(c.req.url))).text))
  app.get('/assets/:name', async (c) => {
    const asset = loadAsset(c.req.param('name'))
    if (!asset) return c.text('no such asset', 404)
    const { body, type, etag } = await asset
    c.header('ETag', etag)
    c.header('Cache-Control', 'no-cache')
    if (c.req.header('if-none-match') === etag) return c.body(null, 304)
    c.header('Content-Type', type)
    return c.body(body)
  })
  app.notFound((c) => c.html(problemPage(404, 'Not found', `Nothing at ${c.req.path}.`, reveal).text, 404))
  app.onError((error, c) => {
    const bad = badRequestOf(error)
    if (bad) {
      const body = problemPage(400, 'Bad request', bad.message, reveal, bad.parameter).text
      return c.req.path === '/log/stream'
        ? c.text(`400 ${bad.parameter}: ${bad.message}`, 400)
        : c.html(body, 400)
    }
    report(error)
    const line = isRewindError(error)
      ? `${error.code}: ${error.message.split('\n', 1)[0]}`
      : 'an internal error'
    return c.html(
      problemPage(
        500,
        'The studio could not read this',
        `${line}. The studio's output has the details.`,
        reveal,
      ).text,
      500,
    )
  })

  return {
    fetch: async (request) => app.fetch(request),
    token,
    async close() {
      live.close()
    },
  }
}

/** A malformed parameter: the studio's own check, or the library's VALIDATION of a filter value. */
function badRequestOf(error: unknown): BadRequest | undefined {
  if (error instanceof BadRequest) return error
  if (isRewindError(error, 'VALIDATION')) {
    const path = String((error as RewindError).issues[0]?.path[0] ?? '')
    const parameter = FIELD_PARAMETERS[path.split('.')[0]!]
    if (parameter)
      return new BadRequest(parameter, (error as RewindError).issues[0]?.message ?? error.message)
  }
  return undefined
}
