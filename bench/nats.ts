import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A nats-server with JetStream of the bench's own: a free port, a store directory in tmp. */
export async function startNats(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
  const dir = mkdtempSync(join(tmpdir(), 'rewind-bench-nats-'))
  const proc: ChildProcess = spawn(
    process.env.NATS_SERVER ?? '/usr/sbin/nats-server',
    ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir],
    { stdio: 'ignore' },
  )
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
  for (let i = 0; !(await accepts()); i++) {
    if (i > 3000 || proc.exitCode !== null) throw new Error('nats-server did not start')
    await new Promise((r) => setTimeout(r, 10))
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
