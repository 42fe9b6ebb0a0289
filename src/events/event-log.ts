import { type ColumnCodec, comparedText } from '../columns/codec.js'
import type { Json } from '../columns/values.js'
import type { SqlClient } from '../data/database.js'
import { RewindError } from '../errors/rewind-error.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { FollowingWrite } from '../rows/row-store.js'
import { hasKeys } from '../util/has-keys.js'
import { uuidv7 } from '../util/uuidv7.js'
import type { CapturedEvent } from './capture.js'
import type { CapturePlan } from './capture-plan.js'
import { type RewindEvent, recordIdText } from './event.js'
import { advisoryKey, type ResolvedEventLog } from './event-log-config.js'
import { EMPTY_METADATA, metadataJson } from './metadata.js'
import { fieldAad, protect } from './sensitive.js'
import type { StoredEvent } from './store/append.js'
import type { DeferredColumn } from './store/append-following.js'
import { EventStore } from './store/event-store.js'
import { tenantText } from './store/selection.js'

/** An event encoded for the log: its stored columns, and its encoders as objects. */
interface Encoded {
  readonly stored: StoredEvent
  readonly dataEncoders: Record<string, string>
  readonly changedEncoders: Record<string, string>
}

/** Whether SQL can give a column's exact JSON (ColumnCodec.jsonSql), asked once per codec. */
const sqlJson = new WeakMap<ColumnCodec, boolean>()
function jsonInSql(codec: ColumnCodec): boolean {
  let can = sqlJson.get(codec)
  if (can === undefined) {
    can = codec.jsonSql('x') !== undefined
    sqlJson.set(codec, can)
  }
  return can
}

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
    await this.store.append(client, this.#encode(event).stored, advisoryKey(this.config.ordering, event))
  }

  /**
   * Stores one event, in the action's transaction, and gives it back as stored, in the shape readers of the
   * log get (position, id and transaction id included): for an observer that must see it inside the transaction.
   */
  async recordReturning(client: SqlClient, event: CapturedEvent): Promise<RewindEvent> {
    return this.store.appendReturning(
      client,
      this.#encode(event).stored,
      advisoryKey(this.config.ordering, event),
    )
  }

  /**
   * The insert of a planned event, to run in the same statement as its row write (see capture-plan.ts), or
   * undefined when the database cannot complete it exactly: a column whose exact JSON SQL cannot give, or an
   * ordering function (it is given the whole event, which only the written row completes).
   */
  following(plan: CapturePlan): FollowingWrite | undefined {
    const { event } = plan
    const resource = event.source
    if (this.config.ordering !== 'rowLocks' && typeof this.config.ordering.advisoryLock === 'function')
      return undefined
    const sqlable = (key: string) => jsonInSql(resource.codecs.get(key)!)
    if (!plan.deferred.every((d) => sqlable(d.key))) return undefined
    if (plan.occurredAt && !sqlable(plan.occurredAt.key)) return undefined
    const encoded = this.#encode(event)
    const recordId = event.recordId === null ? undefined : recordIdText(event.recordId)
    const deferred: DeferredColumn[] = plan.deferred.map((d) => {
      const codec = resource.codecs.get(d.key)!
      if (d.when !== 'changed')
        return { codec, when: d.when, always: d.when === 'filled' && d.always, encoder: codec.encoder }
      const entry = this.#protect(resource, recordId!, d.key, d.value)
      return {
        codec,
        when: 'changed',
        compare: comparedText(codec, d.value),
        stored: JSON.stringify(entry.value),
        encoder: entry.encoder,
      }
    })
    const time = plan.occurredAt
    const timeCodec = time ? resource.codecs.get(time.key)! : undefined
    return this.store.following(
      {
        stored: encoded.stored,
        primaryKey: resource.primaryKey,
        dataEncoders: encoded.dataEncoders,
        changedEncoders: encoded.changedEncoders,
        deferred,
        time:
          time === undefined
            ? undefined
            : time.when === 'filled'
              ? { codec: timeCodec!, when: 'filled' }
              : {
                  codec: timeCodec!,
                  when: 'changed',
                  compare: comparedText(timeCodec!, time.value),
                  time: time.time,
                },
      },
      advisoryKey(this.config.ordering, event),
    )
  }

  /** A new event's id when the app makes it (`idMode: 'uuidv7'`); undefined when the database does. */
  newId(): string | undefined {
    return this.config.idMode === 'uuidv7' ? uuidv7() : undefined
  }

  /** The event's metadata as its column's JSON text; `VALIDATION` when it is not plain JSON. */
  metadataText(resource: AnyResource, action: string, metadata: unknown): string {
    if (metadata === undefined) return '{}'
    const meta = metadataJson(metadata ?? {})
    if (!meta.ok) {
      throw new RewindError('VALIDATION', `${resource.name}.${action}: metadata ${meta.problem}`, {
        resource: resource.name,
        action,
        issues: [{ path: ['metadata'], message: meta.problem }],
      })
    }
    return meta.value === EMPTY_METADATA ? '{}' : JSON.stringify(meta.value)
  }

  /** The actor's columns as text, in `actorKeys` order; `VALIDATION` naming a column whose value does not fit. */
  actorColumns(resource: AnyResource, action: string, actor: unknown): (string | null)[] {
    const actors: (string | null)[] = []
    for (const key of this.config.actorKeys) {
      const value = this.config.actors[key]!(actor)
      if (value === undefined || value === null) {
        actors.push(null)
        continue
      }
      const codec = this.store.table.codecs.get(key)!
      const cast = codec.fromApp(value)
      if (!cast.ok) {
        throw new RewindError(
          'VALIDATION',
          `${resource.name}.${action}: actor column ${key}: ${cast.message}`,
          {
            resource: resource.name,
            action,
            issues: [{ path: ['actor', key], message: cast.message }],
          },
        )
      }
      actors.push(codec.toText(cast.value))
    }
    return actors
  }

  /** One changed value as the log stores it: encrypted or redacted when sensitive, with its encoder. */
  #protect(
    resource: AnyResource,
    recordId: string,
    key: string,
    value: Json,
  ): { value: Json; encoder: string | undefined } {
    const enc = resource.codecs.get(key)?.encoder
    // Not sensitive (most): stored as it is.
    if (!resource.sensitive.has(key)) return { value, encoder: enc }
    const out = protect(
      { [key]: value },
      enc ? { [key]: enc } : {},
      resource.sensitive,
      this.config.keys,
      (k) => fieldAad(resource.name, recordId, 'changed', k),
    )
    return { value: out.values[key] ?? null, encoder: out.encoders[key] }
  }

  /** The event's stored columns: payloads protected, metadata and actor columns checked. */
  #encode(event: CapturedEvent): Encoded {
    const resource = event.source
    const recordId = recordIdText(event.recordId)
    let data: ReturnType<typeof protect> = { values: event.data, encoders: event.dataEncoders }
    let changed: ReturnType<typeof protect> = { values: event.changedAttributes, encoders: NO_ENCODERS }
    // Most resources have neither a column JSON cannot hold as such nor a sensitive one: the payloads are
    // stored as they are, with no lookups per key.
    if (resource.encodedColumns.size > 0) {
      const changedEncoders: Record<string, string> = {}
      for (const key of Object.keys(event.changedAttributes)) {
        const enc = resource.codecs.get(key)?.encoder
        if (enc) changedEncoders[key] = enc
      }
      changed = { values: event.changedAttributes, encoders: changedEncoders }
    }
    if (resource.sensitive.size > 0) {
      const keys = this.config.keys
      data = protect(data.values, data.encoders, resource.sensitive, keys, (k) =>
        fieldAad(resource.name, recordId, 'data', k),
      )
      changed = protect(changed.values, changed.encoders, resource.sensitive, keys, (k) =>
        fieldAad(resource.name, recordId, 'changed', k),
      )
    }
    const encoders: Record<string, Record<string, string>> = {}
    let encoded = false
    if (hasKeys(data.encoders)) {
      encoders.data = data.encoders
      encoded = true
    }
    if (hasKeys(changed.encoders)) {
      encoders.changed = changed.encoders
      encoded = true
    }
    const metadata = this.metadataText(resource, event.action, event.metadata)
    const actors = this.actorColumns(resource, event.action, event.actor)
    return {
      stored: {
        id: this.newId(),
        recordId: event.recordId === null ? null : recordId,
        resource: resource.name,
        action: event.action,
        actionType: event.actionType,
        version: eventVersion(resource, event.action),
        data: JSON.stringify(data.values),
        changedAttributes: JSON.stringify(changed.values),
        metadata,
        encoders: encoded ? JSON.stringify(encoders) : '{}',
        occurredAt: event.occurredAt,
        tenant: event.tenant === undefined || event.tenant === null ? null : tenantText(event.tenant),
        actors,
      },
      dataEncoders: data.encoders,
      changedEncoders: changed.encoders,
    }
  }
}

/** The version of an action's events (1 unless `events.versions` says otherwise). */
export function eventVersion(resource: AnyResource, action: string): number {
  return resource.events.versions?.[action] ?? 1
}

/** No encoders (the payloads JSON holds as they are): one frozen object for all. */
export const NO_ENCODERS: Readonly<Record<string, string>> = Object.freeze({})
