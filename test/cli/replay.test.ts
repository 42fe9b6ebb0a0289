import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ReplayResult, RewindEvent } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { type AccountsFixture, openAccounts, snapshot } from './support.js'

describe.each(backends)('rewind replay, verify and check on $name', (backend) => {
  let fx: AccountsFixture
  let all: RewindEvent[]
  let original: Record<string, unknown[]>

  const adaName = async () =>
    (await fx.app.database.query('SELECT name FROM users WHERE id = $1', [fx.scenario.ada.id]))[0]?.name
  const tamper = () =>
    fx.app.database.query(`UPDATE users SET name = 'tampered' WHERE id = $1`, [fx.scenario.ada.id])

  beforeAll(async () => {
    fx = await openAccounts(backend)
    all = (await fx.app.events({ limit: 1000 })).events
    original = await snapshot(fx.app)
  })
  afterAll(() => fx?.close())
  // Every test starts from the scenario's tables; a replay of the whole log restores them.
  beforeEach(async () => {
    await fx.app.replay()
  })

  it('verify passes on untouched tables, and check agrees', async () => {
    const run = await fx.cli(['verify'])
    expect(run).toMatchObject({ code: 0, stderr: '' })
    expect(run.stdout).toBe(`✓ Replaying ${all.length} events reproduces every tracked table exactly\n`)
    const json = await fx.cli(['verify', '--json'])
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, eventsApplied: all.length, differences: [] })
    const check = await fx.cli(['check'])
    expect(check.code).toBe(0)
    expect(check.stdout).toBe(`✓ ${all.length} events and the tables agree\n`)
  })

  it('verify exits 1 and lists a change made behind its back, sensitive values masked', async () => {
    await tamper()
    await fx.app.database.query(`UPDATE users SET hashed_password = 'sha256:forged' WHERE id = $1`, [
      fx.scenario.charles.id,
    ])
    await fx.app.database.query('DELETE FROM articles')
    const run = await fx.cli(['verify'])
    expect(run.code).toBe(1)
    expect(run.lines[0]).toBe(`✗ 3 rows differ between the live tables and a replay of ${all.length} events:`)
    expect(run.stdout).toContain(
      `changed\t${fx.scenario.ada.id}\tname: live "tampered", replayed "Ada Lovelace"`,
    )
    expect(run.stdout).toContain(`changed\t${fx.scenario.charles.id}\thashedPassword: live •••, replayed •••`)
    expect(run.stdout).toContain(`extra\t${fx.scenario.article.id}\trow the replay produces that is not live`)
    expect(run.stdout).not.toContain('sha256:')
    expect(run.lines.at(-1)).toBe(
      'Nothing was changed: the replay ran in a transaction that was rolled back.',
    )
    expect(await adaName()).toBe('tampered')

    const json = JSON.parse((await fx.cli(['verify', '--json'])).stdout)
    expect(json.ok).toBe(false)
    const users = json.differences.find((d: { resource: string }) => d.resource === 'User')
    expect(users.rows).toContainEqual({
      id: fx.scenario.ada.id,
      kind: 'changed',
      columns: { name: { live: 'tampered', replayed: 'Ada Lovelace' } },
    })
    expect(users.rows).toContainEqual({
      id: fx.scenario.charles.id,
      kind: 'changed',
      columns: { hashedPassword: { live: { $masked: true }, replayed: { $masked: true } } },
    })
    const check = await fx.cli(['check'])
    expect(check.code).toBe(1)
    expect(check.stdout).toMatch(/^✗ \d+ findings/)
  })

  it('verify and check agree with the number of rows and columns: "1 row differs", "name and email differ"', async () => {
    const { ada } = fx.scenario
    const finding = async () => {
      const check = await fx.cli(['check'])
      expect(check.code).toBe(1)
      return check.stdout.split('\n').find((l) => l.startsWith('state-differs\t'))
    }
    await tamper()
    const one = await fx.cli(['verify'])
    expect(one.code).toBe(1)
    expect(one.lines[0]).toBe(`✗ 1 row differs between the live tables and a replay of ${all.length} events:`)
    expect(await finding()).toBe(`state-differs\tUser "${ada.id}": name differs from the log`)

    await fx.app.database.query(`UPDATE users SET email = 'tampered@example.com' WHERE id = $1`, [ada.id])
    expect(await finding()).toBe(`state-differs\tUser "${ada.id}": email and name differ from the log`)
    await fx.app.database.query(`UPDATE users SET hashed_password = 'sha256:forged' WHERE id = $1`, [ada.id])
    expect(await finding()).toBe(
      `state-differs\tUser "${ada.id}": email, name and hashedPassword differ from the log`,
    )
  })

  it('check --json masks the sensitive values of a finding unless --reveal', async () => {
    const { charles } = fx.scenario
    await fx.app.database.query(`UPDATE users SET hashed_password = 'sha256:forged' WHERE id = $1`, [
      charles.id,
    ])
    const run = await fx.cli(['check', '--json'])
    expect(run.code).toBe(1)
    expect(run.stdout).not.toContain('sha256:')
    const report = JSON.parse(run.stdout)
    expect(report.findings).toContainEqual({
      kind: 'state-differs',
      resource: 'User',
      id: charles.id,
      columns: { hashedPassword: { live: { $masked: true }, fromLog: { $masked: true } } },
      message: `User "${charles.id}": hashedPassword differs from the log`,
    })
    const revealed = JSON.parse((await fx.cli(['check', '--json', '--reveal'])).stdout)
    const columns = revealed.findings.find((f: { kind: string }) => f.kind === 'state-differs').columns
    expect(columns.hashedPassword.live).toBe('sha256:forged')
    expect(columns.hashedPassword.fromLog).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('verify and check refuse a negative number with the real message, exit code 2', async () => {
    const cases: [string[], string][] = [
      [['verify', '--max-rows', '-1'], 'invalid --max-rows "-1": expected a whole number of at least 1'],
      [
        ['check', '--max-findings', '-5'],
        'invalid --max-findings "-5": expected a whole number of at least 1',
      ],
    ]
    for (const [args, message] of cases) {
      const run = await fx.cli(args)
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(run.stderr).toBe(`error: ${message}\n`)
    }
  })

  it('without --yes and without a terminal, replay refuses with exit code 2 and changes nothing', async () => {
    await tamper()
    const run = await fx.cli(['replay'])
    expect(run).toMatchObject({ code: 2, stdout: '' })
    expect(run.stderr).toBe(
      'error: replay clears the tracked tables before rebuilding them; pass --yes to confirm (no terminal to ask on)\n',
    )
    expect(await adaName()).toBe('tampered')
  })

  it('on a terminal, replay asks first: "n" cancels with exit code 1, "y" replays with a progress bar', async () => {
    await tamper()
    const no = await fx.cli(['replay'], { isTTY: true, input: 'n\n' })
    expect(no.code).toBe(1)
    expect(no.stderr).toBe(
      'Replay clears orgs, users, memberships, articles and rebuilds them from the event log. Continue? [y/N] ',
    )
    expect(no.stdout).toBe('Replay cancelled; nothing was changed.\n')
    expect(await adaName()).toBe('tampered')
    // No answer at all (the input ends) is a no.
    expect((await fx.cli(['replay'], { isTTY: true })).code).toBe(1)

    const yes = await fx.cli(['replay', '--batch-size', '4'], {
      isTTY: true,
      input: 'y\n',
      env: { ...fx.env, NO_COLOR: '1' },
    })
    expect(yes.code).toBe(0)
    expect(yes.stderr).toContain('Continue? [y/N] ')
    expect(yes.stderr).toMatch(
      new RegExp(`\\r█{30} ${all.length}/${all.length} events \\(100%\\)  [\\d,]+ events/s\\x1b\\[K\\n$`),
    )
    expect(yes.lines[0]).toMatch(
      new RegExp(`^Replayed ${all.length} events in \\d+ ms \\([\\d,]+ events/s\\)$`),
    )
    expect(yes.stdout).toMatch(/User\.createV1 +2\n/)
    expect(await adaName()).toBe('Ada Lovelace')
    expect(await snapshot(fx.app)).toEqual(original)
  })

  it('with --yes, replay prints plain progress lines and the result, and restores the tables', async () => {
    await tamper()
    const run = await fx.cli(['replay', '--yes'])
    expect(run.code).toBe(0)
    expect(run.stderr).toMatch(
      new RegExp(`^replay: ${all.length}/${all.length} events \\(100%\\), [\\d,]+ events/s\\n$`),
    )
    expect(run.lines[0]).toMatch(new RegExp(`^Replayed ${all.length} events in \\d+ ms`))
    expect(run.lines).toContain('ACTION\tRUN')
    expect(run.lines).toContain('User.createV1\t2')
    expect(run.lines).toContain('Membership.create\t2')
    expect(await snapshot(fx.app)).toEqual(original)
    // Nothing new was logged.
    expect((await fx.app.events({ limit: 1000 })).events).toHaveLength(all.length)

    const json = await fx.cli(['replay', '--yes', '--json'])
    const result = JSON.parse(json.stdout) as ReplayResult
    expect(result).toMatchObject({ eventsApplied: all.length, skipped: [], counts: { 'User.createV1': 2 } })
  })

  it('replays up to an event or a time', async () => {
    const adaCreate = all.find((e) => e.recordId === fx.scenario.ada.id)!
    const run = await fx.cli(['replay', '--until-event', String(adaCreate.id), '--yes'])
    expect(run.code).toBe(0)
    expect(run.lines[0]).toMatch(
      new RegExp(
        `^Replayed ${adaCreate.position} events up to event ${adaCreate.id} \\(#${adaCreate.position} User\\.create v2, `,
      ),
    )
    const users = await fx.app.database.query('SELECT name FROM users ORDER BY created_at')
    expect(users.map((u) => u.name)).toEqual(['Grace', 'Linus', 'Ada'])
    expect(await fx.app.database.query('SELECT * FROM articles')).toEqual([])

    // The legacy events occurred a day before the others.
    const byTime = await fx.cli(['replay', '--until-time', all[1]!.occurredAt, '--yes'])
    expect(byTime.code).toBe(0)
    expect((await fx.app.database.query('SELECT name FROM users ORDER BY name')).map((u) => u.name)).toEqual([
      'Grace',
      'Linus',
    ])
    expect(await fx.app.database.query('SELECT * FROM orgs')).toEqual([])
  })

  it('refuses bad arguments before asking or touching anything', async () => {
    await tamper()
    const cases: [string[], RegExp][] = [
      [['--until-event', 'first'], /^error: invalid --until-event "first": expected an event id/],
      [['--until-time', 'noon', '--yes'], /^error: invalid --until-time "noon": expected an ISO 8601 time/],
      [
        ['--until-event', '1', '--until-time', '2026-01-01'],
        /^error: pass --until-event or --until-time, not both\n$/,
      ],
      [['--tenant', 'acme', '--yes'], /^error: --tenant: no resource of this app is multitenant\n$/],
      [['--batch-size', '0', '--yes'], /^error: invalid --batch-size "0"/],
      [
        ['--batch-size', '-1', '--yes'],
        /^error: invalid --batch-size "-1": expected a whole number from 1 to 100000\n$/,
      ],
      [['--force'], /^error: unknown option --force for `rewind replay`/],
    ]
    for (const [args, message] of cases) {
      const run = await fx.cli(['replay', ...args], {
        isTTY: true,
        input: 'y\n',
        env: { ...fx.env, NO_COLOR: '1' },
      })
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(run.stderr).toMatch(message)
      expect(run.stderr).not.toContain('Continue?')
    }
    expect(await adaName()).toBe('tampered')
  })

  it('an --until-event the log does not hold is a failure (exit code 1), found before asking or touching anything', async () => {
    await tamper()
    for (const args of [
      ['--until-event', '999999', '--yes'],
      ['--until-event', '999999'],
    ]) {
      const run = await fx.cli(['replay', ...args], {
        isTTY: true,
        input: 'y\n',
        env: { ...fx.env, NO_COLOR: '1' },
      })
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 1, stdout: '' })
      expect(run.stderr).toBe(
        'error: --until-event 999999: no event with this id (see the ID column of `rewind events`)\n',
      )
    }
    expect(await adaName()).toBe('tampered')
  })

  it('a replay that fails exits 1 with one line naming the event, and leaves the tables as they were', async () => {
    await fx.app.database.query(
      `INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes)
       VALUES ('0190a6d4-0000-7000-8000-0000000000ff', 'Article', 'archive', 'update', 1, '{}', '{}')`,
    )
    try {
      await tamper()
      const run = await fx.cli(['replay', '--yes'])
      expect(run.code).toBe(1)
      const errorLine = run.stderr.split('\n').find((l) => l.startsWith('error:'))
      expect(errorLine).toMatch(
        /^error: REPLAY: replay failed at event \d+ \(position \d+, Article\.archive v1\): /,
      )
      expect(run.stderr).not.toMatch(/\n\s+at /)
      expect(await adaName()).toBe('tampered')

      const verbose = await fx.cli(['replay', '--yes', '--verbose'])
      expect(verbose.stderr).toMatch(/\n\s+at /)

      const skip = await fx.cli(['replay', '--yes', '--skip-missing'])
      expect(skip.code).toBe(0)
      expect(skip.stdout).toMatch(/Skipped 1 event:\nID\tPOS\tEVENT\tREASON\n\d+\t\d+\tArticle\.archive\t/)
    } finally {
      // The log is append-only: remove the forged event the way an operator would, behind the trigger.
      await fx.app.database.query('ALTER TABLE events DISABLE TRIGGER USER')
      await fx.app.database.query(
        `DELETE FROM events WHERE record_id = '0190a6d4-0000-7000-8000-0000000000ff'`,
      )
      await fx.app.database.query('ALTER TABLE events ENABLE TRIGGER USER')
    }
  })
})
