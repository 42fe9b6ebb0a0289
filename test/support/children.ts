import { type ChildProcess, spawn } from 'node:child_process'

/** A child process running a TypeScript script (through tsx), with its stdout lines as they come. */
export interface Child {
  readonly proc: ChildProcess
  readonly lines: string[]
  readonly exited: Promise<number | null>
}

/** Children still running: a failing test must not leave them behind to disturb the next one. */
const running = new Set<ChildProcess>()

/** Starts `script` with `env` added to this process's environment; its stderr is shown if it fails. */
export function startChild(script: string, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let buffer = ''
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    lines.push(...parts)
  })
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  running.add(proc)
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      running.delete(proc)
      if (code !== 0 && code !== null && stderr) console.error(stderr)
      resolve(code)
    }),
  )
  return { proc, lines, exited }
}

/** SIGKILLs every child still running (in afterEach). */
export function killChildren(): void {
  for (const proc of running) proc.kill('SIGKILL')
}
