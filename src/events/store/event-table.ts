import type { ColumnCodec } from '../../columns/codec.js'
import { tableCodecs } from '../../columns/column-codec.js'
import type { RawRow } from '../../data/database.js'
import type { AnyResource } from '../../resource/define-resource.js'
import { qualifiedName, quoteIdent } from '../../schema/names.js'
import type { ResolvedEventLog } from '../event-log-config.js'

/** Whatever runs Rewind's statements and gives rows back as text: a transaction's client or the database. */
export interface Reader {
  queryText(text: string, params?: readonly (string | null)[]): Promise<RawRow[]>
}

/** The log's table as its statements need it: the name, each column's codec and quoted name. */
let tables = 0

export class EventTable {
  /** Tells this instance's table from another's in the shapes of cached statements (see append-following.ts). */
  readonly id = ++tables
  readonly name: string
  readonly codecs: ReadonlyMap<string, ColumnCodec>
  readonly #columns = new Map<string, string>()

  constructor(
    readonly config: ResolvedEventLog,
    /** The resources of the instance: their tenant columns say how a tenant is spelled in the log. */
    readonly resources: ReadonlyMap<string, AnyResource>,
  ) {
    this.name = qualifiedName(config.table)
    this.codecs = tableCodecs(config.table)
    for (const codec of this.codecs.values()) this.#columns.set(codec.key, quoteIdent(codec.name))
  }

  /** A column's quoted name, by key. */
  col(key: string): string {
    return this.#columns.get(key)!
  }

  /** The table's column, qualified (ORDER BY must name it: the select list has text aliases of the same keys). */
  qualified(key: string): string {
    return `${this.name}.${this.col(key)}`
  }
}
