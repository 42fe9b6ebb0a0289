/** Where the CLI writes: anything with `write(text)`, such as `process.stdout` or a test's collector. */
export interface OutputStream {
  write(text: string): unknown
  /** The terminal's width, when it is one. */
  readonly columns?: number | undefined
}

/** Styles that are identity functions when colours are off. */
export interface Palette {
  readonly bold: (text: string) => string
  readonly dim: (text: string) => string
  readonly red: (text: string) => string
  readonly green: (text: string) => string
  readonly yellow: (text: string) => string
  readonly cyan: (text: string) => string
}

const style =
  (on: boolean, open: number, close: number) =>
  (text: string): string =>
    on && text ? `\x1b[${open}m${text}\x1b[${close}m` : text

/**
 * Writes lines for people on a terminal (aligned tables, colours unless `NO_COLOR` is set) and for scripts
 * otherwise (tab-separated rows, no escape codes), the way `gh` does.
 */
export class Output {
  readonly color: Palette
  readonly #stdout: OutputStream
  readonly #stderr: OutputStream

  constructor(
    stdout: OutputStream,
    stderr: OutputStream,
    /** True when a person is reading: stdout is a terminal. */
    readonly isTTY: boolean,
    colors: boolean,
  ) {
    this.#stdout = stdout
    this.#stderr = stderr
    this.color = {
      bold: style(colors, 1, 22),
      dim: style(colors, 2, 22),
      red: style(colors, 31, 39),
      green: style(colors, 32, 39),
      yellow: style(colors, 33, 39),
      cyan: style(colors, 36, 39),
    }
  }

  /** The width available on the terminal (unbounded off a terminal). */
  get columns(): number {
    return this.isTTY ? (this.#stdout.columns ?? 120) : Number.POSITIVE_INFINITY
  }

  /** One line of the command's result, on stdout. */
  line(text = ''): void {
    this.#stdout.write(`${text}\n`)
  }

  /** One line of diagnostics (errors, progress, cursors for scripts), on stderr. */
  note(text: string): void {
    this.#stderr.write(`${text}\n`)
  }

  /** Raw text on stderr: the progress bar redraws itself with `\r`. */
  rawNote(text: string): void {
    this.#stderr.write(text)
  }

  /**
   * Rows under a header: aligned columns on a terminal; tab-separated lines otherwise (tabs and newlines
   * inside cells become spaces). On a terminal too narrow for the last column, it goes under each row,
   * indented and wrapped, instead of being cut to nothing.
   */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    if (!this.isTTY) {
      const clean = (cell: string) => cell.replace(/[\t\r\n]+/g, ' ')
      for (const row of [header, ...rows]) this.line(row.map(clean).join('\t'))
      return
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))))
    const last = widths.length - 1
    const before = widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0)
    const room = this.columns - before
    const render = (row: readonly string[], lastWidth: number) =>
      row
        .map((cell, i) => (i === last ? truncate(cell, lastWidth) : pad(cell, widths[i]!)))
        .join('  ')
        .trimEnd()
    if (room >= Math.min(widths[last]!, MIN_LAST_COLUMN)) {
      this.line(this.color.bold(render(header, widths[last]!)))
      for (const row of rows) this.line(render(row, room))
      return
    }
    this.line(this.color.bold(render(header.slice(0, last), 0)))
    for (const row of rows) {
      this.line(render(row.slice(0, last), 0))
      if (row[last]) for (const piece of wrap(row[last]!, this.columns - 4)) this.line(`    ${piece}`)
    }
  }

  /** `key  value` lines with the keys aligned (scripts use `--json`, so these stay readable everywhere). */
  pairs(entries: readonly (readonly [string, string])[], indent = ''): void {
    const width = Math.max(0, ...entries.map(([k]) => k.length))
    for (const [key, value] of entries) this.line(`${indent}${key.padEnd(width)}  ${value}`)
  }
}

/** Below this width, the last column of a table goes under its row. */
const MIN_LAST_COLUMN = 40

// biome-ignore lint/suspicious/noControlCharactersInRegex: matches the escape codes of our own colours.
const ANSI = /\x1b\[[0-9;]*m/g

function visibleLength(text: string): number {
  return text.replace(ANSI, '').length
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)))
}

function truncate(text: string, width: number): string {
  if (visibleLength(text) <= width) return text
  // Cells that get cut carry no colour codes (only headers are styled), so slicing is safe.
  return `${text.replace(ANSI, '').slice(0, Math.max(0, width - 1))}…`
}

/** Splits text at spaces into lines of at most `width` characters (longer words are cut). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let current = ''
  for (const word of text.split(' ')) {
    const candidate = current ? `${current} ${word}` : word
    if (visibleLength(candidate) <= width) current = candidate
    else {
      if (current) lines.push(current)
      current = visibleLength(word) > width ? truncate(word, width) : word
    }
  }
  if (current) lines.push(current)
  return lines
}
