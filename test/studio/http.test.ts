/**
 * The studio over HTTP, through its fetch handler (Hono's app.fetch, as `app.request` does): the token, read-only
 * routes, 400s that name the parameter, escaping of the log's strings, masking, paging, the record page, the
 * overview's counts and the live stream. On PGlite, and on PostgreSQL with DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Article, Org, User } from '../../examples/accounts/resources.js'
import { backends } from '../support/backends.js'
import { everything, HOSTILE, openFixture, readSse, type StudioFixture, studioOf, TOKEN } from './support.js'

/** The positions of the event rows of a page, top to bottom. */
const positions = (body: string) =>
  [...body.matchAll(/<tr data-row data-position="(\d+)"/g)].map((m) => Number(m[1]))
const param = (body: string) => /<code class="parameter">([^<]*)<\/code>/.exec(body)?.[1]

describe.each(backends)('the studio over HTTP on $name', (backend) => {
  let fx: StudioFixture
  let s: ReturnType<typeof studioOf>
  let ada: string
  let article: string

  beforeAll(async () => {
    fx = await openFixture(backend)
    s = studioOf(fx.app)
    ada = fx.scenario.ada.id
    article = fx.scenario.article.id
  })
  afterAll(async () => {
    await s?.studio.close()
    await fx?.close()
  })

  const routes = () => [
    '/',
    '/log',
    '/log?resource=User',
    '/log/stream?snapshot=1:1:',
    `/records/User/${ada}`,
    '/events/1',
    '/overview',
    '/health',
    '/assets/studio.js',
    '/assets/studio.css',
    '/nowhere',
  ]

  it('answers 401 to every request without the token, or with a wrong one', async () => {
    for (const path of routes()) {
      for (const token of [null, 'wrong-token-wrong-token']) {
        const r = await s.text(path, { token })
        expect(r.status, `${path} with ${token}`).toBe(401)
        expect(r.headers.get('www-authenticate')).toContain('Bearer')
        expect(r.body).toContain('Access token needed')
        expect(r.body).not.toContain(ada)
      }
      expect(
        (await s.text(`${path}${path.includes('?') ? '&' : '?'}token=nope`, { token: null })).status,
      ).toBe(401)
    }
  })

  it('takes the token once in the URL, then from a cookie of its own (HttpOnly, SameSite=Strict)', async () => {
    const first = await s.request(`/log?resource=User&token=${TOKEN}`, { token: null, redirect: 'manual' })
    expect(first.status).toBe(303)
    expect(first.headers.get('location')).toBe('/log?resource=User')
    const cookie = first.headers.get('set-cookie')!
    expect(cookie).toMatch(/^rewind_studio_[0-9a-f]{12}=/)
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/SameSite=Strict/i)
    const next = await s.text('/log?resource=User', {
      token: null,
      headers: { cookie: cookie.split(';')[0]! },
    })
    expect(next.status).toBe(200)
    expect(next.body).toContain('User.create')
    // Another studio's token does not open this one, and its cookie has another name.
    const other = studioOf(fx.app, { token: 'another-token-another-token' })
    expect(
      (await other.text('/log', { token: null, headers: { cookie: cookie.split(';')[0]! } })).status,
    ).toBe(401)
    await other.studio.close()
  })

  it('is read-only: no route takes POST, PUT, PATCH or DELETE, and browsing every page changes nothing', async () => {
    const before = await everything(fx.app)
    for (const path of routes()) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const r = await s.text(path, { method, body: method === 'DELETE' ? null : 'x' })
        expect(r.status, `${method} ${path}`).toBe(405)
        expect(r.headers.get('allow')).toBe('GET, HEAD')
      }
    }
    const events = (await fx.app.events({ limit: 1000 })).events
    const pages = [
      '/log',
      '/log?limit=2',
      '/overview',
      '/overview?range=24h',
      '/health',
      '/health?run=check',
      '/health?run=verify',
      ...events.map((e) => `/events/${e.id}`),
      ...events
        .filter((e) => fx.app.resources.has(e.resource))
        .map((e) => `/records/${e.resource}/${e.recordId}?at=${e.id}`),
    ]
    for (const path of pages) expect((await s.text(path)).status, path).toBe(200)
    expect(await everything(fx.app)).toBe(before)
  })

  it('answers a malformed parameter with 400 naming it, never with a stack trace', async () => {
    const events = (await fx.app.events({ limit: 1000 })).events
    const orgEvent = events.find((e) => e.resource === 'Org')!
    const cases: [string, string][] = [
      ['/log?from=yesterday', 'from'],
      ['/log?to=2026-13-01', 'to'],
      ['/log?from=2026-01-01T00:00:00.1234567Z', 'from'],
      ['/log?from=2026-01-01&from=2026-01-02', 'from'],
      ['/log?before=abc', 'before'],
      ['/log?before=-3', 'before'],
      ['/log?before=5&after=2', 'after'],
      ['/log?limit=0', 'limit'],
      ['/log?limit=100000', 'limit'],
      ['/log?resource=Nope', 'resource'],
      ['/log?actorColumn=nope&actor=x', 'actorColumn'],
      ['/log?actor=not-a-uuid', 'actor'],
      ['/log?resource=User&record=not-a-uuid', 'record'],
      ['/records/Nope/1', 'resource'],
      ['/records/User/not-a-uuid', 'id'],
      [`/records/User/${ada}?at=abc`, 'at'],
      [`/records/User/${ada}?at=${orgEvent.id}`, 'at'],
      [`/records/User/${ada}?from=${orgEvent.id}`, 'to'],
      ['/events/abc', 'id'],
      ['/events/123456789012345678901', 'id'],
      ['/overview?range=year', 'range'],
      ['/health?run=drop', 'run'],
    ]
    for (const [path, name] of cases) {
      const r = await s.text(path)
      expect(r.status, path).toBe(400)
      expect(param(r.body), path).toBe(name)
      expect(r.body).not.toMatch(/\n\s+at .+:\d+:\d+/)
      expect(r.body).not.toMatch(/RewindError|TypeError|\.ts:\d/)
    }
    for (const [path, name] of [
      ['/log/stream', 'snapshot'],
      ['/log/stream?snapshot=drop%20table', 'snapshot'],
      ['/log/stream?snapshot=1:1:&from=soon', 'from'],
    ] as const) {
      const r = await s.text(path)
      expect(r.status, path).toBe(400)
      expect(r.body).toMatch(new RegExp(`^400 ${name}: `))
    }
    // A well-formed id the log does not hold is not found, not a bad request.
    expect((await s.text('/events/999999')).status).toBe(404)
    expect((await s.text('/records/User/00000000-0000-7000-8000-000000000000')).status).toBe(404)
  })

  it('escapes every string from the log and from the request', async () => {
    const hostileEvent = (await fx.app.events({ resource: 'Org', limit: 100 })).events.find(
      (e) => e.recordId === fx.hostile.id,
    )!
    const escaped =
      '&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt;'
    for (const path of [
      '/log',
      '/log?resource=Org',
      `/records/Org/${fx.hostile.id}`,
      `/events/${hostileEvent.id}`,
      '/overview',
    ]) {
      const { status, body } = await s.text(path)
      expect(status, path).toBe(200)
      expect(body, path).not.toContain('<script>window')
      expect(body, path).not.toContain('<img src=x')
      expect(body, path).toContain(escaped.slice(0, 40))
    }
    // The actor column holds the same text: escaped where the actor is shown.
    expect(
      (await s.text(`/log?actorColumn=systemActor&actor=${encodeURIComponent(HOSTILE)}`)).body,
    ).toContain('systemActor</span>=&lt;script&gt;')
    // A value echoed back in an error is escaped too.
    const bad = await s.text(`/log?from=${encodeURIComponent('<script>alert(1)</script>')}`)
    expect(bad.status).toBe(400)
    expect(bad.body).not.toContain('<script>alert')
    expect(bad.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    const badId = await s.text(`/records/Org/${encodeURIComponent('<b>x</b>')}`)
    expect(badId.status).toBe(400)
    expect(badId.body).toContain('&lt;b&gt;x&lt;/b&gt;')
    // Pages load nothing from elsewhere and run no inline script, whatever slipped through.
    const { headers } = await s.text('/log')
    expect(headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(headers.get('cache-control')).toBe('no-store')
    expect(headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('masks sensitive values unless started with reveal', async () => {
    const events = (await fx.app.events({ resource: 'User', recordId: fx.secret.id })).events
    const hash = (
      await fx.app.database.query('SELECT hashed_password AS h FROM users WHERE id = $1', [fx.secret.id])
    )[0]!.h!
    expect(hash).toMatch(/^sha256:/)
    const masked = [`/records/User/${fx.secret.id}`, `/events/${events[0]!.id}`, '/log', '/log?resource=User']
    for (const path of masked) {
      const { body } = await s.text(path)
      expect(body, path).toContain('•••')
      expect(body, path).not.toContain(hash)
      expect(body, path).not.toContain(fx.secret.password)
      expect(body, path).toContain('Sensitive values masked')
    }
    const revealed = studioOf(fx.app, { reveal: true })
    const record = await revealed.text(`/records/User/${fx.secret.id}`)
    expect(record.body).toContain(hash)
    expect(record.body).toContain('Sensitive values revealed')
    expect((await revealed.text(`/events/${events[0]!.id}`)).body).toContain(fx.secret.password)
    await revealed.studio.close()
  })

  it('pages the log newest first, for every filter, exactly as the log holds it', async () => {
    const all = (await fx.app.events({ limit: 1000 })).events
    const adaEvents = all.filter((e) => e.actor.userId === ada)
    const mid = all[Math.floor(all.length / 2)]!.occurredAt
    const filters: [string, (e: (typeof all)[number]) => boolean][] = [
      ['', () => true],
      ['resource=User', (e) => e.resource === 'User'],
      ['resource=Article&action=archive', (e) => e.resource === 'Article' && e.action === 'archive'],
      // Without a resource: one index scan per resource, merged.
      ['action=create', (e) => e.action === 'create'],
      [`record=${article}`, (e) => e.recordId === article],
      [`resource=Article&record=${article.toUpperCase()}`, (e) => e.recordId === article],
      [`actor=${ada}`, (e) => e.actor.userId === ada],
      ['actorColumn=systemActor&actor=seed', (e) => e.actor.systemActor === 'seed'],
      [`from=${encodeURIComponent(mid)}`, (e) => e.occurredAt >= mid],
      [`to=${encodeURIComponent(mid)}`, (e) => e.occurredAt <= mid],
    ]
    expect(adaEvents.length).toBeGreaterThan(2)
    for (const [query, keep] of filters) {
      const expected = all
        .filter(keep)
        .map((e) => e.position)
        .reverse()
      expect(expected.length, query).toBeGreaterThan(0)
      // Down, three at a time, with the Older link's cursor.
      const down: number[] = []
      let path = `/log?${query}&limit=3`
      for (let guard = 0; guard < 100; guard++) {
        const { status, body } = await s.text(path)
        expect(status, path).toBe(200)
        down.push(...positions(body))
        const older = /href="([^"]*)" rel="next"/.exec(body)?.[1]
        if (!older) break
        path = older.replaceAll('&amp;', '&')
      }
      expect(down, query).toEqual(expected)
      // Up again from the oldest, with the Newer link's cursor.
      const up: number[] = []
      path = `/log?${query}&limit=3&after=0`
      for (let guard = 0; guard < 100; guard++) {
        const { body } = await s.text(path)
        up.unshift(...positions(body))
        const newer = /href="([^"]*)" rel="prev"/.exec(body)?.[1]
        if (!newer) break
        path = newer.replaceAll('&amp;', '&')
      }
      expect(up, query).toEqual(expected)
    }
  })

  it("shows a record's timeline, its state just after any event, and the difference between two points", async () => {
    const history = await fx.app.history(Article, article)
    const { body } = await s.text(`/records/Article/${article}`)
    const shown = [
      ...body.matchAll(/<li class="entry[^"]*"[^>]*>\s*<div class="head">\s*<a href="\/events\/(\d+)"/g),
    ].map((m) => Number(m[1]))
    expect(shown).toEqual(history.map((h) => h.id).reverse())
    const archive = history.find((h) => h.action === 'archive')!
    const atArchive = await s.text(`/records/Article/${article}?at=${archive.id}`)
    expect(atArchive.body).toMatch(
      /<tr class="changed"[^>]*><th scope="row">status<\/th><td><span class="str">&quot;archived&quot;/,
    )
    expect(atArchive.body).toContain('An earlier state')
    const create = history[0]!
    const diff = await s.text(`/records/Article/${article}?from=${create.id}&to=${archive.id}`)
    expect(diff.body).toMatch(/<table class="diff compare" data-compare>/)
    expect(diff.body).toMatch(
      /<th scope="row">status<\/th><td class="from"><span class="str">&quot;draft&quot;<\/span><\/td><td class="arrow">→<\/td><td class="to"><span class="str">&quot;archived&quot;/,
    )
    // The state the page shows just after each event is the one time travel rebuilds, for every record and event.
    const stateShown = (body: string) =>
      Object.fromEntries(
        [
          .../<section class="state"[\s\S]*?<\/section>/
            .exec(body)![0]
            .matchAll(/<tr[^>]*><th scope="row">([^<]+)<\/th><td>([\s\S]*?)<\/td><\/tr>/g),
        ].map((m) => [
          m[1]!,
          m[2]!
            .replace(/<[^>]+>/g, '')
            .replaceAll('&quot;', '"')
            .replaceAll('&amp;', '&'),
        ]),
      )
    for (const [resource, ids] of [
      [Article, [article]],
      [User, [ada, ...fx.scenario.legacyUserIds]],
      [Org, [fx.scenario.org.id]],
    ] as const) {
      for (const id of ids) {
        for (const entry of await fx.app.history(resource, id as never)) {
          const expected = await fx.app.timeTravel.canonicalStateAt(resource, id, { eventId: entry.id })
          const { body } = await s.text(`/records/${resource.name}/${id}?at=${entry.id}`)
          const shown = stateShown(body)
          if (!expected) {
            expect(body).toMatch(/Destroyed by this event|Did not exist/)
            continue
          }
          const want = Object.fromEntries(
            [...resource.codecs.keys()].map((k) => {
              const v = expected.get(k) ?? null
              return [k, resource.sensitive.has(k) && v !== null ? '•••' : JSON.stringify(v)]
            }),
          )
          expect(shown, `${resource.name} ${id} #${entry.position}`).toEqual(want)
        }
      }
    }
  })

  it('shows a long history a window at a time, with the right state anywhere in it', async () => {
    const org = await fx.app.run(Org, 'create', { name: 'Renamed often' })
    for (let i = 1; i <= 120; i++) await fx.app.run(Org, 'rename', { name: `name ${i}` }, { id: org.id })
    const history = await fx.app.history(Org, org.id)
    expect(history).toHaveLength(121)
    const entries = (body: string) =>
      [
        ...body.matchAll(/<li class="entry[^"]*"[^>]*>\s*<div class="head">\s*<a href="\/events\/(\d+)"/g),
      ].map((m) => Number(m[1]))
    const latest = await s.text(`/records/Org/${org.id}`)
    expect(entries(latest.body)).toEqual(
      history
        .slice(-51)
        .map((h) => h.id)
        .reverse(),
    )
    expect(latest.body).toContain('121 events')
    expect(latest.body).toContain('Older events…')
    expect(latest.body).not.toContain('Newer events…')
    const tenth = history[10]!
    const early = await s.text(`/records/Org/${org.id}?at=${tenth.id}`)
    expect(entries(early.body)).toEqual(
      history
        .slice(0, 61)
        .map((h) => h.id)
        .reverse(),
    )
    expect(early.body).toContain('Newer events…')
    expect(early.body).toMatch(/<th scope="row">name<\/th><td><span class="str">&quot;name 10&quot;/)
    // A comparison across the window: both ends read in full.
    const across = await s.text(`/records/Org/${org.id}?from=${history[0]!.id}&to=${history[120]!.id}`)
    expect(across.body).toMatch(
      /<th scope="row">name<\/th><td class="from"><span class="str">&quot;Renamed often&quot;<\/span><\/td><td class="arrow">→<\/td><td class="to"><span class="str">&quot;name 120&quot;/,
    )
  })

  it('counts events per resource exactly, then adds the ones committed since', async () => {
    const counts = async () => {
      const { body } = await s.text('/overview')
      return Object.fromEntries(
        [
          ...body.matchAll(
            /<a href="\/log\?resource=(\w+)">\w+<\/a>(?:[^<]|<(?!td))*<\/th>\s*<td class="n">([\d,]+)<\/td>/g,
          ),
        ].map((m) => [m[1]!, Number(m[2]!.replaceAll(',', ''))]),
      )
    }
    const inDb = async () =>
      Object.fromEntries(
        (await fx.app.database.query('SELECT resource, count(*)::int AS n FROM events GROUP BY 1')).map(
          (r) => [r.resource!, Number(r.n)],
        ),
      )
    expect(await counts()).toEqual(await inDb())
    await fx.app.run(Org, 'create', { name: 'Counted Org' })
    await fx.app.run(Org, 'rename', { name: 'Counted Org 2' }, { id: fx.scenario.org.id })
    expect(await counts()).toEqual(await inDb())
    expect((await s.text('/overview?range=24h')).body).toContain('<svg')
  })

  it('streams the rows of new events that match the filters, escaped, each once', async () => {
    const page = await s.text('/log?resource=Org')
    const stream = /data-live="([^"]+)"/.exec(page.body)![1]!.replaceAll('&amp;', '&')
    expect(stream).toMatch(/^\/log\/stream\?resource=Org&snapshot=\d+%3A\d+%3A/)
    const response = await s.request(stream)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    await fx.app.run(User, 'rename', { name: 'Not an org' }, { id: ada })
    const made = await fx.app.run(Org, 'create', { name: `${HOSTILE} again` })
    const messages = await readSse(response, (m) => m.some((x) => x.event === 'events'))
    const rows = messages.filter((m) => m.event === 'events')
    expect(rows).toHaveLength(1)
    expect(rows[0]!.id).toMatch(/^\d+:\d+:/)
    expect(rows[0]!.data).toContain(`/records/Org/${made.id}`)
    expect(rows[0]!.data).not.toContain('User.rename')
    expect(rows[0]!.data).not.toContain('<script>window')
    expect(rows[0]!.data).toContain('&lt;script&gt;window')
    // Resuming from the message's id (Last-Event-ID) gives only what came after it.
    const resumed = await s.request(stream, { headers: { 'last-event-id': rows[0]!.id! } })
    const later = await fx.app.run(Org, 'create', { name: 'After the resume' })
    const again = await readSse(resumed, (m) => m.some((x) => x.event === 'events'))
    const data = again
      .filter((m) => m.event === 'events')
      .map((m) => m.data)
      .join('')
    expect(data).toContain(later.id)
    expect(data).not.toContain(made.id)
  })

  it('serves its browser files itself, with validators', async () => {
    const js = await s.request('/assets/studio.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('text/javascript')
    const etag = js.headers.get('etag')!
    expect((await js.text()).length).toBeGreaterThan(500)
    expect((await s.request('/assets/studio.js', { headers: { 'if-none-match': etag } })).status).toBe(304)
    expect((await s.request('/assets/studio.css')).headers.get('content-type')).toContain('text/css')
    expect((await s.request('/assets/nope.js')).status).toBe(404)
    // No page refers to anything outside the studio.
    for (const path of ['/log', '/overview', '/health', `/records/User/${ada}`]) {
      const { body } = await s.text(path)
      expect(body.match(/(?:src|href)="(?!\/|#|\?)[^"]*"/g) ?? [], path).toEqual([])
    }
  })
})
