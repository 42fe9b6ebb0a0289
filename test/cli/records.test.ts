import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HistoryEntry, RewindEvent } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { type AccountsFixture, jsonLines, openAccounts } from './support.js'

describe.each(backends)('rewind history and rewind state on $name', (backend) => {
  let fx: AccountsFixture
  let articleEvents: RewindEvent[]

  beforeAll(async () => {
    fx = await openAccounts(backend)
    articleEvents = (await fx.app.events({ resource: 'Article' })).events
  })
  afterAll(() => fx?.close())

  it("prints a record's events with actor, metadata and field changes, sensitive values masked", async () => {
    const { ada } = fx.scenario
    const run = await fx.cli(['history', 'User', ada.id])
    expect(run.code).toBe(0)
    expect(run.lines[0]).toBe(`User ${ada.id}: 2 events`)
    const text = run.stdout
    expect(text).toMatch(
      /#\d+ {2}\S+ \S+ UTC {2}User\.create v2 {2}by systemActor=seed {2}requestId=req-2 {2}event \d+/,
    )
    expect(text).toMatch(new RegExp(`User\\.rename v1  by userId=${ada.id}  requestId=req-5`))
    expect(text).toContain('    name            null → "Ada"')
    expect(text).toContain('    hashedPassword  null → •••')
    expect(text).toMatch(/ {4}name +"Ada" → "Ada Lovelace"/)
    expect(text).not.toContain('sha256:')
  })

  it('prints history as JSON lines; --reveal shows the decrypted hash', async () => {
    const { ada } = fx.scenario
    const entries = jsonLines<HistoryEntry>(await fx.cli(['history', 'User', ada.id, '--json']))
    expect(entries.map((e) => e.action)).toEqual(['create', 'rename'])
    // A masked value is a marker scripts can test for, not a string that could be a real value.
    expect(entries[0]!.changes.hashedPassword).toEqual({ from: null, to: { $masked: true } })
    expect(entries[1]!.changes.name).toEqual({ from: 'Ada', to: 'Ada Lovelace' })
    const revealed = jsonLines<HistoryEntry>(await fx.cli(['history', 'User', ada.id, '--json', '--reveal']))
    expect(revealed[0]!.changes.hashedPassword!.to).toMatch(/^sha256:/)
  })

  it('shows legacy v1 events in the history of the records they created', async () => {
    const [grace] = fx.scenario.legacyUserIds
    const run = await fx.cli(['history', 'User', grace!])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/User\.create v1 {2}by systemActor=legacy-app/)
    expect(run.stdout).toContain('name       null → "Grace"')
  })

  it('rebuilds a record at a time, just after an event, and now', async () => {
    const { article } = fx.scenario
    const archive = articleEvents.find((e) => e.action === 'archive')!
    const atArchive = await fx.cli(['state', 'Article', article.id, '--at', archive.occurredAt])
    expect(atArchive.code).toBe(0)
    expect(atArchive.lines[0]).toBe(
      `Article ${article.id} at ${archive.occurredAt.replace('T', ' ').replace('Z', '')} UTC`,
    )
    expect(atArchive.stdout).toMatch(/ {2}status +"archived"\n/)
    expect(atArchive.stdout).toMatch(/ {2}deletedAt +null\n/)

    const afterCreate = await fx.cli([
      'state',
      'Article',
      article.id,
      '--event',
      String(articleEvents[0]!.id),
      '--json',
    ])
    expect(JSON.parse(afterCreate.stdout)).toMatchObject({ id: article.id, status: 'draft', deletedAt: null })

    const now = await fx.cli(['state', 'Article', article.id, '--json'])
    const live = await fx.app.get((await import('../../examples/accounts/resources.js')).Article, article.id)
    expect(JSON.parse(now.stdout)).toEqual(live)
    expect(live!.deletedAt).not.toBeNull()
  })

  it('masks sensitive columns of a state unless --reveal', async () => {
    const { ada } = fx.scenario
    const masked = JSON.parse((await fx.cli(['state', 'User', ada.id, '--json'])).stdout)
    expect(masked).toMatchObject({ name: 'Ada Lovelace', hashedPassword: { $masked: true } })
    const revealed = JSON.parse((await fx.cli(['state', 'User', ada.id, '--json', '--reveal'])).stdout)
    expect(revealed.hashedPassword).toMatch(/^sha256:[0-9a-f]{64}$/)
    const human = await fx.cli(['state', 'User', ada.id])
    expect(human.stdout).toMatch(/ {2}hashedPassword +•••\n/)
  })

  it('says when the record did not exist yet at that time', async () => {
    const { article } = fx.scenario
    const run = await fx.cli(['state', 'Article', article.id, '--at', '2000-01-01'])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(`Article ${article.id} did not exist yet at 2000-01-01 00:00:00 UTC\n`)
    expect((await fx.cli(['state', 'Article', article.id, '--at', '2000-01-01', '--json'])).stdout).toBe(
      'null\n',
    )
  })

  it('refuses unknown resources, malformed ids, events and times with exit code 2', async () => {
    const { ada } = fx.scenario
    const cases: [string[], RegExp][] = [
      [
        ['history', 'Nope', ada.id],
        /^error: unknown resource "Nope": expected one of Org, User, Membership, Article\n$/,
      ],
      [['history', 'User', 'not-a-uuid'], /^error: invalid User id "not-a-uuid": /],
      [['history', 'Membership', 'x1'], /^error: invalid Membership id "x1": /],
      [['history', 'User'], /^error: missing <id>\nusage: rewind history <resource> <id> \[options\]\n$/],
      [['history', 'User', ada.id, 'more'], /^error: unexpected argument "more"/],
      [
        ['state', 'User', ada.id, '--at', 'last tuesday'],
        /^error: invalid --at "last tuesday": expected an ISO 8601 time/,
      ],
      [
        ['state', 'User', ada.id, '--event', 'latest'],
        /^error: invalid --event "latest": expected an event id/,
      ],
      [
        ['state', 'User', ada.id, '--at', '2026-01-01', '--event', '1'],
        /^error: pass --at or --event, not both\n$/,
      ],
      [['state', 'User', ada.id, '--when', 'now'], /^error: unknown option --when for `rewind state`/],
    ]
    for (const [args, message] of cases) {
      const run = await fx.cli(args)
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(run.stderr).toMatch(message)
    }
    // Memberships have integer ids: a number is accepted.
    expect((await fx.cli(['history', 'Membership', '1'])).code).toBe(0)
  })

  it('a well-formed id of a record or event the log does not hold is a failure: exit code 1', async () => {
    const { ada } = fx.scenario
    const nobody = randomUUID()
    const cases: [string[], RegExp][] = [
      [['history', 'User', nobody], new RegExp(`^error: no User with id ${nobody} in the event log\\n$`)],
      [['history', 'User', nobody, '--json'], /^error: no User with id .* in the event log\n$/],
      [['state', 'User', nobody], new RegExp(`^error: no User with id ${nobody} in the event log\\n$`)],
      [['history', 'Membership', '999'], /^error: no Membership with id 999 in the event log\n$/],
      [
        ['state', 'User', ada.id, '--event', '999999'],
        /^error: --event 999999: no event with this id \(see the ID column of `rewind events`\)\n$/,
      ],
    ]
    for (const [args, message] of cases) {
      const run = await fx.cli(args)
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 1, stdout: '' })
      expect(run.stderr).toMatch(message)
    }
  })

  it('suggests the resource meant: the same name in another case, or one a typo or two away', async () => {
    const { ada, article } = fx.scenario
    const expected = '(expected one of Org, User, Membership, Article)'
    const cases: [string[], string][] = [
      [['history', 'user', ada.id], `unknown resource "user": did you mean "User"? ${expected}`],
      [['state', 'ARTICLE', article.id], `unknown resource "ARTICLE": did you mean "Article"? ${expected}`],
      [['history', 'Artcle', article.id], `unknown resource "Artcle": did you mean "Article"? ${expected}`],
      [
        ['state', 'Memberships', '1'],
        `unknown resource "Memberships": did you mean "Membership"? ${expected}`,
      ],
    ]
    for (const [args, message] of cases) {
      const run = await fx.cli(args)
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(run.stderr).toBe(`error: ${message}\n`)
    }
  })

  it('masks sensitive values in --json as {"$masked":true}, keeps null as null, and ••• in tables', async () => {
    // Linus was created by a v1 event, without a password: his hashedPassword is null, and null reveals nothing.
    const [, linus] = fx.scenario.legacyUserIds
    const state = JSON.parse((await fx.cli(['state', 'User', linus!, '--json'])).stdout)
    expect(state.hashedPassword).toBeNull()
    const { ada } = fx.scenario
    const entries = jsonLines<HistoryEntry>(await fx.cli(['history', 'User', ada.id, '--json']))
    expect(entries[0]!.data.password).toEqual({ $masked: true })
    expect(entries[0]!.changedAttributes.hashedPassword).toEqual({ $masked: true })
    const human = await fx.cli(['history', 'User', ada.id])
    expect(human.stdout).not.toContain('$masked')
  })
})
