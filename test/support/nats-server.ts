import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BINARY = process.env.NATS_SERVER ?? '/usr/sbin/nats-server'

/** A port nobody listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * A nats-server of the test's own (JetStream on, its own port and store directory), never the machine's
 * shared one at 4222: a test may stop and restart it.
 */
export class NatsServer {
  #proc: ChildProcess | undefined
  #exited: Promise<void> | undefined
  readonly dir: string

  private constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'rewind-nats-'))
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  /** A server on a free port (started unless `started: false`: a port where nothing listens yet). */
  static async create(options: { started?: boolean } = {}): Promise<NatsServer> {
    const server = new NatsServer(await freePort())
    if (options.started !== false) await server.start()
    return server
  }

  async start(): Promise<void> {
    if (this.#proc) return
    const proc = spawn(BINARY, ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.dir], {
      stdio: 'ignore',
    })
    this.#proc = proc
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()))
    for (let i = 0; !(await accepts(this.port)); i++) {
      if (proc.exitCode !== null) throw new Error(`nats-server on port ${this.port} exited at start`)
      if (i > 3000) throw new Error(`nats-server on port ${this.port} did not start`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** Stops it (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for the process to end. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = this.#proc
    if (!proc) return
    this.#proc = undefined
    proc.kill('SIGCONT')
    proc.kill(signal)
    await this.#exited
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered — a network stall. */
  pause(): void {
    this.#proc?.kill('SIGSTOP')
  }

  resume(): void {
    this.#proc?.kill('SIGCONT')
  }

  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal)
    await this.start()
  }

  /** Stops it and removes its store. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.dir, { recursive: true, force: true })
  }
}
