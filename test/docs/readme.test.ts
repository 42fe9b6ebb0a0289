import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it, vi } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('README first screen', () => {
  it('the ten-line example runs as pasted and prints what its comment says', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const block = /```ts\n([\s\S]*?)```/.exec(readme)![1]!
    const lines = block.trim().split('\n')
    expect(lines.length).toBeLessThanOrEqual(12)
    const expected = lines.at(-1)!.replace(/^\/\/ → /, '')
    const dir = mkdtempSync(join(root, 'test/docs/.tmp-'))
    try {
      const file = join(dir, 'readme-example.ts')
      // As pasted: 'rewind-es' resolves to this repository's source (vitest.config.ts); the packed package's
      // own test runs the same block against the tarball.
      writeFileSync(file, block)
      const log = vi.spyOn(console, 'log').mockImplementation(() => {})
      await import(pathToFileURL(file).href)
      const printed = log.mock.calls.map((args) =>
        args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '),
      )
      log.mockRestore()
      expect(printed).toHaveLength(1)
      // Compare structurally: the comment is util.inspect output, the call printed the same value.
      const value = JSON.parse(printed[0]!)
      expect(value).toEqual(JSON.parse(expected.replace(/'/g, '"').replace(/(\w+):/g, '"$1":')))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the projection example runs as pasted and prints what its comment says', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Projections and subscriptions'))
    const block = /```ts\n([\s\S]*?)```/.exec(section)![1]!
    const expected = block
      .trim()
      .split('\n')
      .at(-1)!
      .replace(/^\/\/ → /, '')
    const dir = mkdtempSync(join(root, 'test/docs/.tmp-'))
    try {
      const file = join(dir, 'readme-projection.ts')
      writeFileSync(file, block)
      const log = vi.spyOn(console, 'log').mockImplementation(() => {})
      await import(pathToFileURL(file).href)
      const printed = log.mock.calls.map((args) => args.map((a) => JSON.stringify(a)).join(' '))
      log.mockRestore()
      expect(printed).toHaveLength(1)
      expect(JSON.parse(printed[0]!)).toEqual(JSON.parse(expected.replace(/(\w+):/g, '"$1":')))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
