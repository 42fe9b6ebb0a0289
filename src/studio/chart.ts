import type { Bucket } from './activity.js'
import { type Html, html } from './html.js'

const WIDTH = 720
const HEIGHT = 180
const PALETTE_SIZE = 8

/** `2026-01-31 12:00` (UTC) of an hour since the epoch; the date alone for buckets of a day or more. */
export function hourLabel(hour: number, hours: number): string {
  const iso = new Date(hour * 3_600_000).toISOString()
  return hours >= 24 ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`
}

/**
 * Events over time as stacked bars, one colour per resource (in `resources` order), drawn on the server as
 * SVG: no script, no library. Each bar segment has a tooltip; the numbers are also in a table below.
 */
export function eventsChart(buckets: readonly Bucket[], resources: readonly string[]): Html {
  const totals = buckets.map((b) => [...b.counts.values()].reduce((a, n) => a + n, 0))
  const max = Math.max(1, ...totals)
  const gap = buckets.length > 40 ? 1 : 2
  const barWidth = WIDTH / Math.max(1, buckets.length)
  const scale = (HEIGHT - 4) / max
  const hours = buckets[0]?.hours ?? 1
  const total = totals.reduce((a, n) => a + n, 0)
  const bars = buckets.map((b, i) => {
    let y = HEIGHT
    const x = i * barWidth
    const label = hourLabel(b.hour, hours)
    return resources.map((resource, r) => {
      const n = b.counts.get(resource) ?? 0
      if (!n) return ''
      const h = Math.max(1, n * scale)
      y -= h
      return html`<rect class="c${r % PALETTE_SIZE}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barWidth - gap).toFixed(1)}" height="${h.toFixed(1)}"><title>${label}: ${n.toLocaleString('en-US')} ${resource} event${n === 1 ? '' : 's'}</title></rect>`
    })
  })
  const first = buckets[0]
  const last = buckets[buckets.length - 1]
  return html`<figure class="chart">
<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${`${total.toLocaleString('en-US')} events over ${buckets.length} bars of ${hours} hour${hours === 1 ? '' : 's'}`}" preserveAspectRatio="none">
  <line class="axis" x1="0" y1="${HEIGHT}" x2="${WIDTH}" y2="${HEIGHT}"/>
  ${bars}
</svg>
<div class="ticks"><span>${first ? hourLabel(first.hour, hours) : ''}</span><span class="max">at most ${max.toLocaleString('en-US')} per bar</span><span>${last && last !== first ? hourLabel(last.hour, hours) : ''}</span></div>
<figcaption>${resources.map((r, i) => html`<span class="legend"><span class="swatch c${i % PALETTE_SIZE}"></span>${r}</span> `)}</figcaption>
</figure>
<details class="chart-data"><summary>The numbers</summary>
<table class="data"><thead><tr><th scope="col">From (UTC)</th>${resources.map((r) => html`<th scope="col" class="n">${r}</th>`)}<th scope="col" class="n">All</th></tr></thead>
<tbody>${buckets.map(
    (b, i) =>
      html`<tr><td>${hourLabel(b.hour, hours)}</td>${resources.map((r) => html`<td class="n">${(b.counts.get(r) ?? 0).toLocaleString('en-US')}</td>`)}<td class="n">${totals[i]!.toLocaleString('en-US')}</td></tr>`,
  )}</tbody></table></details>`
}
