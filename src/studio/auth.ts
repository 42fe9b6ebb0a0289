import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'

/** The cookie that carries the token after the first visit: one name per token, so two studios never clash. */
export function tokenCookie(token: string): string {
  return `rewind_studio_${createHash('sha256').update(token).digest('hex').slice(0, 12)}`
}

/** Compares in constant time (hashing first makes the lengths equal). */
function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b)
}

const DENIED = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="color-scheme" content="light dark"><title>Access token needed · Rewind Studio</title></head>
<body><main><h1>Access token needed</h1><p>This studio answers only with its access token. Open the address that
<code>rewind studio</code> printed when it started (it ends with <code>?token=…</code>).</p></main></body></html>`

/**
 * Every request needs the studio's token: `?token=` on the first visit (the studio then sets a cookie, valid
 * for this studio only, HttpOnly and SameSite=Strict, and sends the browser to the same address without the
 * token, so it stays out of the address bar), the cookie after that, or `Authorization: Bearer <token>`.
 * Anything else gets 401.
 */
export function requireToken(token: string): MiddlewareHandler {
  const cookie = tokenCookie(token)
  return async (c, next) => {
    const url = new URL(c.req.url)
    const inQuery = url.searchParams.get('token')
    if (inQuery !== null && sameToken(inQuery, token)) {
      setCookie(c, cookie, token, { httpOnly: true, sameSite: 'Strict', path: '/' })
      if (c.req.method === 'GET' || c.req.method === 'HEAD') {
        url.searchParams.delete('token')
        return c.redirect(`${url.pathname}${url.search}`, 303)
      }
      return next()
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1]
    const given = bearer ?? (inQuery === null ? getCookie(c, cookie) : undefined)
    if (given !== undefined && sameToken(given, token)) return next()
    c.header('WWW-Authenticate', 'Bearer realm="rewind-studio"')
    return c.html(DENIED, 401)
  }
}
