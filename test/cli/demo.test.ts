import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runDemo } from '../../examples/accounts/demo.js'

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
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
