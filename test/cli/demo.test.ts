import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runDemo } from '../../examples/accounts/demo.js'
import { buildCli } from '../../src/cli/index.js'

async function demo(dataDir?: string): Promise<string> {
  const lines: string[] = []
  await runDemo({ out: (line) => lines.push(line), ...(dataDir ? { dataDir } : {}) })
  return lines.join('\n')
}

describe('the demo (examples/accounts)', () => {
  it('prints the actions, the timeline, a history, an earlier state, a replay and a successful verification', async () => {
    const text = await demo()
    expect(text).toContain('(in memory)')
    // The actions, refusals included.
    expect(text).toMatch(
      /seed +User\.create v2 +Ada: password hashed; the after-action hook made her an admin member/,
    )
    expect(text).toMatch(
      /Ada +Article\.archive +refused: The article is already archived \(nothing written\)/,
    )
    // The timeline: position, time, actor, resource.action and version, changed fields (sensitive ones masked).
    expect(text).toMatch(/POS +TIME \(UTC\) +ACTOR +EVENT +CHANGED FIELDS/)
    expect(text).toMatch(
      /\n {2}1 +\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} +legacy-app \(system\) +User\.create v1 +name="Grace"/,
    )
    expect(text).toMatch(/seed \(system\) +User\.create v2 +name="Ada" .*password=•••/)
    expect(text).toMatch(/Ada Lovelace \(user\) +Article\.archive v1 +status="archived"/)
    expect(text).not.toContain('sha256:')
    // The history, and the state at an earlier moment next to the current one.
    expect(text).toContain('History of the article "Notes on the Analytical Engine"')
    expect(text).toMatch(/Article\.archive v1 {2}by Ada Lovelace \(user\)\n +status {5}"draft" → "archived"/)
    expect(text).toMatch(/FIELD +AT \d\d:\d\d:\d\d\.\d{3} +NOW\n.*\n {2}status +"archived" +"draft"/)
    // The replay, with its progress, its result and the routed v1 events.
    expect(text).toMatch(/\[█{30}\] 13\/13 events/)
    expect(text).toMatch(/Replayed 13 events in \d+ ms/)
    expect(text).toMatch(/User\.createV1 +2/)
    expect(text).toContain('2 memberships, no duplicates')
    expect(text).toContain(
      '✓ Every row of orgs, users, memberships, articles is identical to before the replay',
    )
    expect(text).toContain('✓ verifyReplay: replaying 13 events reproduces the live tables exactly')
    expect(text).not.toMatch(/✗|DIFFER/)
    // It ends by saying how to open the studio on the data it wrote.
    expect(text.trimEnd().split('\n').slice(-5).join('\n')).toContain(
      'npm run demo -- --data-dir .rewind-data',
    )
    expect(text.trimEnd().split('\n').at(-1)).toMatch(
      /^ +npm run rewind -- studio --config examples\/accounts\/rewind\.config\.ts +# prints the address to open, with its token$/,
    )
  })

  it('keeps its database in --data-dir and runs again on top of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewind-demo-'))
    try {
      expect(await demo(dir)).toContain(`(data in ${dir}, run 1)`)
      const second = await demo(dir)
      expect(second).toContain(`(data in ${dir}, run 2)`)
      expect(second).toContain('(13 events of earlier runs not shown)')
      expect(second).toMatch(/Replayed 26 events/)
      expect(second).toContain('✓ verifyReplay: replaying 26 events reproduces the live tables exactly')
      expect(second).toContain(
        `REWIND_DATA_DIR=${dir} npm run rewind -- events --config examples/accounts/rewind.config.ts`,
      )
      expect(second).toContain(
        `REWIND_DATA_DIR=${dir} npm run rewind -- studio --config examples/accounts/rewind.config.ts`,
      )
      const timeline = /The article's timeline is then at (\/records\/Article\/[0-9a-f-]{36})$/.exec(
        second.trimEnd(),
      )?.[1]
      expect(timeline).toBeDefined()
      // What it says works: the studio on the demo's data, through its rewind.config.ts.
      const stop = new AbortController()
      let stdout = ''
      let opened: () => void = () => {}
      const ready = new Promise<void>((resolve) => {
        opened = resolve
      })
      const running = buildCli({
        env: { REWIND_DATA_DIR: dir },
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        isTTY: false,
        signal: stop.signal,
        stdout: {
          write: (text: string) => {
            stdout += text
            if (stdout.includes('Open http')) opened()
          },
        },
        stderr: { write: () => true },
      }).run(['studio', '--port', '0', '--config', 'examples/accounts/rewind.config.ts'])
      await Promise.race([ready, running])
      const url = new URL(/Open (\S+)/.exec(stdout)![1]!)
      const page = await fetch(`${url.origin}${timeline}`, {
        headers: { authorization: `Bearer ${url.searchParams.get('token')}` },
      })
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('Notes on the Analytical Engine')
      stop.abort()
      expect(await running).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
