/**
 * The message format of Rewind's events on NATS JetStream: the contract between the relay that publishes them
 * and the consumers of other services. The body is the JSON of the event as `rewind.events()` returns it.
 */

/** The headers of an event's message. `Nats-Msg-Id` (JetStream's de-duplication key) is the event id. */
export const REWIND_HEADERS = {
  msgId: 'Nats-Msg-Id',
  eventId: 'Rewind-Event-Id',
  position: 'Rewind-Position',
  resource: 'Rewind-Resource',
  action: 'Rewind-Action',
  recordId: 'Rewind-Record-Id',
  version: 'Rewind-Version',
  /** Absent for an event without a tenant. */
  tenant: 'Rewind-Tenant',
  /** The actor columns as JSON; absent when no actor. */
  actor: 'Rewind-Actor',
  /** ISO 8601. */
  occurredAt: 'Rewind-Occurred-At',
} as const

/** The first token of every subject unless configured otherwise. */
export const DEFAULT_SUBJECT_PREFIX = 'rewind'

/** The tenant token of an event without a tenant, in the tenant-aware layout. */
export const NO_TENANT = '_'

/** How subjects are laid out: `prefix.resource.action`, or with `tenants`, `prefix.tenant.resource.action`. */
export interface SubjectLayout {
  readonly prefix?: string
  readonly tenants?: boolean
}

/** The subject of an event (or, with `'*'` and `'>'` tokens, a filter over several). */
export function eventSubject(
  layout: SubjectLayout,
  event: { readonly resource: string; readonly action: string; readonly tenant?: string | null },
): string {
  const prefix = layout.prefix ?? DEFAULT_SUBJECT_PREFIX
  return layout.tenants
    ? `${prefix}.${event.tenant ?? NO_TENANT}.${event.resource}.${event.action}`
    : `${prefix}.${event.resource}.${event.action}`
}
