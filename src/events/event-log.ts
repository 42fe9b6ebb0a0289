import type { SqlClient } from '../data/database.js'
import { RewindError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import { uuidv7 } from '../util/uuidv7.js'
import type { CapturedEvent } from './capture.js'
import { recordIdText } from './event.js'
import { advisoryKey, type ResolvedEventLog } from './event-log-config.js'
import { metadataJson } from './metadata.js'
import { fieldAad, protect } from './sensitive.js'
import { EventStore } from './store/event-store.js'
import { tenantText } from './store/selection.js'

/**
 * The event log of a Rewind instance: which actions it records, and how an event is stored (payloads encoded,
 * sensitive values encrypted or redacted, actor columns resolved). Its SQL lives in {@link EventStore}.
 */
export class EventLog {
  readonly store: EventStore

  constructor(
    readonly config: ResolvedEventLog,
    readonly resources: ReadonlyMap<string, AnyResource>,
  ) {
    this.store = new EventStore(config, resources)
  }

  /** Whether this action records events. */
  tracks(resource: AnyResource, action: string): boolean {
    const ev = resource.events
    if (ev.track === false) return false
    const def = resource.actions[action] as { kind: string } | undefined
    if (!def || def.kind === 'action') return false
    if (ev.only) return ev.only.includes(action)
    return !(ev.ignore ?? []).includes(action)
  }

  /** Stores one event, in the action's transaction. */
  async record(client: SqlClient, event: CapturedEvent): Promise<void> {
    const resource = event.source
    const recordId = recordIdText(event.recordId)
    const keys = this.config.keys
    const changedEncoders: Record<string, string> = {}
    for (const key of Object.keys(event.changedAttributes)) {
      const enc = resource.codecs.get(key)?.encoder
      if (enc) changedEncoders[key] = enc
    }
    const data = protect(event.data, event.dataEncoders, resource.sensitive, keys, (k) =>
      fieldAad(resource.name, recordId, 'data', k),
    )
    const changed = protect(event.changedAttributes, changedEncoders, resource.sensitive, keys, (k) =>
      fieldAad(resource.name, recordId, 'changed', k),
    )
    const encoders: Record<string, Record<string, string>> = {}
    if (Object.keys(data.encoders).length) encoders.data = data.encoders
    if (Object.keys(changed.encoders).length) encoders.changed = changed.encoders

    const meta = metadataJson(event.metadata ?? {})
    if (!meta.ok) {
      throw new RewindError('VALIDATION', `${resource.name}.${event.action}: metadata ${meta.problem}`, {
        resource: resource.name,
        action: event.action,
        issues: [{ path: ['metadata'], message: meta.problem }],
      })
    }
    const actors: (string | null)[] = []
    for (const key of this.config.actorKeys) {
      const value = this.config.actors[key]!(event.actor)
      if (value === undefined || value === null) {
        actors.push(null)
        continue
      }
      const codec = this.store.table.codecs.get(key)!
      const cast = codec.fromApp(value)
      if (!cast.ok) {
        throw new RewindError(
          'VALIDATION',
          `${resource.name}.${event.action}: actor column ${key}: ${cast.message}`,
          {
            resource: resource.name,
            action: event.action,
            issues: [{ path: ['actor', key], message: cast.message }],
          },
        )
      }
      actors.push(codec.toText(cast.value))
    }
    await this.store.append(
      client,
      {
        id: this.config.idMode === 'uuidv7' ? uuidv7() : undefined,
        recordId,
        resource: resource.name,
        action: event.action,
        actionType: event.actionType,
        version: resource.events.versions?.[event.action] ?? 1,
        data: JSON.stringify(data.values),
        changedAttributes: JSON.stringify(changed.values),
        metadata: JSON.stringify(meta.value),
        encoders: JSON.stringify(encoders),
        occurredAt: event.occurredAt,
        tenant: event.tenant === undefined || event.tenant === null ? null : tenantText(event.tenant),
        actors,
      },
      advisoryKey(this.config.ordering, event),
    )
  }
}
