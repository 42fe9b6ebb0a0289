/** How far a typo may be from a known name and still be suggested: two edits catch `evnets` and `Artcle`. */
const MAX_DISTANCE = 2

/**
 * The known name the user most likely meant: the one that matches ignoring case, else the closest one at
 * most two edits away (ignoring case too; the first in `known`'s order on a tie); undefined when none is close.
 */
export function closestName(typed: string, known: readonly string[]): string | undefined {
  const lower = typed.toLowerCase()
  const sameCase = known.find((k) => k.toLowerCase() === lower)
  if (sameCase !== undefined) return sameCase
  let best: string | undefined
  let bestDistance = MAX_DISTANCE + 1
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}

/**
 * `unknown resource "post": did you mean "Post"? (expected one of Org, Post)`, or without a close name
 * `unknown resource "Nope": expected one of Org, Post`. `see` ends the message, for example a pointer to help.
 */
export function unknownNameMessage(
  what: string,
  typed: string,
  known: readonly string[],
  see?: string,
): string {
  const expected = `expected one of ${known.join(', ')}`
  const guess = closestName(typed, known)
  if (guess === undefined) return `unknown ${what} "${typed}": ${expected}${see ? ` (${see})` : ''}`
  return `unknown ${what} "${typed}": did you mean "${guess}"? (${expected}${see ? `; ${see}` : ''})`
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution))
    }
    previous = current
  }
  return previous[b.length]!
}
