import type { RewindEvent } from '../../events/event.js'
import { maskEvent } from '../../runtime/masking.js'
import { href, recordHref, type StudioContext } from '../context.js'
import { type Html, html } from '../html.js'
import { page } from '../layout.js'
import { BadRequest, eventIdText } from '../params.js'
import { actionHtml, actorHtml, jsonText, timeHtml, valueHtml } from '../values.js'

/** `GET /events/:id`: one event, every field of it, with links to its record and the log around it. */
export async function eventPage(ctx: StudioContext, idText: string): Promise<Html | undefined> {
  const id = eventIdText('id', idText)
  let raw: RewindEvent | undefined
  try {
    raw = await ctx.log.store.event(ctx.reader, id, 'id')
  } catch (error) {
    // A well-shaped id the column refuses (a number past the bigint range, a uuid in a bigint log).
    if ((error as { code?: string }).code === 'VALIDATION')
      throw new BadRequest('id', `${idText} is not an event id of this log`)
    throw error
  }
  if (!raw) return undefined
  const e = maskEvent(raw, ctx.sensitive)
  const known = ctx.rewind.resources.has(e.resource)
  const payload = (title: string, values: Readonly<Record<string, unknown>>) =>
    html`<section class="payload-block"><h2>${title}</h2>${
      Object.keys(values).length
        ? html`<table class="kv"><tbody>${Object.entries(values).map(
            ([k, v]) => html`<tr><th scope="row">${k}</th><td>${valueHtml(v, 2000)}</td></tr>`,
          )}</tbody></table>`
        : html`<p class="none">empty</p>`
    }</section>`
  return page({
    title: `Event ${String(e.id)}`,
    section: '/log',
    reveal: ctx.reveal,
    body: html`<h1>Event <code>${String(e.id)}</code> <small>${actionHtml(e)}</small></h1>
<dl class="facts">
  <dt>Position</dt><dd>${e.position} · <a href="${href('/log', { before: e.position + 1 })}">the log from here</a></dd>
  <dt>Occurred (UTC)</dt><dd>${timeHtml(e.occurredAt)}</dd>
  <dt>Record</dt><dd>${e.resource} ${known ? html`<a href="${recordHref(e.resource, e.recordId)}">${e.recordId}</a> · <a href="${recordHref(e.resource, e.recordId, { at: String(e.id) })}">its state just after this event</a>` : e.recordId}</dd>
  <dt>Action</dt><dd>${e.action} (${e.actionType}), version ${e.version}</dd>
  <dt>Actor</dt><dd>${actorHtml(e)}</dd>
  <dt>Tenant</dt><dd>${e.tenant ?? html`<span class="none">-</span>`}</dd>
  <dt>Transaction</dt><dd><code>${e.transactionId}</code></dd>
</dl>
${payload('Input (data)', e.data)}
${payload('Other columns set (changed attributes)', e.changedAttributes)}
${payload('Metadata', e.metadata)}
${Object.keys(e.encoders).length ? html`<section class="payload-block"><h2>Encoders</h2><pre>${jsonText(e.encoders, 2)}</pre></section>` : ''}`,
  })
}
