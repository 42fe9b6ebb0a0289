import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RewindEvent } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { type AccountsFixture, jsonLines, openAccounts } from './support.js'

describe.each(backends)('rewind events on $name', (backend) => {
  let fx: AccountsFixture
  let all: RewindEvent[]

  beforeAll(async () => {
    fx = await openAccounts(backend)
    all = (await fx.app.events({ limit: 1000 })).events
  })
  afterAll(() => fx?.close())

  it('lists the whole log in position order, tab-separated off a terminal', async () => {
    const run = await fx.cli(['events'])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('')
    expect(run.lines[0]).toBe('POS\tID\tOCCURRED AT (UTC)\tEVENT\tRECORD\tACTOR\tCHANGES')
    const rows = run.lines.slice(1, -1).map((l) => l.split('\t'))
    expect(rows.map((r) => Number(r[0]))).toEqual(all.map((e) => e.position))
    expect(rows[0]).toEqual(
      expect.arrayContaining(['User.create v1', fx.scenario.legacyUserIds[0], 'systemActor=legacy-app']),
    )
    expect(run.lines.at(-1)).toBe(`${all.length} events`)
    // The record's own id is not repeated among the changes; sensitive values are masked.
    const adaCreate = rows.find((r) => r[4] === fx.scenario.ada.id && r[3] === 'User.create v2')!
    expect(adaCreate[6]).toContain('password=••• ')
    expect(adaCreate[6]).toContain('hashedPassword=•••')
    expect(adaCreate[6]).not.toContain(`id="${fx.scenario.ada.id}"`)
  })

  it('prints JSON lines for scripts, masking sensitive values unless --reveal', async () => {
    const run = await fx.cli(['events', '--json'])
    expect(run.code).toBe(0)
    const events = jsonLines<RewindEvent>(run)
    expect(events.map((e) => e.id)).toEqual(all.map((e) => e.id))
    const adaCreate = events.find((e) => e.recordId === fx.scenario.ada.id && e.action === 'create')!
    expect(adaCreate).toMatchObject({
      resource: 'User',
      version: 2,
      metadata: { requestId: 'req-2' },
      actor: { userId: null, systemActor: 'seed' },
      data: { password: { $masked: true }, email: 'ada.1@example.com' },
      changedAttributes: { hashedPassword: { $masked: true } },
    })
    const revealed = jsonLines<RewindEvent>(
      await fx.cli(['events', '--json', '--reveal', '--record', fx.scenario.ada.id]),
    )
    expect(revealed[0]!.data.password).toBe('correct horse battery')
    expect(revealed[0]!.changedAttributes.hashedPassword).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('filters by resource, record, action and actor', async () => {
    const positions = async (...args: string[]) =>
      jsonLines<RewindEvent>(await fx.cli(['events', '--json', ...args])).map(
        (e) => `${e.resource}.${e.action}`,
      )
    expect(await positions('--resource', 'Article')).toEqual([
      'Article.create',
      'Article.archive',
      'Article.unarchive',
      'Article.softDelete',
    ])
    expect(await positions('--resource', 'Article', '--action', 'archive')).toEqual(['Article.archive'])
    expect(await positions('--record', fx.scenario.ada.id)).toEqual(['User.create', 'User.rename'])
    expect(await positions('--actor', 'systemActor=legacy-app')).toEqual(['User.create', 'User.create'])
    expect(await positions('--actor', 'systemActor=seed')).toEqual([
      'Org.create',
      'User.create',
      'Membership.create',
      'User.create',
      'Membership.create',
    ])
    const byAda = await positions('--actor', `userId=${fx.scenario.ada.id}`)
    expect(byAda).toHaveLength(6)
    expect(byAda).toContain('Membership.changeRole')
    expect(await positions('--actor', `userId=${fx.scenario.ada.id}`, '--resource', 'User')).toEqual([
      'User.rename',
    ])
    expect(await positions('--tenant', 'acme')).toEqual([])
  })

  it('filters by time (ISO 8601, microseconds kept) and by position', async () => {
    const ids = async (...args: string[]) =>
      jsonLines<RewindEvent>(await fx.cli(['events', '--json', ...args])).map((e) => e.position)
    const [first, second, third] = all
    // The two legacy events occurred a day earlier than the rest.
    expect(await ids('--to', second!.occurredAt)).toEqual([first!.position, second!.position])
    expect(await ids('--from', third!.occurredAt)).toEqual(all.slice(2).map((e) => e.position))
    expect(await ids('--to', '2000-01-01')).toEqual([])
    expect(await ids('--from', '2000-01-01 00:00:00', '--until-position', '3')).toEqual([1, 2, 3])
    expect(await ids('--after-position', '10')).toEqual(
      all.filter((e) => e.position > 10).map((e) => e.position),
    )
    const none = await fx.cli(['events', '--to', '2000-01-01T00:00:00+02:00'])
    expect(none.code).toBe(0)
    expect(none.lines).toEqual(['no events match'])
  })

  it('pages with --limit and prints the cursor of the next page', async () => {
    const page1 = await fx.cli(['events', '--limit', '3', '--resource', 'User'])
    expect(page1.code).toBe(0)
    const users = all.filter((e) => e.resource === 'User')
    expect(users).toHaveLength(5)
    expect(page1.lines).toHaveLength(1 + 3 + 1)
    const cursor = users[2]!.position
    expect(page1.lines.at(-1)).toBe(
      `3 events; next page: rewind events --after-position ${cursor} --resource User --limit 3`,
    )
    const page2 = await fx.cli([
      'events',
      '--json',
      '--limit',
      '3',
      '--resource',
      'User',
      '--after-position',
      String(cursor),
    ])
    // The last page: no cursor.
    expect(jsonLines<RewindEvent>(page2).map((e) => e.position)).toEqual(
      users.slice(3).map((e) => e.position),
    )
    expect(page2.stderr).toBe('')

    const json = await fx.cli(['events', '--json', '--limit', '4'])
    expect(jsonLines(json)).toHaveLength(4)
    expect(json.stderr).toBe(`next page: --after-position ${all[3]!.position}\n`)
    const everything = await fx.cli(['events', '--json', '--limit', '4', '--all'])
    expect(jsonLines(everything)).toHaveLength(all.length)
    expect(everything.stderr).toBe('')
  })

  it('aligns columns and colours the header on a terminal, without colours when NO_COLOR is set', async () => {
    const tty = await fx.cli(['events', '--limit', '3'], { isTTY: true, columns: 300 })
    expect(tty.code).toBe(0)
    expect(tty.stdout).not.toContain('\t')
    const BOLD = '\x1b[1m'
    expect(tty.lines[0]!.startsWith(`${BOLD}POS  ID  OCCURRED AT (UTC)`)).toBe(true)
    expect(tty.lines[0]!.endsWith('CHANGES\x1b[22m')).toBe(true)
    const starts = tty.lines.slice(1, 4).map((l) => l.search(/(User|Org)\.create v/))
    expect(new Set(starts).size).toBe(1)
    expect(tty.lines[1]).toMatch(/systemActor=legacy-app +name="Grace" email=/)
    const plain = await fx.cli(['events', '--limit', '3'], {
      isTTY: true,
      columns: 300,
      env: { ...fx.env, NO_COLOR: '1' },
    })
    expect(plain.stdout).not.toContain('\x1b[')
    expect(plain.lines[0]).toMatch(/^POS {2}ID/)
  })

  it('on a narrow terminal, puts the changes under each row, wrapped, instead of cutting them', async () => {
    const run = await fx.cli(['events', '--limit', '2'], {
      isTTY: true,
      columns: 100,
      env: { NO_COLOR: '1', ...fx.env },
    })
    expect(run.lines[0]).toMatch(/^POS {2}ID {2}OCCURRED AT \(UTC\) +EVENT +RECORD +ACTOR$/)
    expect(run.lines[1]).toMatch(/^1 +\S+ +\S+ \S+ +User\.create v1 +\S+ +systemActor=legacy-app$/)
    expect(run.lines[2]).toMatch(/^ {4}name="Grace" email="grace\.1@legacy\.example"/)
    const wrapped = run.lines.filter((l) => l.startsWith('    '))
    expect(wrapped.length).toBeGreaterThan(2)
    expect(Math.max(...wrapped.map((l) => l.length))).toBeLessThanOrEqual(100)
  })

  it('refuses bad arguments with exit code 2 and one clear line', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--resource', 'Nope'],
        /^error: unknown resource "Nope": expected one of Org, User, Membership, Article\n$/,
      ],
      [['--from', 'yesterday'], /^error: invalid --from "yesterday": expected an ISO 8601 time/],
      [['--to', '2026-02-30'], /^error: invalid --to "2026-02-30"/],
      // The log keeps microseconds: a seventh digit would be rounded, so it is refused, as in the API.
      [
        ['--from', '2026-01-31T12:00:00.1234567Z'],
        /^error: invalid --from "2026-01-31T12:00:00\.1234567Z": more than 6 fractional digits/,
      ],
      [['--bogus'], /^error: unknown option --bogus for `rewind events` \(see `rewind events --help`\)\n$/],
      [['--limit'], /^error: option --limit needs a value/],
      [['--limit', '0'], /^error: invalid --limit "0": expected a whole number from 1 to 10000/],
      // A negative number is the option's value (node's parseArgs alone would take it for an option).
      [['--limit', '-3'], /^error: invalid --limit "-3": expected a whole number from 1 to 10000\n$/],
      [['--limit=-3'], /^error: invalid --limit "-3": expected a whole number from 1 to 10000\n$/],
      [
        ['--after-position', '-1'],
        /^error: invalid --after-position "-1": expected a whole number of at least 0\n$/,
      ],
      [
        ['--until-position', '-2'],
        /^error: invalid --until-position "-2": expected a whole number of at least 0\n$/,
      ],
      [['--limit', '-x'], /^error: option --limit needs a value/],
      [['-x'], /^error: unknown option -x for `rewind events`/],
      [['-3'], /^error: unknown option -3 for `rewind events`/],
      [
        ['--resource', 'user'],
        /^error: unknown resource "user": did you mean "User"\? \(expected one of Org, User, Membership, Article\)\n$/,
      ],
      [['--resource', 'Orgs'], /^error: unknown resource "Orgs": did you mean "Org"\? /],
      [['--after-position', 'ten'], /^error: invalid --after-position "ten"/],
      [['--actor', 'userId'], /^error: invalid --actor "userId": expected COLUMN=VALUE/],
      [
        ['--actor', 'nobody=1'],
        /^error: events: actor "nobody" is not an actor column \(actor columns: userId, systemActor\)/,
      ],
      [['--actor', 'userId=not-a-uuid'], /^error: events: actor\.userId /],
      [['extra'], /^error: unexpected argument "extra"\nusage: rewind events \[options\]\n$/],
    ]
    for (const [args, message] of cases) {
      const run = await fx.cli(['events', ...args])
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(run.stderr).toMatch(message)
    }
  })
})
