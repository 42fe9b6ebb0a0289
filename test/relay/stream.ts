import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'

/** One message of the stream as read back: sequence, subject, headers, body. */
export interface StreamMessage {
  readonly seq: number
  readonly subject: string
  readonly headers: Record<string, string>
  readonly body: string
}

/** Every message of `stream`, in stream order (an ordered consumer of the test's own). */
export async function readStream(url: string, stream: string): Promise<StreamMessage[]> {
  const nc = await connect({ servers: url })
  try {
    const jsm = await jetstreamManager(nc)
    const total = (await jsm.streams.info(stream)).state.messages
    const out: StreamMessage[] = []
    if (total === 0) return out
    const consumer = await jetstream(nc).consumers.get(stream)
    while (out.length < total) {
      const batch = await consumer.fetch({
        max_messages: Math.min(10_000, total - out.length),
        expires: 2000,
      })
      for await (const m of batch) {
        const headers: Record<string, string> = {}
        for (const [k, v] of m.headers ?? []) headers[k] = v[0]!
        out.push({ seq: m.seq, subject: m.subject, headers, body: m.string() })
      }
    }
    return out
  } finally {
    await nc.close()
  }
}

/** The stream's message count (0 when it does not exist). */
export async function streamCount(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url })
  try {
    const jsm = await jetstreamManager(nc)
    return (await jsm.streams.info(stream)).state.messages
  } catch {
    return 0
  } finally {
    await nc.close()
  }
}

/** Deletes `stream` (as an operator would, under a running relay). */
export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url })
  try {
    await (await jetstreamManager(nc)).streams.delete(stream)
  } finally {
    await nc.close()
  }
}
