/**
 * A statement's text with some of its parameters written in as literals, and the others numbered again in order:
 * for a statement whose parameters at those numbers are the same on every call (actions/compiled-write.ts), so
 * that neither the client nor the server handles them per call. Only Rewind's own statement texts are given:
 * their placeholders are `$n::type` (see params.ts `slot`), their strings and identifiers quoted with `'` and `"`.
 * Undefined when a placeholder to inline has no cast after it (its literal would have no type).
 */
export function inlineParameters(
  text: string,
  inline: ReadonlyMap<number, string | null>,
): string | undefined {
  // A parameter kept takes its number less the number of those inlined before it: the values keep their order.
  const inlined = [...inline.keys()]
  let out = ''
  let from = 0
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === "'" || c === '"') {
      // A quoted string or identifier (a doubled quote inside closes and opens it again: the same text).
      const end = text.indexOf(c, i + 1)
      i = end < 0 ? text.length : end + 1
      continue
    }
    if (c !== '$') {
      i++
      continue
    }
    let j = i + 1
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++
    if (j === i + 1) {
      i++
      continue
    }
    const n = Number(text.slice(i + 1, j))
    out += text.slice(from, i)
    if (inline.has(n)) {
      if (!text.startsWith('::', j)) return undefined
      out += literal(inline.get(n) ?? null)
    } else out += `$${n - inlined.filter((k) => k < n).length}`
    from = j
    i = j
  }
  return out + text.slice(from)
}

/** A text value as an SQL literal, whatever `standard_conforming_strings` says (an escape string). */
function literal(value: string | null): string {
  if (value === null) return 'NULL'
  return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`
}
