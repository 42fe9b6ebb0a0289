import { maskEvent } from '../../runtime/masking.js'
import { RANGES, rangeBuckets } from '../activity.js'
import { eventsChart } from '../chart.js'
import { eventHref, href, recordHref, type StudioContext } from '../context.js'
import { type Html, html } from '../html.js'
import { page } from '../layout.js'
import { choiceParam } from '../params.js'
import { actorHtml, timeHtml } from '../values.js'

const RANGE_LABELS = {
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  all: 'All time',
} as const

/**
 * `GET /overview`: per resource, how many events of each action, when the last one happened, the latest few;
 * and a chart of events over time. Counts are exact (see {@link Activity}).
 */
export async function overviewPage(ctx: StudioContext, query: URLSearchParams): Promise<Html> {
  const range = choiceParam(query, 'range', RANGES) ?? 'all'
  await ctx.activity.refresh()
  const resources = ctx.activity.resources()
  const names = resources.map((r) => r.resource)
  const { start, hours, count } = rangeBuckets(range, Math.floor(Date.now() / 3_600_000), ctx.activity.span())
  const buckets = ctx.activity.buckets(start, hours, count)
  const recent = await Promise.all(
    names.map((resource) => ctx.log.store.newest(ctx.reader, { resource }, { limit: 3 })),
  )
  const total = resources.reduce((n, r) => n + r.events, 0)
  return page({
    title: 'Overview',
    section: '/overview',
    reveal: ctx.reveal,
    body: html`<h1>Overview <small>${total.toLocaleString('en-US')} event${total === 1 ? '' : 's'} in ${resources.length} resource${resources.length === 1 ? '' : 's'}</small></h1>
<section aria-labelledby="chart-heading">
  <h2 id="chart-heading">Events over time <small>${RANGE_LABELS[range]}, UTC</small></h2>
  <nav class="tabs" aria-label="Time range">${RANGES.map(
    (r) =>
      html`<a href="${href('/overview', { range: r })}"${r === range ? html` aria-current="page"` : ''}>${RANGE_LABELS[r]}</a>`,
  )}</nav>
  ${eventsChart(buckets, names)}
</section>
<section aria-labelledby="resources-heading">
  <h2 id="resources-heading">Resources</h2>
  ${
    resources.length
      ? html`<table class="resources" data-table><thead><tr><th scope="col">Resource</th><th scope="col" class="n">Events</th><th scope="col">Actions</th><th scope="col">Last event (UTC)</th><th scope="col">Latest</th></tr></thead><tbody>
${resources.map((r, i) => {
  const known = ctx.rewind.resources.has(r.resource)
  return html`<tr data-row data-href="${href('/log', { resource: r.resource })}">
<th scope="row"><span class="swatch c${i % 8}"></span><a href="${href('/log', { resource: r.resource })}">${r.resource}</a>${known ? '' : html` <span class="badge">not in the app</span>`}</th>
<td class="n">${r.events.toLocaleString('en-US')}</td>
<td>${[...r.actions.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(
      ([a, n]) =>
        html`<a class="chip" href="${href('/log', { resource: r.resource, action: a })}">${a} <b>${n.toLocaleString('en-US')}</b></a> `,
    )}</td>
<td class="time">${timeHtml(r.lastAt)}</td>
<td><ul class="recent">${recent[i]!.events.map((raw) => {
    const e = maskEvent(raw, ctx.sensitive)
    return html`<li><a href="${eventHref(e.id)}">#${e.position}</a> ${e.action} ${known ? html`<a href="${recordHref(e.resource, e.recordId)}">${e.recordId}</a>` : e.recordId} <span class="by">by ${actorHtml(e)}</span></li>`
  })}</ul></td>
</tr>`
})}
</tbody></table>`
      : html`<p class="none">The log is empty.</p>`
  }
</section>`,
  })
}
