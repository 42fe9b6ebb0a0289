import type { ColumnCodec } from '../../columns/codec.js'
import type { Json } from '../../columns/values.js'
import type { RawRow } from '../../data/database.js'
import { quoteIdent } from '../../schema/names.js'
import { NOT_REPLAYED, type ReplayedEvent, type RewindEvent } from '../event.js'
import { EVENT_LOG_COLUMNS } from '../event-log-table.js'
import { fieldAad, reveal } from '../sensitive.js'
import type { EventTable } from './event-table.js'

/** The event columns replay reads (see {@link ReplayedEvent}); actor columns are not among them. */
const REPLAYED_NAMES = EVENT_LOG_COLUMNS.filter(
  (k): k is Exclude<(typeof EVENT_LOG_COLUMNS)[number], (typeof NOT_REPLAYED)[number]> =>
    !(NOT_REPLAYED as readonly string[]).includes(k),
)
const REPLAYED_KEYS: ReadonlySet<string> = new Set(REPLAYED_NAMES)

/** Which columns a read selects: every one, or those replay and `stateAt` use. */
export type EventColumns = 'all' | 'replayed'

/** Selects events' columns as text and turns the rows into events, decrypting what the configured keys can. */
export class EventRows {
  readonly #lists: Record<EventColumns, string>
  /** The codecs decodeReplayed reads, looked up once. */
  readonly #replayed: Readonly<Record<(typeof REPLAYED_NAMES)[number], ColumnCodec>>

  constructor(readonly table: EventTable) {
    const list = (only?: ReadonlySet<string>) =>
      [...table.codecs.values()]
        .filter((c) => !only || only.has(c.key))
        .map((c) => `${table.col(c.key)}::text AS ${quoteIdent(c.key)}`)
        .join(', ')
    this.#lists = { all: list(), replayed: list(REPLAYED_KEYS) }
    this.#replayed = Object.fromEntries(REPLAYED_NAMES.map((key) => [key, table.codecs.get(key)!])) as Record<
      (typeof REPLAYED_NAMES)[number],
      ColumnCodec
    >
  }

  /** The select list of the columns, as text, aliased by key. */
  selectList(columns: EventColumns): string {
    return this.#lists[columns]
  }

  /** A stored row (every column) to an event. */
  decode(row: RawRow): RewindEvent {
    const codecs = this.table.codecs
    const get = (key: string) => codecs.get(key)!.fromText(row[key] ?? null)
    const actor: Record<string, Json> = {}
    for (const key of this.table.config.actorKeys) actor[key] = get(key)
    return {
      ...this.decodeReplayed(row),
      metadata: (get('metadata') ?? {}) as Record<string, Json>,
      occurredAt: get('occurredAt') as string,
      transactionId: get('transactionId') as string,
      actor,
    }
  }

  /** The part of a stored row replay uses (a row selected with `replayed` columns, or a whole one). */
  decodeReplayed(row: RawRow): ReplayedEvent {
    const c = this.#replayed
    const keys = this.table.config.keys
    const recordId = c.recordId.fromText(row.recordId ?? null) as string
    const resource = c.resource.fromText(row.resource ?? null) as string
    const encoders = (c.encoders.fromText(row.encoders ?? null) ?? {}) as {
      data?: Record<string, string>
      changed?: Record<string, string>
    }
    const data = reveal(
      (c.data.fromText(row.data ?? null) ?? {}) as Record<string, Json>,
      encoders.data,
      keys,
      (k) => fieldAad(resource, recordId, 'data', k),
    )
    const changed = reveal(
      (c.changedAttributes.fromText(row.changedAttributes ?? null) ?? {}) as Record<string, Json>,
      encoders.changed,
      keys,
      (k) => fieldAad(resource, recordId, 'changed', k),
    )
    const idValue = c.id.fromText(row.id ?? null)
    const revealedEncoders: { data?: Record<string, string>; changed?: Record<string, string> } = {}
    if (data.encoders) revealedEncoders.data = data.encoders
    if (changed.encoders) revealedEncoders.changed = changed.encoders
    return {
      id:
        typeof idValue === 'string' && this.table.config.idMode === 'bigint'
          ? Number(idValue)
          : (idValue as number | string),
      position: Number(row.position),
      recordId,
      resource,
      action: c.action.fromText(row.action ?? null) as string,
      actionType: c.actionType.fromText(row.actionType ?? null) as RewindEvent['actionType'],
      version: c.version.fromText(row.version ?? null) as number,
      data: data.values,
      changedAttributes: changed.values,
      encoders: revealedEncoders,
      tenant: c.tenant.fromText(row.tenant ?? null) as string | null,
    }
  }
}
