import type { RawRow } from './database.js'

/**
 * Prepared statements on PGlite. `PGlite.query` makes six calls into the WebAssembly module per statement
 * (parse, describe, bind, describe, execute, sync) and parses and plans the text every time. Rewind's
 * statements are few and repeat, so inside a transaction it prepares each one once per PGlite instance and
 * then sends bind, execute and sync as one message: about three times fewer instructions per statement.
 */

/** What Rewind needs of a PGlite instance for this path (PGlite 0.3 and later have it). */
export interface PgliteWireLike {
  /** Hands the raw response to `onRawData` (a view into PGlite's memory, valid during the call). */
  execProtocolRawStream(
    message: Uint8Array,
    options: { syncToFs?: boolean; onRawData: (chunk: Uint8Array) => void },
  ): Promise<void>
  runExclusive<T>(fn: () => Promise<T>): Promise<T>
}

export function supportsWire(pg: unknown): pg is PgliteWireLike {
  const p = pg as Partial<PgliteWireLike> | null
  return typeof p?.execProtocolRawStream === 'function' && typeof p.runExclusive === 'function'
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

/** An error the database reported, with the fields of its ErrorResponse (as pg and PGlite give them). */
export class PgliteWireError extends Error {
  severity?: string
  code?: string
  detail?: string
  hint?: string
  position?: string
  where?: string
  schema?: string
  table?: string
  column?: string
  dataType?: string
  constraint?: string
}

const ERROR_FIELDS: Record<string, keyof PgliteWireError> = {
  S: 'severity',
  C: 'code',
  D: 'detail',
  H: 'hint',
  P: 'position',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  d: 'dataType',
  n: 'constraint',
}

/** Node's Buffer decodes short UTF-8 strings about twice as fast as a TextDecoder (utf8Slice skips its checks). */
type Utf8Buffer = Buffer & { utf8Slice?: (start: number, end: number) => string }
function utf8Reader(buf: Uint8Array): (start: number, end: number) => string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength) as Utf8Buffer
  return typeof b.utf8Slice === 'function'
    ? (start, end) => b.utf8Slice!(start, end)
    : (start, end) => b.toString('utf8', start, end)
}

/** What one round trip returned: result column names (from a RowDescription, if one came), rows, any error. */
interface Response {
  fields: readonly string[] | undefined
  rows: RawRow[]
  error: PgliteWireError | undefined
}

/**
 * Reads the backend messages Rewind's statements produce, building each row keyed by its column names:
 * `names` for a prepared statement (executed without a Describe), else the RowDescription's. PGlite's own
 * parser copies every field into a fresh ArrayBuffer before decoding it, which dominated large reads (a
 * replay's batches of events); this decodes in place.
 */
function readResponse(buf: Uint8Array, names: readonly string[] | undefined): Response {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const text = utf8Reader(buf)
  const out: Response = { fields: names, rows: [], error: undefined }
  let pos = 0
  while (pos + 5 <= buf.length) {
    const type = buf[pos]!
    const end = pos + 1 + view.getInt32(pos + 1)
    let p = pos + 5
    if (type === 0x44 /* D: DataRow */ && out.fields) {
      const fields = out.fields
      const n = view.getInt16(p)
      p += 2
      const row: RawRow = {}
      for (let i = 0; i < n; i++) {
        const len = view.getInt32(p)
        p += 4
        let value: string | null = null
        if (len >= 0) {
          value = text(p, p + len)
          p += len
        }
        row[fields[i]!] = value
      }
      out.rows.push(row)
    } else if (type === 0x54 /* T: RowDescription */) {
      const n = view.getInt16(p)
      p += 2
      const fields: string[] = []
      for (let i = 0; i < n; i++) {
        const zero = buf.indexOf(0, p)
        fields.push(text(p, zero))
        p = zero + 1 + 18 // table oid, column number, type oid, type size, type modifier, format
      }
      out.fields = fields
    } else if (type === 0x45 /* E: ErrorResponse */ && !out.error) {
      const values: Record<string, string> = {}
      while (buf[p] !== 0 && p < end) {
        const code = String.fromCharCode(buf[p]!)
        const zero = buf.indexOf(0, p + 1)
        values[code] = text(p + 1, zero)
        p = zero + 1
      }
      const error = new PgliteWireError(values.M ?? 'the database reported an error')
      for (const [code, key] of Object.entries(ERROR_FIELDS))
        if (values[code] !== undefined) (error as unknown as Record<string, string>)[key] = values[code]!
      out.error = error
    }
    // Everything else (ParseComplete, BindComplete, CommandComplete, NoData, notices, ReadyForQuery) carries
    // nothing a statement's caller needs.
    pos = end
  }
  return out
}

async function roundTrip(
  pg: PgliteWireLike,
  message: Uint8Array,
  names?: readonly string[] | undefined,
): Promise<Response> {
  const chunks: Uint8Array[] = []
  let size = 0
  await pg.execProtocolRawStream(message, {
    syncToFs: false,
    onRawData: (chunk) => {
      chunks.push(chunk.slice())
      size += chunk.length
    },
  })
  let buf: Uint8Array
  if (chunks.length === 1) buf = chunks[0]!
  else {
    buf = new Uint8Array(size)
    let at = 0
    for (const c of chunks) {
      buf.set(c, at)
      at += c.length
    }
  }
  const res = readResponse(buf, names)
  if (res.error) throw res.error
  return res
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
      prepared = { name, fields: (await roundTrip(pg, w.done())).fields }
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
    try {
      return (await roundTrip(pg, w.done(), prepared?.fields)).rows
    } catch (error) {
      // Someone ran DEALLOCATE ALL or DISCARD ALL on this session: prepare again from the next call on.
      if ((error as { code?: unknown })?.code === '26000') sessions.delete(pg)
      throw error
    }
  })
}
