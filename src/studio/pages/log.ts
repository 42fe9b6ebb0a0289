import { recordIdText as canonicalRecordId, type RewindEvent } from '../../events/event.js'
import type { NewestFilter } from '../../events/store/event-store.js'
import { maskEvent } from '../../runtime/masking.js'
import { eventHref, href, recordHref, type StudioContext } from '../context.js'
import { type Html, html } from '../html.js'
import { page } from '../layout.js'
import { BadRequest, optional, recordIdText, timeParam, wholeParam } from '../params.js'
import { actionHtml, actorHtml, payloadHtml, timeHtml } from '../values.js'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 500
/** The filter fields, in the order of the form; kept in the URLs of the pager and the stream. */
const FILTER_PARAMS = [
  'resource',
  'action',
  'actorColumn',
  'actor',
  'tenant',
  'record',
  'from',
  'to',
  'limit',
] as const

/** The log's filters as the URL gives them: what the form shows back, and the filter of the reads. */
export interface LogQuery {
  readonly form: Readonly<Partial<Record<(typeof FILTER_PARAMS)[number], string>>>
  readonly filter: NewestFilter
}

/** Reads and checks the filter parameters of the log page and its stream (400 naming a malformed one). */
export function logQuery(ctx: StudioContext, query: URLSearchParams): LogQuery {
  const form: Partial<Record<(typeof FILTER_PARAMS)[number], string>> = {}
  for (const name of FILTER_PARAMS) {
    const v = optional(query, name)
    if (v !== undefined) {
      if (v.length > 1000) throw new BadRequest(name, 'is longer than 1000 characters')
      form[name] = v
    }
  }
  const filter: { -readonly [K in keyof NewestFilter]: NewestFilter[K] } = {}
  if (form.resource !== undefined) {
    if (!ctx.resourceNames.includes(form.resource)) {
      throw new BadRequest(
        'resource',
        `${JSON.stringify(form.resource)} is not a resource of this app (resources: ${ctx.resourceNames.join(', ')})`,
      )
    }
    filter.resource = form.resource
  }
  if (form.action !== undefined) filter.action = form.action
  if (form.record !== undefined) {
    // An app resource's id is matched as the log stores it (a uuid in lower case, ...).
    const resource = form.resource !== undefined ? ctx.rewind.resources.get(form.resource) : undefined
    if (resource) {
      const id = recordIdText('record', resource, form.record)
      const cast = resource.codecs.get(resource.primaryKey)!.fromApp(id)
      filter.recordId = cast.ok ? canonicalRecordId(cast.value) : form.record
    } else filter.recordId = form.record
  }
  const actorKeys = ctx.log.config.actorKeys
  if (form.actorColumn !== undefined && !actorKeys.includes(form.actorColumn)) {
    throw new BadRequest(
      'actorColumn',
      `${JSON.stringify(form.actorColumn)} is not an actor column (actor columns: ${actorKeys.join(', ') || 'none'})`,
    )
  }
  if (form.actor !== undefined) {
    const column = form.actorColumn ?? actorKeys[0]
    if (column === undefined) throw new BadRequest('actor', 'this event log has no actor columns')
    filter.actor = { [column]: form.actor }
  }
  if (form.tenant !== undefined) filter.tenant = form.tenant
  const from = timeParam(query, 'from')
  const to = timeParam(query, 'to')
  if (from !== undefined) filter.from = from
  if (to !== undefined) filter.to = to
  return { form, filter }
}

/** One row of the log table; the live stream sends the same rows. */
export function eventRow(ctx: StudioContext, raw: RewindEvent): Html {
  const e = maskEvent(raw, ctx.sensitive)
  const resource = ctx.rewind.resources.get(e.resource)
  const link = eventHref(e.id)
  return html`<tr data-row data-position="${e.position}" data-href="${link}">
<td class="n"><a href="${link}">${e.position}</a></td>
<td class="time">${timeHtml(e.occurredAt)}</td>
<td>${actionHtml(e)}</td>
<td class="record">${resource ? html`<a href="${recordHref(e.resource, e.recordId)}">${e.recordId}</a>` : e.recordId}</td>
<td>${actorHtml(e)}</td>
<td class="payload">${payloadHtml(e, resource?.primaryKey)}</td>
</tr>`
}

/** `GET /log`: every event, newest first, filtered, a page at a time; new ones arrive live on the newest page. */
export async function logPage(ctx: StudioContext, query: URLSearchParams): Promise<Html> {
  const { form, filter } = logQuery(ctx, query)
  const before = wholeParam(query, 'before', { min: 1 })
  const after = wholeParam(query, 'after', { min: 0 })
  if (before !== undefined && after !== undefined)
    throw new BadRequest('after', 'cannot be combined with before')
  const limit = wholeParam(query, 'limit', { min: 1, max: MAX_LIMIT }) ?? DEFAULT_LIMIT
  // The newest page follows the log: the stream sends what commits after this moment (taken before the
  // page is read, so nothing falls between; an event in both is shown once, by position).
  const newest = before === undefined && after === undefined
  const snapshot = newest ? await ctx.log.store.snapshot(ctx.reader) : undefined
  const result = await ctx.log.store.newest(ctx.reader, filter, {
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
    limit,
  })
  const { events } = result
  const keep = Object.fromEntries(FILTER_PARAMS.map((n) => [n, form[n]]))
  const top = events[0]?.position
  const bottom = events[events.length - 1]?.position
  const pager = html`<nav class="pager" aria-label="Pages of the log">
  ${result.hasNewer && top !== undefined ? html`<a href="${href('/log', { ...keep, after: top })}" rel="prev" data-key="[">← Newer</a>` : html`<span class="off">← Newer</span>`}
  ${newest ? html`<span class="off">Newest</span>` : html`<a href="${href('/log', keep)}">Newest</a>`}
  ${result.hasOlder && bottom !== undefined ? html`<a href="${href('/log', { ...keep, before: bottom })}" rel="next" data-key="]">Older →</a>` : html`<span class="off">Older →</span>`}
</nav>`
  const stream = snapshot !== undefined ? href('/log/stream', { ...keep, snapshot }) : undefined
  const filtered = Object.keys(filter).length > 0
  return page({
    title: 'Log',
    section: '/log',
    reveal: ctx.reveal,
    body: html`<h1>Log <small>newest first</small></h1>
${filterForm(ctx, form)}
<div class="status">
  <span class="count">${events.length ? `${events.length} event${events.length === 1 ? '' : 's'}${filtered ? ' matching' : ''}` : filtered ? 'No event matches these filters' : 'The log is empty'}</span>
  ${stream ? html`<span class="live" data-live="${stream}" role="status" aria-live="polite">Live: new events appear at the top</span>` : html`<span class="live off">Not live (an older page): <a href="${href('/log', keep)}">go to the newest</a></span>`}
</div>
${pager}
<table class="events" data-table>
<thead><tr><th scope="col" class="n">Pos</th><th scope="col">Occurred (UTC)</th><th scope="col">Event</th><th scope="col">Record</th><th scope="col">Actor</th><th scope="col">Changes</th></tr></thead>
<tbody data-rows>
${events.map((e) => eventRow(ctx, e))}
</tbody>
</table>
${pager}`,
  })
}

function filterForm(ctx: StudioContext, form: LogQuery['form']): Html {
  const resources = ctx.resourceNames
  const actions = new Set<string>()
  for (const r of ctx.rewind.resources.values()) {
    if (form.resource === undefined || r.name === form.resource)
      for (const a of Object.keys(r.actions)) actions.add(a)
  }
  const actorKeys = ctx.log.config.actorKeys
  const field = (name: string, label: string, control: Html) =>
    html`<label class="field field-${name}"><span>${label}</span>${control}</label>`
  const text = (name: keyof LogQuery['form'], placeholder: string, extra?: Html) =>
    html`<input type="text" name="${name}" value="${form[name] ?? ''}" placeholder="${placeholder}" autocomplete="off" spellcheck="false"${extra ?? ''}>`
  return html`<form class="filters" method="get" action="/log" role="search" aria-label="Filter the log">
${field(
  'resource',
  'Resource',
  html`<select name="resource"><option value="">all</option>${resources.map(
    (r) => html`<option${form.resource === r ? html` selected` : ''}>${r}</option>`,
  )}</select>`,
)}
${field('action', 'Action', html`${text('action', 'any', html` list="studio-actions"`)}<datalist id="studio-actions">${[...actions].sort().map((a) => html`<option value="${a}">`)}</datalist>`)}
${
  actorKeys.length
    ? field(
        'actor',
        'Actor',
        html`<span class="pair">${
          actorKeys.length > 1
            ? html`<select name="actorColumn" aria-label="Actor column">${actorKeys.map((k) => html`<option${form.actorColumn === k ? html` selected` : ''}>${k}</option>`)}</select>`
            : html`<input type="hidden" name="actorColumn" value="${actorKeys[0]}">`
        }${text('actor', actorKeys.length > 1 ? 'value' : `${actorKeys[0]}`)}</span>`,
      )
    : ''
}
${field('tenant', 'Tenant', text('tenant', 'any'))}
${field('record', 'Record id', text('record', 'any'))}
${field('from', 'From (UTC)', text('from', '2026-01-31 12:00'))}
${field('to', 'To (UTC)', text('to', 'now'))}
<div class="buttons"><button type="submit">Filter</button> <a href="/log" class="button">Clear</a></div>
</form>`
}
