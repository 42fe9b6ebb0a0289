import type { RewindEvent } from '../events/event.js'
import { MASK, MASKED } from '../runtime/masking.js'
import { type Html, html } from './html.js'

/** JSON text of a canonical value (bigints and bytes never reach here: the log holds them as text). */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent) ?? 'undefined'
}

/**
 * One value as a person reads it: JSON (strings quoted, so that null and "null" differ), a masked value as
 * ••• with a hint, long text cut at `max` characters (the whole value in the title).
 */
export function valueHtml(value: unknown, max = 200): Html {
  if (value === MASKED) {
    return html`<span class="masked" title="sensitive: start the studio with --reveal to see it">${MASK}</span>`
  }
  if (value === null || value === undefined) return html`<span class="null">null</span>`
  const text = jsonText(value)
  const cls = typeof value === 'string' ? 'str' : typeof value === 'object' ? 'obj' : 'num'
  if (text.length <= max) return html`<span class="${cls}">${text}</span>`
  return html`<span class="${cls}" title="${text.slice(0, 2000)}">${text.slice(0, max)}…</span>`
}

/** `2026-01-31T12:00:00.123456Z` as `2026-01-31 12:00:00.123456` in a `<time>` (UTC; the page says so). */
export function timeHtml(occurredAt: string): Html {
  return html`<time datetime="${occurredAt}">${occurredAt.replace('T', ' ').replace(/Z$/, '')}</time>`
}

/** The actor columns that are set, `column=value`, or a dash. */
export function actorHtml(event: Pick<RewindEvent, 'actor'>): Html {
  const set = Object.entries(event.actor).filter(([, v]) => v !== null && v !== undefined)
  if (!set.length) return html`<span class="none">-</span>`
  return html`${set.map(
    ([k, v], i) =>
      html`${i ? ' ' : ''}<span class="actor"><span class="key">${k}</span>=${typeof v === 'string' ? v : jsonText(v)}</span>`,
  )}`
}

/** `Resource.action vN`, with the kind of action as a class (create, update, destroy). */
export function actionHtml(event: Pick<RewindEvent, 'resource' | 'action' | 'version' | 'actionType'>): Html {
  return html`<span class="action ${event.actionType}">${event.resource}.${event.action}</span> <span class="version">v${event.version}</span>`
}

/** Metadata as `key=value` pairs. */
export function metadataHtml(metadata: Readonly<Record<string, unknown>>): Html {
  const entries = Object.entries(metadata)
  if (!entries.length) return html``
  return html`${entries.map(
    ([k, v]) =>
      html`<span class="meta"><span class="key">${k}</span>=${typeof v === 'string' ? v : jsonText(v)}</span> `,
  )}`
}

/** What an event wrote, `key=value`: its input, then the other columns the action set (already masked). */
export function payloadHtml(
  event: Pick<RewindEvent, 'data' | 'changedAttributes' | 'recordId'>,
  primaryKey?: string,
): Html {
  const values = { ...event.data, ...event.changedAttributes } as Record<string, unknown>
  const parts = Object.entries(values).filter(
    ([k, v]) => !(k === primaryKey && (v === event.recordId || String(v) === event.recordId)),
  )
  return html`${parts.map(([k, v]) => html`<span class="kv"><span class="key">${k}</span>=${valueHtml(v, 60)}</span> `)}`
}
