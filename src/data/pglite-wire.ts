import type { RawRow } from './database.js'

/**
 * Prepared statements on PGlite. `PGlite.query` makes six calls into the WebAssembly module per statement
 * (parse, describe, bind, describe, execute, sync) and parses and plans the text every time. Rewind's
 * statements are few and repeat, so inside a transaction it prepares each one once per PGlite instance and
 * then sends bind, execute and sync as one message: about three times fewer instructions per statement.
 */

/** What Rewind needs of a PGlite instance for this path (PGlite ≥ 0.3 has all of it). */
export interface PgliteWireLike {
  execProtocol(
    message: Uint8Array,
    options: { syncToFs?: boolean },
  ): Promise<{ messages: readonly WireMessage[] }>
  runExclusive<T>(fn: () => Promise<T>): Promise<T>
}

interface WireMessage {
  readonly name: string
  readonly fields?: readonly (string | null | { readonly name: string })[]
}

export function supportsWire(pg: unknown): pg is PgliteWireLike {
  const p = pg as Partial<PgliteWireLike> | null
  return typeof p?.execProtocol === 'function' && typeof p.runExclusive === 'function'
}

const encoder = new TextEncoder()

/** A frontend message builder: a type byte, a length, then the body. */
class MessageWriter {
  #buf = new Uint8Array(512)
  #len = 0
  #start = 0

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return
    let size = this.#buf.length * 2
    while (size < this.#len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }

  begin(type: string): this {
    this.#room(5)
    this.#start = this.#len
    this.#buf[this.#len] = type.charCodeAt(0)
    this.#len += 5
    return this
  }

  end(): this {
    this.#int32At(this.#start + 1, this.#len - this.#start - 1)
    return this
  }

  #int32At(at: number, v: number): void {
    this.#buf[at] = (v >>> 24) & 0xff
    this.#buf[at + 1] = (v >>> 16) & 0xff
    this.#buf[at + 2] = (v >>> 8) & 0xff
    this.#buf[at + 3] = v & 0xff
  }

  int32(v: number): this {
    this.#room(4)
    this.#int32At(this.#len, v)
    this.#len += 4
    return this
  }

  int16(v: number): this {
    this.#room(2)
    this.#buf[this.#len] = (v >>> 8) & 0xff
    this.#buf[this.#len + 1] = v & 0xff
    this.#len += 2
    return this
  }

  bytes(b: Uint8Array): this {
    this.#room(b.length)
    this.#buf.set(b, this.#len)
    this.#len += b.length
    return this
  }

  /** A NUL-terminated string. */
  cstring(s: string): this {
    return this.bytes(encoder.encode(s)).bytes(NUL)
  }

  done(): Uint8Array {
    return this.#buf.subarray(0, this.#len)
  }
}

const NUL = new Uint8Array([0])

function parse(w: MessageWriter, name: string, text: string): void {
  w.begin('P').cstring(name).cstring(text).int16(0).end()
}

function bind(w: MessageWriter, statement: string, params: readonly (string | null)[]): void {
  w.begin('B').cstring('').cstring(statement).int16(0).int16(params.length)
  for (const p of params) {
    if (p === null || p === undefined) w.int32(-1)
    else {
      const b = encoder.encode(p)
      w.int32(b.length).bytes(b)
    }
  }
  w.int16(0).end()
}

const describe = (w: MessageWriter, kind: 'S' | 'P', name: string) =>
  w
    .begin('D')
    .bytes(new Uint8Array([kind.charCodeAt(0)]))
    .cstring(name)
    .end()
const execute = (w: MessageWriter) => w.begin('E').cstring('').int32(0).end()
const sync = (w: MessageWriter) => w.begin('S').end()

function fieldNames(messages: readonly WireMessage[]): string[] | undefined {
  const desc = messages.find((m) => m.name === 'rowDescription')
  return desc ? (desc.fields as { name: string }[]).map((f) => f.name) : undefined
}

function rows(messages: readonly WireMessage[], names: readonly string[] | undefined): RawRow[] {
  const out: RawRow[] = []
  if (!names) return out
  for (const m of messages) {
    if (m.name !== 'dataRow') continue
    const row: RawRow = {}
    const values = m.fields as (string | null)[]
    for (let i = 0; i < names.length; i++) row[names[i]!] = values[i] ?? null
    out.push(row)
  }
  return out
}

/** The statements prepared on one PGlite instance (a session: names are shared by every Rewind on it). */
interface Prepared {
  readonly name: string
  /** Result column names; undefined when the statement returns no rows. */
  readonly fields: readonly string[] | undefined
}

const MAX_PREPARED = 1000
const sessions = new WeakMap<object, { statements: Map<string, Prepared>; next: number }>()

/**
 * Runs one statement inside an open transaction on `pg`: prepared on first use (bounded; past the bound,
 * unnamed), then bind + execute + sync in one call. Result values are PostgreSQL's text output.
 */
export function wireQuery(
  pg: PgliteWireLike,
  text: string,
  params: readonly (string | null)[],
): Promise<RawRow[]> {
  return pg.runExclusive(async () => {
    let session = sessions.get(pg)
    if (!session) {
      session = { statements: new Map(), next: 1 }
      sessions.set(pg, session)
    }
    let prepared = session.statements.get(text)
    if (!prepared && session.statements.size < MAX_PREPARED) {
      // Prepare on its own first, so a statement that fails to parse is never taken for prepared.
      const name = `rewind_wire_${session.next++}`
      const w = new MessageWriter()
      parse(w, name, text)
      describe(w, 'S', name)
      sync(w)
      const res = await pg.execProtocol(w.done(), { syncToFs: false })
      prepared = { name, fields: fieldNames(res.messages) }
      session.statements.set(text, prepared)
    }
    const w = new MessageWriter()
    if (!prepared) {
      parse(w, '', text)
      bind(w, '', params)
      describe(w, 'P', '')
    } else bind(w, prepared.name, params)
    execute(w)
    sync(w)
    let res: { messages: readonly WireMessage[] }
    try {
      res = await pg.execProtocol(w.done(), { syncToFs: false })
    } catch (error) {
      // Someone ran DEALLOCATE ALL or DISCARD ALL on this session: prepare again from the next call on.
      if ((error as { code?: unknown })?.code === '26000') sessions.delete(pg)
      throw error
    }
    return rows(res.messages, prepared ? prepared.fields : fieldNames(res.messages))
  })
}
