/** Small printing helpers for the demo, kept apart so demo.ts reads as a tour of the API. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Styles, or identity functions when colours are off. */
export function palette(on: boolean) {
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s)
  return { bold: wrap(1, 22), dim: wrap(2, 22), green: wrap(32, 39), red: wrap(31, 39), cyan: wrap(36, 39) }
}

/** A section title padded with a rule to a fixed width. */
export function heading(title: string, width = 96): string {
  return `── ${title} ${'─'.repeat(Math.max(3, width - title.length - 4))}`
}

/** Rows under a header, indented by two spaces, columns aligned; the last column is cut to fit `width`. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  width = 120,
): string[] {
  const cells = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  const last = widths.length - 1
  const room = width - 2 - widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0)
  widths[last] = Math.max(header[last]!.length, Math.min(widths[last]!, room))
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s)
  return cells.map((r) => `  ${r.map((c, i) => cut(c, widths[i]!).padEnd(widths[i]!)).join('  ')}`.trimEnd())
}

/** A value for people: UUIDs shortened to their first 8 characters, strings quoted, the rest as JSON. */
export function show(value: unknown, max = Number.POSITIVE_INFINITY): string {
  if (typeof value === 'string' && UUID.test(value)) return `${value.slice(0, 8)}…`
  const text = JSON.stringify(value) ?? String(value)
  return text.length > max ? `${text.slice(0, max - 2)}…${text.at(-1) === '"' ? '"' : ''}` : text
}

/** `2026-01-31T12:00:00.123456Z` → `2026-01-31 12:00:00.123`. */
export function time(iso: string): string {
  return iso.replace('T', ' ').slice(0, 23)
}

/** A progress bar: `[██████░░░░] 6/10 events · 1,234 events/s · ETA 1 s`. */
export function progressBar(p: { done: number; total: number; eventsPerSecond: number }, width = 30): string {
  const filled = p.total ? Math.round((p.done / p.total) * width) : width
  const rate = Math.round(p.eventsPerSecond).toLocaleString('en-US')
  const left =
    p.done < p.total && p.eventsPerSecond > 0
      ? ` · ETA ${Math.ceil((p.total - p.done) / p.eventsPerSecond)} s`
      : ''
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${p.done}/${p.total} events · ${rate} events/s${left}`
}
