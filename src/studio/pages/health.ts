import { appendOnlyProblems } from '../../events/append-only.js'
import type { ConsistencyReport } from '../../replay/check-consistency.js'
import type { VerifyResult } from '../../replay/verify.js'
import { maskDifferences, maskFindings } from '../../runtime/masking.js'
import { eventHref, href, type StudioContext } from '../context.js'
import { type Html, html } from '../html.js'
import { page } from '../layout.js'
import { choiceParam } from '../params.js'
import { timeHtml, valueHtml } from '../values.js'

/**
 * `GET /health`: the log's state at a glance, and on request (`?run=check`, `?run=verify`) the consistency
 * check and the replay verification. Both read only (the verification replays in a transaction that is rolled
 * back), but both hold writers of the tracked tables while they run and take time on a large log, so they
 * never run by themselves.
 */
export async function healthPage(ctx: StudioContext, query: URLSearchParams): Promise<Html> {
  const run = choiceParam(query, 'run', ['check', 'verify'] as const)
  const [latest] = (await ctx.log.store.newest(ctx.reader, {}, { limit: 1 })).events
  const triggers = await appendOnlyProblems(
    (text, params) => ctx.reader.queryText(text, params),
    ctx.log.config.table,
  )
  let check: ConsistencyReport | undefined
  let verify: VerifyResult | undefined
  const started = performance.now()
  if (run === 'check') check = await ctx.rewind.checkConsistency()
  if (run === 'verify') verify = await ctx.rewind.verifyReplay()
  const took = `${((performance.now() - started) / 1000).toFixed(1)} s`
  return page({
    title: 'Health',
    section: '/health',
    reveal: ctx.reveal,
    body: html`<h1>Health</h1>
<section aria-labelledby="log-heading">
  <h2 id="log-heading">The log</h2>
  <dl class="facts">
    <dt>Latest event</dt><dd>${latest ? html`<a href="${eventHref(latest.id)}">#${latest.position}</a> ${latest.resource}.${latest.action} at ${timeHtml(latest.occurredAt)}` : 'none yet'}</dd>
    <dt>Append-only triggers</dt><dd>${
      triggers.length
        ? html`<span class="bad">✗</span> <ul class="findings">${triggers.map((t) => html`<li>${t}</li>`)}</ul>`
        : html`<span class="good">✓ in place and enabled (ALWAYS)</span>`
    }</dd>
  </dl>
</section>
<section aria-labelledby="check-heading">
  <h2 id="check-heading">Consistency check <small>rewind check</small></h2>
  <p class="note">Record by record, that the tables and the log agree. Holds writers of the tracked tables while it runs (readers go on).</p>
  ${check ? checkHtml(ctx, check, took) : html`<p><a class="button" href="${href('/health', { run: 'check' })}">Run the check</a></p>`}
</section>
<section aria-labelledby="verify-heading">
  <h2 id="verify-heading">Replay verification <small>rewind verify</small></h2>
  <p class="note">Replays the whole log in a transaction that is rolled back and compares every tracked table. Holds writers while it runs.</p>
  ${verify ? verifyHtml(ctx, verify, took) : html`<p><a class="button" href="${href('/health', { run: 'verify' })}">Run the verification</a></p>`}
</section>
${consumersSection()}`,
  })
}

function checkHtml(ctx: StudioContext, report: ConsistencyReport, took: string): Html {
  const events = `${report.events.toLocaleString('en-US')} event${report.events === 1 ? '' : 's'}`
  if (report.ok)
    return html`<p class="result good" data-result="check">✓ ${events} and the tables agree <small>(${took})</small></p>`
  const findings = maskFindings(report.findings, ctx.sensitive)
  return html`<p class="result bad" data-result="check">✗ ${findings.length} finding${findings.length === 1 ? '' : 's'} (${events}) <small>(${took})</small></p>
<table class="findings"><thead><tr><th scope="col">Kind</th><th scope="col">Finding</th><th scope="col">Columns (live → from the log)</th></tr></thead><tbody>${findings.map(
    (f) =>
      html`<tr><td><code>${f.kind}</code></td><td>${f.message}</td><td>${Object.entries(f.columns ?? {}).map(
        ([k, c]) =>
          html`<div><span class="key">${k}</span>: ${valueHtml(c.live)} → ${valueHtml(c.fromLog)}</div>`,
      )}</td></tr>`,
  )}</tbody></table>`
}

function verifyHtml(ctx: StudioContext, result: VerifyResult, took: string): Html {
  const events = `${result.replay.eventsApplied.toLocaleString('en-US')} event${result.replay.eventsApplied === 1 ? '' : 's'}`
  if (result.ok) {
    return html`<p class="result good" data-result="verify">✓ Replaying ${events} reproduces every tracked table exactly <small>(${took})</small></p>`
  }
  return html`<p class="result bad" data-result="verify">✗ The live tables differ from a replay of ${events} <small>(${took})</small></p>
${maskDifferences(result.differences, ctx.sensitive).map(
  (t) =>
    html`<h3>${t.resource}</h3><table class="findings"><thead><tr><th scope="col">Kind</th><th scope="col">Id</th><th scope="col">Columns (live → replayed)</th></tr></thead><tbody>${t.rows.map(
      (row) =>
        html`<tr><td>${row.kind}</td><td>${valueHtml(row.id)}</td><td>${Object.entries(row.columns).map(
          ([k, c]) =>
            html`<div><span class="key">${k}</span>: ${valueHtml(c.live)} → ${valueHtml(c.replayed)}</div>`,
        )}</td></tr>`,
    )}</tbody></table>${t.truncated ? html`<p class="note">More rows differ than are listed.</p>` : ''}`,
)}
<p class="note">Nothing was changed: the replay ran in a transaction that was rolled back.</p>`
}

/**
 * Consumers (projections, subscriptions) and how far behind the log each is. The consumers issue fills this
 * section from their checkpoints; until then there is nothing to show.
 */
function consumersSection(): Html {
  return html`<section aria-labelledby="consumers-heading" data-section="consumers">
  <h2 id="consumers-heading">Consumers</h2>
  <p class="none">No consumers: their positions and lag will show here once the app defines projections or subscriptions.</p>
</section>`
}
