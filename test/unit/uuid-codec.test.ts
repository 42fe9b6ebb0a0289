import { pgTable, uuid } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { tableCodecs } from '../../src/columns/column-codec.js'
import { uuidv7 } from '../../src/util/uuidv7.js'

const codec = tableCodecs(pgTable('u', { id: uuid('id') })).get('id')!

/** What a uuid column accepts, written with regular expressions: the definition the codec's fast check must keep. */
function oracle(value: string): string | undefined {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return value
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(value)) return undefined
  return value.toLowerCase().replace(/^(.{8})-?(.{4})-?(.{4})-?(.{4})-?(.{12})$/, '$1-$2-$3-$4-$5')
}

describe('the uuid codec', () => {
  it('accepts exactly the canonical, upper-case and hyphen-less forms, and gives the canonical text', () => {
    const alphabet = '0123456789abcdefABCDEFg-/:\u0660 '
    const cases = [uuidv7(), uuidv7().toUpperCase(), uuidv7().replaceAll('-', ''), '', 'x', `${uuidv7()} `]
    for (let i = 0; i < 20_000; i++) {
      // A canonical id with one to three characters replaced, or dropped, or one added.
      const chars = [...uuidv7()]
      const edits = 1 + Math.floor(Math.random() * 3)
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(Math.random() * chars.length)
        const c = alphabet[Math.floor(Math.random() * alphabet.length)]!
        const kind = Math.random()
        if (kind < 0.7) chars[at] = c
        else if (kind < 0.85) chars.splice(at, 1)
        else chars.splice(at, 0, c)
      }
      cases.push(chars.join(''))
    }
    let accepted = 0
    for (const value of cases) {
      const cast = codec.fromApp(value)
      const expected = oracle(value)
      expect(cast.ok ? cast.value : undefined, JSON.stringify(value)).toBe(expected)
      if (cast.ok) accepted++
    }
    // Both sides of the check were exercised.
    expect(accepted).toBeGreaterThan(1000)
    expect(accepted).toBeLessThan(cases.length - 1000)
  })
})
