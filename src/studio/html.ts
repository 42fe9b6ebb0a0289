/**
 * HTML made by the studio. Every value interpolated into {@link html} is escaped unless it is itself
 * {@link Html} made here: the log holds user input, and an event whose data reads `<script>` must show as
 * that text. There is no other way to put text into a page.
 */

/** A piece of HTML that is safe to send: made by {@link html} (or {@link trusted} for fixed markup). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text as HTML text or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

type Part = Html | string | number | bigint | boolean | null | undefined | readonly Part[]

function render(value: Part): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map((v) => render(v)).join('')
  return escapeHtml(String(value))
}

/**
 * The tagged template of every page: `html\`<td>${event.recordId}</td>\`` escapes the id. Arrays are joined,
 * and null, undefined and false render as nothing.
 */
export function html(strings: TemplateStringsArray, ...values: readonly Part[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** Fixed markup written in the studio's source (never a value read from the log or the request). */
export function trusted(markup: string): Html {
  return new Html(markup)
}
