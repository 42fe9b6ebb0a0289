/**
 * The studio's browser part: new events arriving live on the log page, keyboard navigation, local times in
 * tooltips. Everything else is HTML from the server, which escapes every value: this script never builds
 * markup from a value; the rows of new events come rendered by the server, exactly as the page's rows.
 */

const main = document.querySelector<HTMLElement>('main')

function rows(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>('[data-row]')]
}

function current(): HTMLElement | undefined {
  return document.querySelector<HTMLElement>('[data-row].cursor') ?? undefined
}

function select(row: HTMLElement | undefined): void {
  if (!row) return
  current()?.classList.remove('cursor')
  row.classList.add('cursor')
  row.tabIndex = -1
  row.focus({ preventScroll: true })
  row.scrollIntoView({ block: 'nearest' })
}

function move(step: 1 | -1): void {
  const all = rows()
  if (!all.length) return
  const at = current()
  const i = at ? all.indexOf(at) : step === 1 ? -1 : all.length
  select(all[Math.min(all.length - 1, Math.max(0, i + step))])
}

function open(row: HTMLElement | undefined): void {
  const target = row?.dataset.href
  if (target) location.assign(target)
}

function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLSelectElement ||
    target instanceof HTMLTextAreaElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  )
}

const dialog = document.querySelector<HTMLDialogElement>('[data-keys-dialog]')
document.querySelector('[data-keys-toggle]')?.addEventListener('click', () => dialog?.showModal())

let pendingG = false
document.addEventListener('keydown', (event) => {
  if (event.metaKey || event.ctrlKey || event.altKey) return
  if (typing(event.target)) {
    if (event.key === 'Escape') (event.target as HTMLElement).blur()
    return
  }
  if (pendingG) {
    pendingG = false
    const to = { l: '/log', o: '/overview', h: '/health' }[event.key]
    if (to) {
      event.preventDefault()
      location.assign(to)
    }
    return
  }
  switch (event.key) {
    case 'j':
    case 'ArrowDown':
      if (event.key === 'ArrowDown' && !current()) return
      event.preventDefault()
      move(1)
      break
    case 'k':
    case 'ArrowUp':
      if (event.key === 'ArrowUp' && !current()) return
      event.preventDefault()
      move(-1)
      break
    case 'Enter':
      if (
        current() &&
        (event.target === current() || event.target === document.body || event.target === main)
      ) {
        event.preventDefault()
        open(current())
      }
      break
    case '/': {
      const field = document.querySelector<HTMLElement>(
        'form.filters input:not([type=hidden]), form.filters select',
      )
      if (field) {
        event.preventDefault()
        field.focus()
      }
      break
    }
    case '[':
    case ']':
      document.querySelector<HTMLAnchorElement>(`a[data-key="${event.key}"]`)?.click()
      break
    case 'g':
      pendingG = true
      break
    case '?':
      dialog?.showModal()
      break
  }
})

// A click on a row (not on a link or a control in it) opens it.
document.addEventListener('click', (event) => {
  const target = event.target as HTMLElement
  if (target.closest('a, button, input, select, label, summary')) return
  const row = target.closest<HTMLElement>('[data-row]')
  if (row && window.getSelection()?.toString() === '') open(row)
})

/** Times are UTC on the page; the tooltip gives the reader's own. */
function localTimes(root: ParentNode): void {
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[datetime]')) {
    const when = new Date(el.dateTime)
    if (!Number.isNaN(when.getTime())) el.title = `${when.toLocaleString()} (your time)`
  }
}
localTimes(document)

/** The newest page of the log follows it: rows of new events arrive from the server and go on top. */
function follow(status: HTMLElement): void {
  const body = document.querySelector<HTMLTableSectionElement>('[data-rows]')
  const url = status.dataset.live
  if (!body || !url) return
  let arrived = 0
  const say = (text: string, state: string) => {
    status.textContent = text
    status.dataset.state = state
  }
  const source = new EventSource(url)
  source.addEventListener('open', () =>
    say(arrived ? `Live: ${arrived} new` : 'Live: new events appear at the top', 'live'),
  )
  source.addEventListener('error', () => say('Live: reconnecting…', 'retrying'))
  const insert = (message: MessageEvent<string>) => {
    const template = document.createElement('template')
    template.innerHTML = message.data
    const fresh = [...template.content.querySelectorAll<HTMLTableRowElement>('tr[data-position]')].filter(
      (row) => !body.querySelector(`tr[data-position="${CSS.escape(row.dataset.position ?? '')}"]`),
    )
    for (const row of fresh) row.classList.add('new')
    localTimes(template.content)
    body.prepend(...fresh)
    arrived += fresh.length
    // A page left open for hours keeps its newest thousand rows.
    const all = body.querySelectorAll('tr')
    for (let i = all.length - 1; i >= 1000; i--) all[i]!.remove()
    if (fresh.length) say(`Live: ${arrived} new`, 'live')
  }
  source.addEventListener('events', insert)
  source.addEventListener('overflow', (message) => {
    insert(message as MessageEvent<string>)
    say('Live: more events arrived than the page takes at once; reload for all of them', 'overflow')
  })
  source.addEventListener('problem', () => say('Live: the log could not be read; retrying…', 'retrying'))
  addEventListener('pagehide', () => source.close())
}
const live = document.querySelector<HTMLElement>('[data-live]')
if (live) follow(live)
