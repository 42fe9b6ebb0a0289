import type { Json } from '../../columns/values.js'
import type { ReplayedEvent } from '../../events/event.js'
import { changesBetween, type HistoryEntry } from '../../replay/time-travel.js'
import { maskHistoryEntry, maskState } from '../../runtime/masking.js'
import { eventHref, href, recordHref, type StudioContext } from '../context.js'
import { type Html, html } from '../html.js'
import { page } from '../layout.js'
import { BadRequest, eventIdParam, recordIdText, resourceText } from '../params.js'
import { actionHtml, actorHtml, metadataHtml, timeHtml, valueHtml } from '../values.js'

/** Timeline entries shown on each side of the selected one. */
const WINDOW = 50

/** One event of the record as the fold saw it: the event's state columns, and the record before and after. */
interface Step {
  readonly event: ReplayedEvent
  readonly before: ReadonlyMap<string, Json> | undefined
  readonly after: ReadonlyMap<string, Json> | undefined
}

/** The step of an event id given in a parameter, or a 400 naming it when the record has no such event. */
function stepIndex(steps: readonly Step[], name: string, id: number | string, label: string): number {
  const norm = (v: number | string) => String(v).toLowerCase().replaceAll('-', '')
  const i = steps.findIndex((s) => norm(s.event.id) === norm(id))
  if (i < 0) throw new BadRequest(name, `event ${id} is not an event of ${label}`)
  return i
}

/**
 * `GET /records/:resource/:id`: the record's timeline (each event with actor, time, version, metadata and
 * field changes), its state just after any event (`?at=`), and the difference between two points (`?from=&to=`).
 * From the log alone: one fold over the record's events reading only the columns that make up its state (as
 * `stateAt` does), then the whole events for the part of the timeline shown (up to {@link WINDOW} on each side
 * of the selected event), so a long history costs a fold, not the decoding of every event.
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
  const steps: Step[] = []
  await ctx.rewind.timeTravel.fold<ReplayedEvent>(
    resource,
    id,
    undefined,
    'replayed',
    (event, before, after) => {
      steps.push({ event, before, after })
    },
  )
  if (steps.length === 0) return undefined
  const label = `${resource.name} ${idText}`
  const selected = at !== undefined ? stepIndex(steps, 'at', at, label) : steps.length - 1
  const compare =
    from !== undefined && to !== undefined
      ? ([stepIndex(steps, 'from', from, label), stepIndex(steps, 'to', to, label)] as const)
      : undefined
  const lo = Math.max(0, selected - WINDOW)
  const hi = Math.min(steps.length - 1, selected + WINDOW)
  // The whole events (actor, time, metadata) of what the page shows: the window, the ends, the compared two.
  const shownIndexes = new Set([0, steps.length - 1, ...(compare ?? [])])
  for (let i = lo; i <= hi; i++) shownIndexes.add(i)
  const full = new Map(
    (
      await ctx.log.store.at(
        ctx.reader,
        [...shownIndexes].map((i) => steps[i]!.event.position),
      )
    ).map((e) => [e.position, e]),
  )
  const entry = (i: number): HistoryEntry => {
    const { event, before, after } = steps[i]!
    const whole = full.get(event.position)!
    return maskHistoryEntry(
      { ...whole, changes: changesBetween(before, after), destroyed: after === undefined },
      ctx.sensitive,
    )
  }
  const stateAfter = (i: number) => {
    const s = steps[i]!.after
    return s ? maskState(resource, s, ctx.sensitive) : undefined
  }
  const sel = entry(selected)
  const state = stateAfter(selected)
  const first = entry(0)
  const last = entry(steps.length - 1)
  const self = (params: Record<string, string | number | undefined>) =>
    recordHref(resource.name, idText, params)
  const point = (e: HistoryEntry) =>
    html`<a href="${eventHref(e.id)}">#${e.position}</a> ${actionHtml(e)} at ${timeHtml(e.occurredAt)}`

  const timeline: Html[] = []
  for (let i = hi; i >= lo; i--) timeline.push(entryHtml(entry(i), i === selected, self, sel))
  const latest = selected === steps.length - 1

  return page({
    title: `${resource.name} ${idText}`,
    reveal: ctx.reveal,
    body: html`<h1><a href="${href('/log', { resource: resource.name })}">${resource.name}</a> <code class="id">${idText}</code></h1>
<p class="sub">${steps.length} event${steps.length === 1 ? '' : 's'}: first ${point(first)}, last ${point(last)} · <a href="${href('/log', { resource: resource.name, record: first.recordId })}">these events in the log</a></p>
<div class="record">
<section class="state" aria-labelledby="state-heading">
  <h2 id="state-heading">${latest ? 'State now' : 'State'} <small>just after ${point(sel)}</small></h2>
  ${latest ? '' : html`<p class="note">An earlier state. <a href="${self({})}">The state now</a></p>`}
  ${state ? stateTable(state, sel) : html`<p class="gone">${sel.destroyed ? 'Destroyed by this event.' : 'Did not exist.'}</p>`}
</section>
<section class="timeline" aria-labelledby="timeline-heading">
  <h2 id="timeline-heading">Timeline <small>newest first</small></h2>
  ${hi < steps.length - 1 ? html`<p class="more"><a href="${self({ at: String(steps[hi + 1]!.event.id) })}">Newer events…</a></p>` : ''}
  <ol class="entries" data-table>${timeline}</ol>
  ${lo > 0 ? html`<p class="more"><a href="${self({ at: String(steps[lo - 1]!.event.id) })}">Older events…</a></p>` : ''}
</section>
</div>
${compareSection(entry, lo, hi, selected, compare, stateAfter, idText)}`,
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
  entry: (i: number) => HistoryEntry,
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
      const e = entry(i)
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
    const [ea, eb] = [entry(a), entry(b)]
    result = html`<p>From just after <a href="${eventHref(ea.id)}">#${ea.position}</a> to just after <a href="${eventHref(eb.id)}">#${eb.position}</a>: ${rows.length ? `${rows.length} field${rows.length === 1 ? '' : 's'} differ` : 'no field differs'}.</p>
${missing(left)}${missing(right)}
${
  rows.length
    ? html`<table class="diff compare" data-compare><thead><tr><th scope="col">Field</th><th scope="col">#${ea.position}</th><th></th><th scope="col">#${eb.position}</th></tr></thead><tbody>${rows.map(
        (k) =>
          html`<tr><th scope="row">${k}</th><td class="from">${left ? valueHtml(left[k] ?? null, 400) : '—'}</td><td class="arrow">→</td><td class="to">${right ? valueHtml(right[k] ?? null, 400) : '—'}</td></tr>`,
      )}</tbody></table>`
    : ''
}`
  }
  return html`<section class="compare" aria-labelledby="compare-heading">
<h2 id="compare-heading">Compare two points</h2>
<form method="get" class="inline">
  <input type="hidden" name="at" value="${String(entry(selected).id)}">
  <label>From just after <select name="from">${options(a)}</select></label>
  <label>to just after <select name="to">${options(b)}</select></label>
  <button type="submit">Compare</button>
</form>
${result}
<p class="note">States are rebuilt from the log alone, as replay would write them; record ${idText}.</p>
</section>`
}
