import { type Html, html } from './html.js'

/** The pages of the navigation bar. */
const NAV = [
  { path: '/log', label: 'Log', key: 'l' },
  { path: '/overview', label: 'Overview', key: 'o' },
  { path: '/health', label: 'Health', key: 'h' },
] as const

export interface PageOptions {
  readonly title: string
  /** The navigation entry to mark as current. */
  readonly section?: (typeof NAV)[number]['path']
  /** Sensitive values are shown (the studio was started with --reveal). */
  readonly reveal: boolean
  readonly body: Html
}

/**
 * The shell of every page: navigation, the revealed-values warning, the stylesheet and the script (both
 * served by the studio itself: no CDN, no request leaves the machine).
 */
export function page({ title, section, reveal, body }: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${title} · Rewind Studio</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/studio.css">
<script type="module" src="/assets/studio.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/log">Rewind <span>Studio</span></a>
  <nav aria-label="Pages">${NAV.map(
    (n) =>
      html`<a href="${n.path}"${section === n.path ? html` aria-current="page"` : ''} title="g then ${n.key}">${n.label}</a>`,
  )}</nav>
  <span class="mode ${reveal ? 'revealed' : 'masked'}">${reveal ? 'Sensitive values revealed' : 'Sensitive values masked'}</span>
  <span class="readonly" title="Nothing in the studio writes, replays or erases">Read-only</span>
  <button type="button" class="keys" data-keys-toggle aria-haspopup="dialog" title="Keyboard shortcuts (?)">?</button>
</header>
<main id="main" tabindex="-1">
${body}
</main>
<dialog class="shortcuts" data-keys-dialog aria-label="Keyboard shortcuts">
  <h2>Keyboard</h2>
  <dl>
    <dt><kbd>j</kbd> / <kbd>k</kbd></dt><dd>next / previous row</dd>
    <dt><kbd>Enter</kbd></dt><dd>open the selected row</dd>
    <dt><kbd>/</kbd></dt><dd>first filter field</dd>
    <dt><kbd>[</kbd> / <kbd>]</kbd></dt><dd>newer / older page</dd>
    <dt><kbd>g</kbd> then <kbd>l</kbd>, <kbd>o</kbd>, <kbd>h</kbd></dt><dd>log, overview, health</dd>
    <dt><kbd>Esc</kbd></dt><dd>close, leave a field</dd>
  </dl>
  <form method="dialog"><button>Close</button></form>
</dialog>
</body>
</html>`
}

/** A page that says what went wrong (400, 404, 500): what, and a way back. */
export function problemPage(
  status: number,
  heading: string,
  detail: string,
  reveal: boolean,
  parameter?: string,
): Html {
  return page({
    title: heading,
    reveal,
    body: html`<section class="problem" data-status="${status}">
  <h1>${heading}</h1>
  ${parameter ? html`<p>Parameter <code class="parameter">${parameter}</code></p>` : ''}
  <p class="detail">${detail}</p>
  <p><a href="/log">Back to the log</a></p>
</section>`,
  })
}
