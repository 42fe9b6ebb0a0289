import type { JetStreamManager } from '@nats-io/jetstream'
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node'
import { RewindError } from '../errors/rewind-error.js'
import { optionalImport } from '../util/optional-import.js'
import { HEADERS, type RelayMessage } from './message.js'
import type { Publisher, PublishResult } from './publisher.js'
import { serversText } from './servers.js'

/** What {@link JetStreamPublisher} takes. */
export interface JetStreamPublisherOptions {
  /** The NATS servers (`'nats://127.0.0.1:4222'`, or several). */
  readonly servers: string | readonly string[]
  /** The stream (default `REWIND`). */
  readonly stream: string
  /** The subjects of the stream when it is created (`<prefix>.>`). */
  readonly subjects: readonly string[]
  /** Create the stream when it does not exist (default true); false: it must exist. */
  readonly createStream: boolean
  /** The duplicate window of a stream it creates (default 2 minutes). */
  readonly duplicateWindowMs: number
  /** Messages published and not yet acknowledged, at most (default 5,000): past it, publishing waits. */
  readonly maxInFlight: number
  /** How long without any acknowledgement before the batch fails and is published again (default 10 s). */
  readonly ackTimeoutMs: number
  /**
   * The stream is the relay's alone (default true): the relay checks the stream's last message before it
   * publishes (and after any failure) and publishes only what comes after it, each message expecting the
   * stream's last sequence to be the one before it. False for a stream shared with other publishers: then
   * only JetStream's duplicate window keeps a republished event out.
   */
  readonly exclusive: boolean
  /** More options of `connect()` from `@nats-io/transport-node` (credentials, TLS, name, ...). */
  readonly connectionOptions: Readonly<Record<string, unknown>> | undefined
}

type Transport = typeof import('@nats-io/transport-node')
type JetStreamModule = typeof import('@nats-io/jetstream')

const PACKAGES = 'the NATS relay (rewind-es/relay)'

/** The stream's last sequence, and the position of the event it holds (undefined: not an event we know). */
interface StreamEnd {
  seq: number
  position: number | undefined
}

/** A JetStream acknowledgement, or its error. */
interface PubAck {
  readonly stream?: string
  readonly seq?: number
  readonly duplicate?: boolean
  readonly error?: { readonly code?: number; readonly err_code?: number; readonly description?: string }
}

/**
 * Sets headers of a fresh header set, each key once. `MsgHdrs.set` looks for the key among all keys set so
 * far and canonicalizes it on every call (a quarter of the relay's time in a profile); the header map of
 * nats.js's implementation takes them as they are (the values are checked for line breaks in toMessage).
 */
function fastSet(h: MsgHdrs): (key: string, value: string) => void {
  const map = (h as unknown as { headers?: unknown }).headers
  if (map instanceof Map) return (key, value) => map.set(key, [value])
  return (key, value) => h.append(key, value)
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Publishes to a JetStream stream: every message of a batch is sent at once (up to `maxInFlight` waiting for
 * acknowledgements, the acknowledgements come back on one inbox), and the batch resolves once all are
 * acknowledged. Ordering and exactly once (with `exclusive`): before the first batch and after any failure it
 * reads the stream's last message (its `Rewind-Position`), leaves out the messages the stream already has, and
 * sends each message with `Nats-Expected-Last-Sequence` one before its own: if the server lost one (a restart,
 * a dropped connection), every later one is refused, the batch fails, and the next attempt starts from what the
 * stream holds. `Nats-Msg-Id` is the event id, so the duplicate window drops a message sent twice too.
 */
export class JetStreamPublisher implements Publisher {
  #nc: NatsConnection | undefined
  #connecting: Promise<NatsConnection> | undefined
  #transport: Transport | undefined
  #jsm: JetStreamManager | undefined
  #inbox = ''
  #acks: Subscription | undefined
  #end: StreamEnd | undefined
  #batch = 0
  /** The acknowledgement handler of the batch being published. */
  #onAck: ((batch: number, index: number, msg: Msg) => void) | undefined
  #connected = false
  /** False after JetStream said no stream takes a subject (deleted meanwhile?): checked again first. */
  #streamReady = true
  readonly #decoder = new TextDecoder()

  constructor(readonly options: JetStreamPublisherOptions) {}

  get connected(): boolean {
    return this.#connected && this.#nc !== undefined && !this.#nc.isClosed()
  }

  async #connection(): Promise<NatsConnection> {
    if (this.#nc && !this.#nc.isClosed()) return this.#nc
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #connect(): Promise<NatsConnection> {
    this.#transport ??= await optionalImport<Transport>('@nats-io/transport-node', PACKAGES)
    const transport = this.#transport
    const jetstream = await optionalImport<JetStreamModule>('@nats-io/jetstream', PACKAGES)
    const servers =
      typeof this.options.servers === 'string' ? this.options.servers : [...this.options.servers]
    let nc: NatsConnection
    try {
      nc = await transport.connect({
        servers,
        name: 'rewind-relay',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        // A server that accepts the connection and never answers (frozen) fails the attempt after this.
        timeout: this.options.ackTimeoutMs,
        ...this.options.connectionOptions,
      })
    } catch (error) {
      throw new RewindError(
        'BROKER',
        `could not connect to NATS at ${serversText(servers)}: ${describe(error)}`,
        { cause: error, details: { connection: true } },
      )
    }
    try {
      const jsm = await jetstream.jetstreamManager(nc, { timeout: this.options.ackTimeoutMs })
      await this.#ensureStream(jsm, transport)
      this.#jsm = jsm
    } catch (error) {
      await nc.close().catch(() => {})
      throw error
    }
    this.#connected = true
    ;(async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.#connected = false
        else if (s.type === 'reconnect') this.#connected = true
      }
    })().catch(() => {})
    nc.closed().then(() => {
      this.#connected = false
    })
    this.#inbox = transport.createInbox()
    this.#acks = nc.subscribe(`${this.#inbox}.>`, {
      callback: (_error, msg) => {
        const dot = msg.subject.lastIndexOf('.')
        const batch = Number(msg.subject.slice(this.#inbox.length + 1, dot))
        this.#onAck?.(batch, Number(msg.subject.slice(dot + 1)), msg)
      },
    })
    this.#end = undefined
    this.#nc = nc
    return nc
  }

  async #ensureStream(jsm: JetStreamManager, transport: Transport): Promise<void> {
    const { stream, subjects, createStream, duplicateWindowMs } = this.options
    try {
      await jsm.streams.info(stream)
      return
    } catch (error) {
      const notFound =
        (error as { name?: string }).name === 'StreamNotFoundError' || /not found/i.test(describe(error))
      if (!notFound) throw error
      if (!createStream) {
        throw new RewindError(
          'INVALID_DEFINITION',
          `the JetStream stream "${stream}" does not exist; create it (subjects ${subjects.join(', ')}) or leave createStream on`,
          { cause: error },
        )
      }
    }
    try {
      await jsm.streams.add({
        name: stream,
        subjects: [...subjects],
        duplicate_window: transport.nanos(duplicateWindowMs),
      })
    } catch (error) {
      // Another relay made it meanwhile.
      if (/already in use|already exists/i.test(describe(error))) return
      if (/overlap/i.test(describe(error))) {
        throw new Error(
          `cannot create JetStream stream "${stream}": its subjects ${subjects.join(', ')} overlap with another stream's; give the relay that stream's name (stream) or another prefix`,
          { cause: error },
        )
      }
      throw error
    }
  }

  /** The stream's last sequence and the position of the event it holds. */
  async #readEnd(): Promise<StreamEnd> {
    const jsm = this.#jsm!
    const info = await jsm.streams.info(this.options.stream)
    const seq = info.state.last_seq
    if (seq === 0 || info.state.messages === 0) return { seq, position: undefined }
    const last = await jsm.streams.getMessage(this.options.stream, { seq }).catch(() => null)
    const text = last?.header?.get(HEADERS.position)
    const position = text ? Number(text) : Number.NaN
    return { seq, position: Number.isSafeInteger(position) ? position : undefined }
  }

  async publishBatch(messages: readonly RelayMessage[]): Promise<PublishResult> {
    const nc = await this.#connection()
    if (!this.#connected) {
      // Published now, the messages would wait in the client's buffer: the batch is tried again later.
      throw new RewindError(
        'BROKER',
        `NATS is disconnected from ${serversText(this.options.servers)}; reconnecting`,
        { details: { connection: true } },
      )
    }
    const transport = this.#transport!
    if (!this.#streamReady) {
      await this.#ensureStream(this.#jsm!, transport)
      this.#streamReady = true
    }
    const { exclusive, maxInFlight, ackTimeoutMs } = this.options
    if (exclusive && !this.#end) this.#end = await this.#readEnd()
    const end = this.#end
    const after = exclusive ? end?.position : undefined
    const todo = after === undefined ? messages : messages.filter((m) => m.position > after)
    const known = messages.length - todo.length
    if (todo.length === 0) return { published: 0, duplicates: known }
    const batch = ++this.#batch
    const base = end?.seq ?? 0
    let acked = 0
    let duplicates = 0
    let lastSeq = base
    let sent = 0
    let failure: Error | undefined
    let wake: (() => void) | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    // One timer for the batch: it fails the batch when no acknowledgement came for ackTimeoutMs (a timer
    // re-armed on every acknowledgement showed in the relay's profile).
    let lastAck = performance.now()
    const check = () => {
      if (performance.now() - lastAck < ackTimeoutMs) {
        timer = setTimeout(check, Math.max(10, ackTimeoutMs / 4))
        return
      }
      failure ??= new Error(
        `no acknowledgement from JetStream stream "${this.options.stream}" within ${ackTimeoutMs} ms (${acked} of ${todo.length} acknowledged)`,
      )
      wake?.()
    }
    this.#onAck = (b, index, msg) => {
      if (b !== batch || failure) return
      const ack = this.#ack(msg, todo[index])
      if (ack instanceof Error) failure = ack
      else {
        if (ack.duplicate) duplicates++
        if (index === todo.length - 1) lastSeq = ack.seq ?? lastSeq
        acked++
        lastAck = performance.now()
      }
      if (failure || acked === todo.length || sent - acked < maxInFlight) wake?.()
    }
    const waitFor = (done: () => boolean) =>
      new Promise<void>((resolve) => {
        if (done()) return resolve()
        wake = () => {
          if (done()) {
            wake = undefined
            resolve()
          }
        }
      })
    try {
      timer = setTimeout(check, Math.max(10, ackTimeoutMs / 4))
      for (let i = 0; i < todo.length; i++) {
        if (sent - acked >= maxInFlight)
          await waitFor(() => failure !== undefined || sent - acked < maxInFlight)
        if (failure) break
        const m = todo[i]!
        const h: MsgHdrs = transport.headers()
        const set = fastSet(h)
        for (const k in m.headers) set(k, m.headers[k]!)
        set('Nats-Msg-Id', m.id)
        if (exclusive && base + i > 0) set('Nats-Expected-Last-Sequence', String(base + i))
        nc.publish(m.subject, m.body, { reply: `${this.#inbox}.${batch}.${i}`, headers: h })
        sent++
      }
      if (!failure) await waitFor(() => failure !== undefined || acked === todo.length)
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error))
    } finally {
      if (timer) clearTimeout(timer)
      this.#onAck = undefined
    }
    if (failure) {
      // Whatever the stream holds now is read again before the next attempt.
      this.#end = undefined
      throw failure
    }
    this.#end = { seq: lastSeq, position: todo[todo.length - 1]!.position }
    if (duplicates > 0) this.#end = undefined
    return { published: todo.length - duplicates, duplicates: known + duplicates }
  }

  /** The acknowledgement of a message, or why the message was not stored. */
  #ack(msg: Msg, message: RelayMessage | undefined): PubAck | Error {
    const code = msg.headers?.code ?? 0
    if (code === 503) {
      this.#streamReady = false
      return new Error(
        `no JetStream stream takes subject "${message?.subject}" (stream "${this.options.stream}" should have subjects ${this.options.subjects.join(', ')})`,
      )
    }
    if (code >= 400 || msg.data.length === 0) {
      return new Error(
        `JetStream refused event ${message?.id}: ${msg.headers?.description ?? `status ${code}`}`,
      )
    }
    let ack: PubAck
    try {
      ack = JSON.parse(this.#decoder.decode(msg.data)) as PubAck
    } catch {
      return new Error(
        `JetStream answered event ${message?.id} with something that is not an acknowledgement`,
      )
    }
    if (ack.error) {
      return new Error(
        `JetStream refused event ${message?.id} (position ${message?.position}): ${ack.error.description ?? 'error'} (${ack.error.err_code ?? ack.error.code})`,
      )
    }
    return ack
  }

  async close(): Promise<void> {
    const nc = this.#nc
    this.#nc = undefined
    this.#end = undefined
    this.#connected = false
    this.#acks?.unsubscribe()
    this.#acks = undefined
    if (nc && !nc.isClosed()) await nc.close().catch(() => {})
  }
}
