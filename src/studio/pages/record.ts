import type { Json } from '../../data/column-codec.js'
import type { HistoryEntry } from '../../replay/time-travel.js'
import type { AnyResource } from '../../resource/define-resource.js'
import { maskHistoryEntry, maskState } from '../../runtime/masking.js'
import { eventHref, href, recordHref, type StudioContext } from '../context.js'
import { type Html, html } from '../html.js'
import { page } from '../layout.js'
import { BadRequest, eventIdParam, recordIdText, resourceText } from '../params.js'
import { actionHtml, actorHtml, metadataHtml, timeHtml, valueHtml } from '../values.js'

/** Timeline entries shown on each side of the selected one. */
const WINDOW = 100

/** The record's state after each entry of its history (undefined where it did not exist), canonical values. */
export function statesAfter(
  resource: AnyResource,
  history: readonly HistoryEntry[],
): (Map<string, Json> | undefined)[] {
  const out: (Map<string, Json> | undefined)[] = []
  let state: Map<string, Json> | undefined
  for (const entry of history) {
    if (entry.destroyed) state = undefined
    else {
      // History's changes are the difference between the states before and after (null where unset).
      state = new Map(state ?? [...resource.codecs.keys()].map((k) => [k, null]))
      for (const [key, change] of Object.entries(entry.changes)) state.set(key, change.to)
    }
    out.push(state)
  }
  return out
}

/** The entry of an event id given in a parameter, or a 400 naming it when the record has no such event. */
function entryIndex(
  history: readonly HistoryEntry[],
  name: string,
  id: number | string,
  label: string,
): number {
  const norm = (v: number | string) => String(v).toLowerCase().replaceAll('-', '')
  const i = history.findIndex((h) => norm(h.id) === norm(id))
  if (i < 0) throw new BadRequest(name, `event ${id} is not an event of ${label}`)
  return i
}

/**
 * `GET /records/:resource/:id`: the record's timeline (each event with actor, time, version, metadata and
 * field changes), its state just after any event (`?at=`), and the difference between two points (`?from=&to=`).
 * Everything from the log alone, in one read of the record's events.
 */
export async function recordPage(
  ctx: StudioContext,
  resourceName: string,
  idText: string,
  query: URLSearchParams,
): Promise<Html | undefined> {
  const resource = resourceText('resource', resourceName, ctx.rewind.resources)
  const id = recordIdText('id', resource, idText)
  const at = eventIdParam(query, 'at')
  const from = eventIdParam(query, 'from')
  const to = eventIdParam(query, 'to')
  if ((from === undefined) !== (to === undefined)) {
    throw new BadRequest(from === undefined ? 'from' : 'to', 'a comparison needs both from and to')
  }
  const history = await ctx.rewind.history(resource, id as never)
  if (history.length === 0) return undefined
  const label = `${resource.name} ${idText}`
  const states = statesAfter(resource, history)
  const selected = at !== undefined ? entryIndex(history, 'at', at, label) : history.length - 1
  const compare =
    from !== undefined && to !== undefined
      ? ([entryIndex(history, 'from', from, label), entryIndex(history, 'to', to, label)] as const)
      : undefined
  const entries = history.map((h) => maskHistoryEntry(h, ctx.sensitive))
  const shown = (i: number) => {
    const s = states[i]
    return s ? maskState(resource, s, ctx.sensitive) : undefined
  }
  const sel = entries[selected]!
  const state = shown(selected)
  const first = entries[0]!
  const last = entries[entries.length - 1]!
  const self = (params: Record<string, string | number | undefined>) =>
    recordHref(resource.name, idText, params)
  const point = (e: HistoryEntry) =>
    html`<a href="${eventHref(e.id)}">#${e.position}</a> ${actionHtml(e)} at ${timeHtml(e.occurredAt)}`

  const lo = Math.max(0, selected - WINDOW)
  const hi = Math.min(entries.length - 1, selected + WINDOW)
  const timeline: Html[] = []
  for (let i = hi; i >= lo; i--) timeline.push(entryHtml(entries[i]!, i === selected, self, sel))

  return page({
    title: `${resource.name} ${idText}`,
    reveal: ctx.reveal,
    body: html`<h1><a href="${href('/log', { resource: resource.name })}">${resource.name}</a> <code class="id">${idText}</code></h1>
<p class="sub">${entries.length} event${entries.length === 1 ? '' : 's'}: first ${point(first)}, last ${point(last)} · <a href="${href('/log', { resource: resource.name, record: first.recordId })}">these events in the log</a></p>
<div class="record">
<section class="state" aria-labelledby="state-heading">
  <h2 id="state-heading">${selected === entries.length - 1 ? 'State now' : 'State'} <small>just after ${point(sel)}</small></h2>
  ${selected !== entries.length - 1 ? html`<p class="note">An earlier state. <a href="${self({})}">The state now</a></p>` : ''}
  ${state ? stateTable(state, sel) : html`<p class="gone">${sel.destroyed ? 'Destroyed by this event.' : 'Did not exist.'}</p>`}
</section>
<section class="timeline" aria-labelledby="timeline-heading">
  <h2 id="timeline-heading">Timeline <small>newest first</small></h2>
  ${hi < entries.length - 1 ? html`<p class="more"><a href="${self({ at: String(entries[hi + 1]!.id) })}">Newer events…</a></p>` : ''}
  <ol class="entries" data-table>${timeline}</ol>
  ${lo > 0 ? html`<p class="more"><a href="${self({ at: String(entries[lo - 1]!.id) })}">Older events…</a></p>` : ''}
</section>
</div>
${compareSection(entries, lo, hi, selected, compare, shown, idText)}`,
  })
}

function stateTable(state: Readonly<Record<string, unknown>>, at: HistoryEntry): Html {
  return html`<table class="kv"><tbody>${Object.entries(state).map(
    ([k, v]) =>
      html`<tr${k in at.changes ? html` class="changed" title="changed by this event"` : ''}><th scope="row">${k}</th><td>${valueHtml(v, 400)}</td></tr>`,
  )}</tbody></table>`
}

function entryHtml(
  e: HistoryEntry,
  selected: boolean,
  self: (params: Record<string, string | number | undefined>) => string,
  sel: HistoryEntry,
): Html {
  const changes = Object.entries(e.changes)
  const here = self({ at: String(e.id) })
  return html`<li class="entry${selected ? ' selected' : ''}" data-row data-href="${here}"${selected ? html` aria-current="true"` : ''}>
<div class="head">
  <a href="${eventHref(e.id)}" class="pos" title="the event">#${e.position}</a>
  ${timeHtml(e.occurredAt)} ${actionHtml(e)} <span class="by">by ${actorHtml(e)}</span>
  ${e.destroyed ? html`<span class="badge destroyed">destroyed</span>` : ''}
  <span class="links"><a href="${here}">state here</a>${
    e.id !== sel.id
      ? html` · <a href="${self({ at: String(sel.id), from: String(e.position < sel.position ? e.id : sel.id), to: String(e.position < sel.position ? sel.id : e.id) })}">diff with #${sel.position}</a>`
      : ''
  }</span>
</div>
${Object.keys(e.metadata).length ? html`<div class="metadata">${metadataHtml(e.metadata)}</div>` : ''}
${
  changes.length
    ? html`<table class="diff"><tbody>${changes.map(
        ([k, c]) =>
          html`<tr><th scope="row">${k}</th><td class="from">${valueHtml(c.from)}</td><td class="arrow" aria-label="to">→</td><td class="to">${valueHtml(c.to)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="none">no field changed</p>`
}
</li>`
}

function compareSection(
  entries: readonly HistoryEntry[],
  lo: number,
  hi: number,
  selected: number,
  compare: readonly [number, number] | undefined,
  shown: (i: number) => Record<string, unknown> | undefined,
  idText: string,
): Html {
  const [a, b] = compare ?? [Math.max(0, selected - 1), selected]
  const options = (chosen: number) => {
    const out: Html[] = []
    // The window of the timeline, and the two compared entries wherever they are.
    const indexes = new Set([...Array.from({ length: hi - lo + 1 }, (_, i) => hi - i), a, b])
    for (const i of [...indexes].sort((x, y) => y - x)) {
      const e = entries[i]!
      out.push(
        html`<option value="${String(e.id)}"${i === chosen ? html` selected` : ''}>#${e.position} ${e.resource}.${e.action} ${e.occurredAt}</option>`,
      )
    }
    return out
  }
  let result: Html = html``
  if (compare) {
    const left = shown(a)
    const right = shown(b)
    const keys = new Set([...Object.keys(left ?? {}), ...Object.keys(right ?? {})])
    const rows = [...keys].filter(
      (k) => JSON.stringify(left?.[k] ?? null) !== JSON.stringify(right?.[k] ?? null),
    )
    const missing = (s: Record<string, unknown> | undefined) =>
      s ? '' : html`<p class="gone">did not exist</p>`
    result = html`<p>From just after <a href="${eventHref(entries[a]!.id)}">#${entries[a]!.position}</a> to just after <a href="${eventHref(entries[b]!.id)}">#${entries[b]!.position}</a>: ${rows.length ? `${rows.length} field${rows.length === 1 ? '' : 's'} differ` : 'no field differs'}.</p>
${missing(left)}${missing(right)}
${
  rows.length
    ? html`<table class="diff compare" data-compare><thead><tr><th scope="col">Field</th><th scope="col">#${entries[a]!.position}</th><th></th><th scope="col">#${entries[b]!.position}</th></tr></thead><tbody>${rows.map(
        (k) =>
          html`<tr><th scope="row">${k}</th><td class="from">${left ? valueHtml(left[k] ?? null, 400) : '—'}</td><td class="arrow">→</td><td class="to">${right ? valueHtml(right[k] ?? null, 400) : '—'}</td></tr>`,
      )}</tbody></table>`
    : ''
}`
  }
  return html`<section class="compare" aria-labelledby="compare-heading">
<h2 id="compare-heading">Compare two points</h2>
<form method="get" class="inline">
  <input type="hidden" name="at" value="${String(entries[selected]!.id)}">
  <label>From just after <select name="from">${options(a)}</select></label>
  <label>to just after <select name="to">${options(b)}</select></label>
  <button type="submit">Compare</button>
</form>
${result}
<p class="note">States are rebuilt from the log alone, as replay would write them; record ${idText}.</p>
</section>`
}
