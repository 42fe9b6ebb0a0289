import type { Json } from '../columns/values.js'
import type { RewindEvent } from '../events/event.js'
import type { AnyResource } from '../resource/define-resource.js'
import { maskValue } from '../runtime/masking.js'

/**
 * One event as it goes on a bus: the shared contract of the relay and `consumeRewindEvents` (docs/relay.md).
 * `body` is `JSON.stringify` of the event as `rewind.events()` gives it, sensitive values masked
 * (`{"$masked":true}`) unless allowed out; `headers` carry the facts a consumer filters on without parsing it.
 */
export interface RelayMessage {
  /** The event's id as text: `Nats-Msg-Id`, the key a consumer dedupes on. */
  readonly id: string
  readonly position: number
  readonly subject: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** The first token of every subject unless configured otherwise. */
export const DEFAULT_PREFIX = 'rewind'

/** A subject prefix: tokens of letters, digits, `_` and `-`, separated by dots (the relay's and the consumer's). */
export const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

/** The tenant token of an event without a tenant, in the tenant-aware layout. */
export const NO_TENANT = '_'

/** The headers of a relayed event (besides `Nats-Msg-Id`, which the JetStream publisher sets to the id). */
export const HEADERS = {
  eventId: 'Rewind-Event-Id',
  position: 'Rewind-Position',
  resource: 'Rewind-Resource',
  action: 'Rewind-Action',
  recordId: 'Rewind-Record-Id',
  version: 'Rewind-Version',
  tenant: 'Rewind-Tenant',
  actor: 'Rewind-Actor',
  occurredAt: 'Rewind-Occurred-At',
} as const

/** How an event becomes a message: the subject and which sensitive fields go out in clear. */
export interface MessageOptions {
  /** The first token of every subject (default `rewind`). */
  readonly prefix: string
  /** `${prefix}.${tenant ?? '_'}.${resource}.${action}` instead of `${prefix}.${resource}.${action}`. */
  readonly tenantInSubject: boolean
  /** A subject of your own per event (replaces the two above). */
  readonly subject: ((event: RewindEvent) => string) | undefined
  /** Sensitive fields sent in clear, by resource name: `{ User: ['email'] }`. */
  readonly allowSensitive: Readonly<Record<string, readonly string[]>>
}

const PLAIN = /^[A-Za-z0-9_-]+$/

/**
 * A value as one subject token: letters, digits, `_` and `-` as they are; anything else (a `.`, `*`, `>`,
 * a space, `%`) percent-encoded, so a token never splits or becomes a wildcard. Empty becomes `_`.
 */
export function subjectToken(value: string): string {
  if (value === '') return NO_TENANT
  if (PLAIN.test(value)) return value
  return encodeURIComponent(value).replace(
    /[.*!'()~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** The default subject of an event: `${prefix}.${resource}.${action}` (with the tenant after the prefix). */
export function defaultSubject(
  event: Pick<RewindEvent, 'resource' | 'action' | 'tenant'>,
  prefix: string,
  tenantInSubject: boolean,
): string {
  const tail = `${subjectToken(event.resource)}.${subjectToken(event.action)}`
  return tenantInSubject ? `${prefix}.${subjectToken(event.tenant ?? '')}.${tail}` : `${prefix}.${tail}`
}

/**
 * A subject filter in the default layout: each of resource, action and tenant is a value (encoded as
 * {@link defaultSubject} encodes it) or `'*'`, any.
 */
export function subjectFilter(
  of: { readonly resource: string; readonly action: string; readonly tenant: string },
  prefix: string,
  tenantInSubject: boolean,
): string {
  const token = (v: string) => (v === '*' ? '*' : subjectToken(v))
  const tail = `${token(of.resource)}.${token(of.action)}`
  return tenantInSubject ? `${prefix}.${token(of.tenant)}.${tail}` : `${prefix}.${tail}`
}

/** The event with sensitive values masked, except the fields allowed out (nulls stay null). */
export function busEvent(
  event: RewindEvent,
  resources: ReadonlyMap<string, AnyResource>,
  allow: Readonly<Record<string, readonly string[]>>,
): RewindEvent {
  const sensitive = resources.get(event.resource)?.sensitive
  if (!sensitive || sensitive.size === 0) return event
  const allowed = Object.hasOwn(allow, event.resource) ? allow[event.resource]! : []
  const hide = (values: Readonly<Record<string, Json>>) => {
    let out: Record<string, Json> | undefined
    for (const [k, v] of Object.entries(values)) {
      if (!sensitive.has(k) || allowed.includes(k) || v === null) continue
      out ??= { ...values }
      out[k] = maskValue(v) as Json
    }
    return out ?? values
  }
  return { ...event, data: hide(event.data), changedAttributes: hide(event.changedAttributes) }
}

const LINE_BREAK = /[\r\n]/

/**
 * A header value: a header cannot hold a line break, so a value with one (a record id or tenant that has
 * one) is percent-encoded whole (`%0A`); the body has the exact value. Others go as they are.
 */
export function headerValue(value: string): string {
  return LINE_BREAK.test(value) ? encodeURIComponent(value) : value
}

function hasActor(actor: Readonly<Record<string, Json>>): boolean {
  for (const v of Object.values(actor)) if (v !== null && v !== undefined) return true
  return false
}

/** The message of one event (see {@link RelayMessage}). */
export function toMessage(
  event: RewindEvent,
  resources: ReadonlyMap<string, AnyResource>,
  options: MessageOptions,
): RelayMessage {
  const id = String(event.id)
  const headers: Record<string, string> = {
    [HEADERS.eventId]: id,
    [HEADERS.position]: String(event.position),
    [HEADERS.resource]: event.resource,
    [HEADERS.action]: event.action,
    [HEADERS.recordId]: headerValue(event.recordId),
    [HEADERS.version]: String(event.version),
    [HEADERS.occurredAt]: event.occurredAt,
  }
  if (event.tenant !== null && event.tenant !== undefined) headers[HEADERS.tenant] = headerValue(event.tenant)
  if (hasActor(event.actor)) headers[HEADERS.actor] = JSON.stringify(event.actor)
  const subject = options.subject
    ? options.subject(event)
    : defaultSubject(event, options.prefix, options.tenantInSubject)
  return {
    id,
    position: event.position,
    subject,
    headers,
    body: JSON.stringify(busEvent(event, resources, options.allowSensitive)),
  }
}
