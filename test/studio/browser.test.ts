// Functions passed to page.evaluate run in the page: `globalThis` there is the window (this file has no DOM types).
/**
 * The studio in a real browser: Debian's chromium (/usr/bin/chromium, installed by .ci/run when missing),
 * driven by playwright-core (each launch gets a fresh profile of its own), against a studio serving on an ephemeral port on 127.0.0.1. Writes a screenshot
 * of each page to test/studio/screenshots (ignored by git; STUDIO_SCREENSHOTS=dir to write elsewhere).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Article, Org, User } from '../../examples/accounts/resources.js'
import { type RunningStudio, startStudio } from '../../src/studio/start-studio.js'
import { backends } from '../support/backends.js'
import { HOSTILE, openFixture, type StudioFixture } from './support.js'

const SHOTS = process.env.STUDIO_SCREENSHOTS ?? fileURLToPath(new URL('./screenshots/', import.meta.url))
/** A bound for a hang on a loaded machine, not a speed requirement. */
const WAIT = 120_000

describe.each(backends)('the studio in chromium on $name', (backend) => {
  let fx: StudioFixture
  let studio: RunningStudio
  let browser: Browser
  let page: Page
  /** Dialogs (alert, ...) the page opened: a script from the log would. */
  const dialogs: string[] = []
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${backend.name}-${name}.png`) })
  const rows = () => page.locator('tbody[data-rows] tr')

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    fx = await openFixture(backend)
    studio = await startStudio(fx.app, { port: 0, liveIntervalMs: 200 })
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    page = await browser.newPage({ viewport: { width: 1366, height: 800 } })
    page.setDefaultTimeout(WAIT)
    page.on('dialog', async (d) => {
      dialogs.push(d.message())
      await d.dismiss()
    })
  }, WAIT)
  afterAll(async () => {
    await browser?.close()
    await studio?.close()
    await fx?.close()
  })

  it('needs the token: 401 without it; with it, the log, and the token leaves the address bar', async () => {
    expect(studio.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const denied = await page.goto(`${studio.origin}/log`)
    expect(denied!.status()).toBe(401)
    await expect(page.locator('h1').textContent()).resolves.toBe('Access token needed')
    await shot('token-needed')
    const opened = await page.goto(studio.url)
    expect(opened!.status()).toBe(200)
    expect(page.url()).toBe(`${studio.origin}/log`)
    await expect(page.locator('h1').textContent()).resolves.toContain('Log')
    expect(await rows().count()).toBe((await fx.app.events({ limit: 1000 })).events.length)
  })

  it('shows an event whose data holds <script> as text, and runs none of it', async () => {
    await page.goto(`${studio.origin}/log?resource=Org`)
    const cell = page.locator('tbody[data-rows] tr', { hasText: 'window.__pwned' }).first()
    // The summary shows the start of the value as text (the whole value in its tooltip).
    await expect(cell.locator('td.payload').textContent()).resolves.toContain(
      'name="<script>window.__pwned = 1</script><img',
    )
    await expect(cell.locator('td.payload .str').first().getAttribute('title')).resolves.toBe(
      JSON.stringify(HOSTILE),
    )
    await page.goto(`${studio.origin}/records/Org/${fx.hostile.id}`)
    await expect(page.locator('section.state').textContent()).resolves.toContain(JSON.stringify(HOSTILE))
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(dialogs).toEqual([])
    await shot('script-as-text')
  })

  it('filters by resource and action, and by actor, from the form', async () => {
    await page.goto(`${studio.origin}/log`)
    await page.selectOption('select[name="resource"]', 'Article')
    await page.click('form.filters button[type="submit"]')
    await page.waitForURL(/resource=Article/)
    const events = await page.locator('tbody[data-rows] td:nth-child(3) .action').allTextContents()
    expect(events.length).toBe((await fx.app.events({ resource: 'Article' })).events.length)
    expect(events.every((e) => e.startsWith('Article.'))).toBe(true)
    await page.fill('input[name="action"]', 'archive')
    await page.press('input[name="action"]', 'Enter')
    await page.waitForURL(/action=archive/)
    expect(await page.locator('tbody[data-rows] .action').allTextContents()).toEqual(['Article.archive'])
    await page.goto(`${studio.origin}/log`)
    await page.selectOption('select[name="actorColumn"]', 'userId')
    await page.fill('input[name="actor"]', fx.scenario.ada.id)
    await page.click('form.filters button[type="submit"]')
    await page.waitForURL(/actor=/)
    const byAda = (await fx.app.events({ actor: { userId: fx.scenario.ada.id } })).events
    expect(await rows().count()).toBe(byAda.length)
    await shot('log-filtered')
  })

  it('pages older and newer with the links and with [ and ], and moves through rows with the keyboard', async () => {
    const all = (await fx.app.events({ limit: 1000 })).events.map((e) => String(e.position)).reverse()
    const shown = () =>
      page
        .locator('tbody[data-rows] tr')
        .evaluateAll((trs) =>
          trs.map((t) => (t as unknown as { dataset: Record<string, string> }).dataset.position),
        )
    await page.goto(`${studio.origin}/log?limit=4`)
    expect(await shown()).toEqual(all.slice(0, 4))
    await page.click('a[rel="next"]')
    await page.waitForURL(/before=/)
    expect(await shown()).toEqual(all.slice(4, 8))
    await page.keyboard.press(']')
    await page.waitForURL(new RegExp(`before=${all[7]}`))
    expect(await shown()).toEqual(all.slice(8, 12))
    await page.keyboard.press('[')
    await page.waitForURL(new RegExp(`after=${all[8]}`))
    expect(await shown()).toEqual(all.slice(4, 8))
    // j, j, k: the second row, the third, the second again; Enter opens its event.
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    await page.keyboard.press('k')
    expect(await page.locator('tr.cursor').getAttribute('data-position')).toBe(all[5])
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/events\//)
    await expect(page.locator('dl.facts dd').first().textContent()).resolves.toContain(all[5]!)
    await shot('event')
    // g then o: the overview; / focuses the first filter on the log.
    await page.keyboard.press('g')
    await page.keyboard.press('o')
    await page.waitForURL(/\/overview$/)
    await page.goto(`${studio.origin}/log`)
    await page.keyboard.press('/')
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('name'))).toBe(
      'resource',
    )
  })

  it("shows a record's timeline and its state just after an event, and compares two points", async () => {
    const history = await fx.app.history(Article, fx.scenario.article.id)
    await page.goto(`${studio.origin}/records/Article/${fx.scenario.article.id}`)
    expect(await page.locator('li.entry').count()).toBe(history.length)
    const status = () => page.locator('section.state tr', { hasText: 'status' }).locator('td').textContent()
    await expect(status()).resolves.toBe(JSON.stringify(history.at(-1) && 'draft'))
    await shot('record')
    const archive = history.find((h) => h.action === 'archive')!
    await page
      .locator('li.entry', { hasText: 'Article.archive' })
      .getByRole('link', { name: 'state here' })
      .click()
    await page.waitForURL(new RegExp(`at=${archive.id}`))
    await expect(status()).resolves.toBe('"archived"')
    await expect(page.locator('section.state h2').textContent()).resolves.toContain(`#${archive.position}`)
    await page.selectOption('select[name="from"]', String(history[0]!.id))
    await page.selectOption('select[name="to"]', String(archive.id))
    await page.click('section.compare button[type="submit"]')
    await page.waitForURL(/from=/)
    const diff = await page.locator('table[data-compare] tr', { hasText: 'status' }).textContent()
    expect(diff).toContain('"draft"')
    expect(diff).toContain('"archived"')
    await shot('record-compare')
  })

  it('masks sensitive values', async () => {
    await page.goto(`${studio.origin}/records/User/${fx.secret.id}`)
    const state = await page.locator('section.state').textContent()
    expect(state).toMatch(/hashedPassword\s*•••/)
    expect(await page.content()).not.toContain('sha256:')
    expect(await page.content()).not.toContain(fx.secret.password)
    await expect(page.locator('.mode').textContent()).resolves.toBe('Sensitive values masked')
  })

  it('receives a new event live at the top of the newest page, and only when it matches the filters', async () => {
    await page.goto(`${studio.origin}/log?resource=Org`)
    await page.locator('[data-live][data-state="live"]').waitFor()
    const before = await rows().count()
    await fx.app.run(User, 'rename', { name: 'Ada (not an org)' }, { id: fx.scenario.ada.id })
    const org = await fx.app.run(
      Org,
      'create',
      { name: 'Arrived live' },
      { actor: { type: 'system', name: 'live' } },
    )
    const arrived = page.locator('tbody[data-rows] tr.new').first()
    await arrived.waitFor()
    await expect(arrived.locator('td.record').textContent()).resolves.toBe(org.id)
    expect(await rows().count()).toBe(before + 1)
    await expect(page.locator('tbody[data-rows] tr').first().getAttribute('data-position')).resolves.toBe(
      await arrived.getAttribute('data-position'),
    )
    await expect(page.locator('[data-live]').textContent()).resolves.toBe('Live: 1 new')
    await shot('log-live')
  })

  it('shows the overview with its chart, and health with the check on request', async () => {
    await page.goto(`${studio.origin}/overview`)
    expect(await page.locator('figure.chart svg rect').count()).toBeGreaterThan(0)
    const orgs = (await fx.app.events({ resource: 'Org', limit: 1000 })).events.length
    await expect(
      page.locator('table.resources tr', { hasText: 'Org' }).locator('td.n').textContent(),
    ).resolves.toBe(String(orgs))
    await shot('overview')
    await page.goto(`${studio.origin}/health`)
    await page.getByRole('link', { name: 'Run the check' }).click()
    await page.waitForURL(/run=check/)
    await expect(page.locator('[data-result="check"]').textContent()).resolves.toMatch(
      /✓ \d+ events and the tables agree/,
    )
    await shot('health')
  })

  it('follows the dark colour scheme', async () => {
    const dark = await browser.newPage({ viewport: { width: 1366, height: 800 }, colorScheme: 'dark' })
    await dark.goto(studio.url)
    const background = await dark.evaluate(
      () => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor,
    )
    expect(background).toBe('rgb(21, 23, 27)')
    await dark.screenshot({ path: join(SHOTS, `${backend.name}-log-dark.png`) })
    await dark.close()
  })
})
